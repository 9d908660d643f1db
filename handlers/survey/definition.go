package survey

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Question types.
const (
	Single = "single" // one option, one button each
	Multi  = "multi"  // any options, toggled, then Done
	Rating = "rating" // 1..Scale
	Text   = "text"   // free text
)

// End is the "next" that finishes the questionnaire.
const End = "end"

// MaxOptions bounds a question's options: each is a button, and
// platforms show a keyboard of a few dozen at most.
const MaxOptions = 10

// Texts is one text in each language, keyed "en" and "zh".
type Texts map[string]string

// In returns the text in lang, else English, else any.
func (t Texts) In(lang string) string {
	if s := t[lang]; s != "" {
		return s
	}
	if s := t["en"]; s != "" {
		return s
	}
	for _, s := range t {
		return s
	}
	return ""
}

// Definition is one questionnaire, read from NAME.yaml.
type Definition struct {
	// Name is the file name without .yaml: how campaigns and triggers name it.
	Name   string `yaml:"-"`
	File   string `yaml:"-"`
	Title  Texts  `yaml:"title"`
	Intro  Texts  `yaml:"intro"`
	Thanks Texts  `yaml:"thanks"`
	// Trigger sends the questionnaire by itself: "order.delivered" or
	// "ticket.resolved", Delay after the event. "" means campaigns only.
	Trigger   string     `yaml:"trigger"`
	Delay     Duration   `yaml:"delay"`
	Questions []Question `yaml:"questions"`
}

// Question is one step of a questionnaire.
type Question struct {
	ID       string   `yaml:"id"`
	Type     string   `yaml:"type"`
	Text     Texts    `yaml:"text"`
	Options  []Option `yaml:"options"`  // single, multi
	Scale    int      `yaml:"scale"`    // rating: 1..Scale, 2–10
	Optional bool     `yaml:"optional"` // text and multi may be skipped
	// Next is where to go after this question ("" the following one,
	// End to finish); options and Branches override it.
	Next     string   `yaml:"next"`
	Branches []Branch `yaml:"branches"` // rating only
	Line     int      `yaml:"-"`
}

// Option is one choice of a single or multi question.
type Option struct {
	ID   string `yaml:"id"`
	Text Texts  `yaml:"text"`
	Next string `yaml:"next"` // single only
	Line int    `yaml:"-"`
}

// Branch sends ratings within [Min, Max] to Next.
type Branch struct {
	Min  int    `yaml:"min"`
	Max  int    `yaml:"max"`
	Next string `yaml:"next"`
	Line int    `yaml:"-"`
}

// UnmarshalYAML keeps the line, for errors that point at the question.
func (q *Question) UnmarshalYAML(n *yaml.Node) error {
	type plain Question
	if err := knownKeys(n, plain{}); err != nil {
		return err
	}
	if err := n.Decode((*plain)(q)); err != nil {
		return err
	}
	q.Line = n.Line
	return nil
}

// UnmarshalYAML keeps the line.
func (o *Option) UnmarshalYAML(n *yaml.Node) error {
	type plain Option
	if err := knownKeys(n, plain{}); err != nil {
		return err
	}
	if err := n.Decode((*plain)(o)); err != nil {
		return err
	}
	o.Line = n.Line
	return nil
}

// UnmarshalYAML keeps the line.
func (b *Branch) UnmarshalYAML(n *yaml.Node) error {
	type plain Branch
	if err := knownKeys(n, plain{}); err != nil {
		return err
	}
	if err := n.Decode((*plain)(b)); err != nil {
		return err
	}
	b.Line = n.Line
	return nil
}

// knownKeys refuses keys of mapping n that v (a struct) has no field for:
// Decoder.KnownFields does not reach into custom unmarshalers, and a
// misspelt "nxet" would otherwise silently change the branching.
func knownKeys(n *yaml.Node, v any) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	t := reflect.TypeOf(v)
	known := map[string]bool{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			known[name] = true
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !known[k.Value] {
			return fmt.Errorf("line %d: field %s not allowed here", k.Line, k.Value)
		}
	}
	return nil
}

// Error is a mistake in a definition file, at a line (0: the file).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Errors are every mistake found in one file.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	idRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,15}$`)
)

// Reserved names belong to the built-in surveys.
var reserved = []string{"csat", "nps"}

// Triggers a definition may name.
var triggers = []string{"", "order.delivered", "ticket.resolved"}

// MaxFileSize bounds a definition file.
const MaxFileSize = 64 << 10

// Parse reads one definition. file names it in errors and gives its name
// (the base name without .yaml). Every problem found is returned, as
// Errors.
func Parse(file string, data []byte) (*Definition, error) {
	name := strings.TrimSuffix(path.Base(file), path.Ext(file))
	if len(data) > MaxFileSize {
		return nil, Errors{{File: file, Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize)}}
	}
	d := &Definition{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(d); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: file, Msg: "empty file"}}
		}
		return nil, Errors{{File: file, Line: yamlLine(err), Msg: yamlMsg(err)}}
	}
	d.Name, d.File = name, file
	if errs := d.validate(); len(errs) > 0 {
		return nil, errs
	}
	return d, nil
}

var lineRE = regexp.MustCompile(`line (\d+)`)

func yamlLine(err error) int {
	var n int
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		fmt.Sscan(m[1], &n)
	}
	return n
}

var linePrefix = regexp.MustCompile(`^(yaml: )?line \d+: `)

func yamlMsg(err error) string {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	return linePrefix.ReplaceAllString(msg, "")
}

func (d *Definition) validate() Errors {
	var errs Errors
	add := func(line int, format string, args ...any) {
		errs = append(errs, &Error{File: d.File, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	if !nameRE.MatchString(d.Name) {
		add(0, "file name %q: use lower-case letters, digits, - and _ (at most 32)", d.Name)
	}
	if slices.Contains(reserved, d.Name) {
		add(0, "name %q is the built-in survey's", d.Name)
	}
	if !slices.Contains(triggers, d.Trigger) {
		add(0, "trigger %q: want one of order.delivered, ticket.resolved or none", d.Trigger)
	}
	if d.Delay < 0 {
		add(0, "delay must not be negative")
	}
	checkTexts := func(line int, what string, t Texts, required bool) {
		if required && (t["en"] == "" || t["zh"] == "") {
			add(line, "%s needs both en and zh", what)
		}
		for k := range t {
			if k != "en" && k != "zh" {
				add(line, "%s: language %q (want en, zh)", what, k)
			}
		}
	}
	checkTexts(0, "title", d.Title, true)
	checkTexts(0, "intro", d.Intro, false)
	checkTexts(0, "thanks", d.Thanks, false)
	if len(d.Questions) == 0 {
		add(0, "no questions")
	}
	ids := map[string]int{}
	for i, q := range d.Questions {
		if !idRE.MatchString(q.ID) {
			add(q.Line, "question id %q: use lower-case letters, digits and _ (at most 16)", q.ID)
		} else if _, dup := ids[q.ID]; dup || q.ID == End {
			add(q.Line, "question id %q is used twice or reserved", q.ID)
		}
		ids[q.ID] = i
	}
	// next must point forward: a questionnaire always ends.
	target := func(line, from int, next, what string) {
		if next == "" || next == End {
			return
		}
		j, ok := ids[next]
		switch {
		case !ok:
			add(line, "%s: next %q is not a question", what, next)
		case j <= from:
			add(line, "%s: next %q goes back; branches may only skip forward", what, next)
		}
	}
	for i, q := range d.Questions {
		what := fmt.Sprintf("question %q", q.ID)
		checkTexts(q.Line, what+" text", q.Text, true)
		target(q.Line, i, q.Next, what)
		switch q.Type {
		case Single, Multi:
			if len(q.Options) < 2 || len(q.Options) > MaxOptions {
				add(q.Line, "%s: %s needs 2 to %d options, has %d", what, q.Type, MaxOptions, len(q.Options))
			}
			seen := map[string]bool{}
			for _, o := range q.Options {
				if !idRE.MatchString(o.ID) || seen[o.ID] {
					add(o.Line, "%s: option id %q missing, malformed or used twice", what, o.ID)
				}
				seen[o.ID] = true
				checkTexts(o.Line, fmt.Sprintf("%s option %q", what, o.ID), o.Text, true)
				if o.Next != "" && q.Type == Multi {
					add(o.Line, "%s: options of a multi question cannot branch; use the question's next", what)
				}
				target(o.Line, i, o.Next, fmt.Sprintf("%s option %q", what, o.ID))
			}
		case Rating:
			if q.Scale < 2 || q.Scale > 10 {
				add(q.Line, "%s: rating scale %d, want 2 to 10", what, q.Scale)
			}
			if len(q.Options) > 0 {
				add(q.Line, "%s: a rating has no options", what)
			}
			for _, b := range q.Branches {
				if b.Min < 1 || b.Max > q.Scale || b.Min > b.Max {
					add(b.Line, "%s: branch %d-%d is outside 1-%d", what, b.Min, b.Max, q.Scale)
				}
				target(b.Line, i, b.Next, what+" branch")
				if b.Next == "" {
					add(b.Line, "%s: branch without next", what)
				}
			}
		case Text:
			if len(q.Options) > 0 {
				add(q.Line, "%s: a text question has no options", what)
			}
		default:
			add(q.Line, "%s: type %q, want single, multi, rating or text", what, q.Type)
		}
		if q.Type != Rating && len(q.Branches) > 0 {
			add(q.Line, "%s: only ratings have branches; single options have next", what)
		}
		if q.Optional && q.Type != Text && q.Type != Multi {
			add(q.Line, "%s: only text and multi questions can be optional", what)
		}
	}
	return errs
}

// Index returns the position of the question with id, or -1.
func (d *Definition) Index(id string) int {
	for i, q := range d.Questions {
		if q.ID == id {
			return i
		}
	}
	return -1
}

// Next returns the index of the question after question i answered with
// answer (option ids, a rating as its number, or text), or -1 at the end.
func (d *Definition) Next(i int, answer []string) int {
	if i < 0 || i >= len(d.Questions) {
		return -1
	}
	q := d.Questions[i]
	next := q.Next
	switch q.Type {
	case Single:
		for _, o := range q.Options {
			if len(answer) == 1 && answer[0] == o.ID && o.Next != "" {
				next = o.Next
			}
		}
	case Rating:
		var v int
		if len(answer) == 1 {
			fmt.Sscan(answer[0], &v)
		}
		for _, b := range q.Branches {
			if v >= b.Min && v <= b.Max {
				next = b.Next
				break
			}
		}
	}
	switch next {
	case "":
		if i+1 < len(d.Questions) {
			return i + 1
		}
		return -1
	case End:
		return -1
	}
	return d.Index(next)
}

// LoadDir reads every *.yaml in dir of fsys, sorted by name. The errors
// of all files are returned together.
func LoadDir(fsys fs.FS, dir string) ([]*Definition, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []*Definition
	var errs Errors
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			errs = append(errs, &Error{File: n, Msg: err.Error()})
			continue
		}
		d, err := Parse(n, data)
		var es Errors
		switch {
		case errors.As(err, &es):
			errs = append(errs, es...)
		case err != nil:
			errs = append(errs, &Error{File: n, Msg: err.Error()})
		default:
			out = append(out, d)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}
