package campaign

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"gopkg.in/yaml.v3"
)

// TriggerOrderDelivered is the one event a campaign can follow: an order
// became delivered (post-delivery tips).
const TriggerOrderDelivered = "order.delivered"

// Stage and value names a filter accepts (those of handlers/insight).
var (
	stages = []string{"potential", "new", "active", "at_risk", "churned"}
	values = []string{"high", "ordinary", "potential"}
)

// Definition is one campaign.
type Definition struct {
	Name     string
	File     string
	Filter   Filter
	Schedule Schedule
	// Reward is the code of a catalogue reward issued as a coupon with
	// the message; "" for none.
	Reward string
	text   map[string]*template.Template // "en", "zh"
}

// Filter selects the customers of a campaign; empty fields do not filter.
type Filter struct {
	Stages   []string `yaml:"stage"`
	Values   []string `yaml:"value"`
	Tiers    []string `yaml:"tier"`
	Language string   `yaml:"lang"`
	// Birthday: only customers whose birth month is the month of the send.
	Birthday bool `yaml:"birthday"`
	// TierAnniversary: only customers who reached their tier a whole
	// number of years (at least one) before the day of the send.
	TierAnniversary bool `yaml:"tier_anniversary"`
}

// Schedule is when a campaign goes out: exactly one of Dates (each once;
// for moving feasts such as 春节), Yearly ("MM-DD HH:MM"), Monthly ("DD
// HH:MM"), Daily ("HH:MM") or Trigger with Delay.
type Schedule struct {
	Dates   []string `yaml:"dates"`
	Yearly  string   `yaml:"yearly"`
	Monthly string   `yaml:"monthly"`
	Daily   string   `yaml:"daily"`
	Trigger string   `yaml:"trigger"`
	Delay   string   `yaml:"delay"`

	dates []clock // parsed Dates, sorted
	at    clock   // Yearly/Monthly/Daily parsed
	delay time.Duration
}

// clock is a wall-clock time in the shop's zone; zero fields are unused.
type clock struct {
	year, month, day, hour, min int
}

// Fields are what a message may use: {{.Name}}, {{.Tier}} (in the
// customer's language), {{.Points}} (balance), {{.Coupon}} (with a
// reward), {{.Shop}}, {{.Order}} (triggered campaigns).
type Fields struct {
	Name   string
	Tier   string
	Points int64
	Coupon string
	Shop   string
	Order  string
}

type fileYAML struct {
	Name     string            `yaml:"name"`
	Segment  Filter            `yaml:"segment"`
	Schedule Schedule          `yaml:"schedule"`
	Message  map[string]string `yaml:"message"`
	Reward   string            `yaml:"reward"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Parse reads one campaign; file names it in errors. Every problem is
// reported at once.
func Parse(file string, data []byte) (*Definition, error) {
	var f fileYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	d := &Definition{Name: f.Name, File: file, Filter: f.Segment, Schedule: f.Schedule, Reward: strings.TrimSpace(f.Reward),
		text: map[string]*template.Template{}}
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{file}, a...)...))
	}
	if !nameRE.MatchString(d.Name) {
		bad("name %q: use lower-case letters, digits, - and _ (at most 32)", d.Name)
	}
	for _, s := range d.Filter.Stages {
		if !slices.Contains(stages, s) {
			bad("segment stage %q: want one of %s", s, strings.Join(stages, ", "))
		}
	}
	for _, v := range d.Filter.Values {
		if !slices.Contains(values, v) {
			bad("segment value %q: want one of %s", v, strings.Join(values, ", "))
		}
	}
	if l := d.Filter.Language; l != "" && l != "en" && l != "zh" {
		bad("segment lang %q: want en or zh", l)
	}
	if err := d.Schedule.parse(); err != nil {
		bad("schedule: %v", err)
	}
	for _, lang := range []string{"en", "zh"} {
		src := strings.TrimSpace(f.Message[lang])
		if src == "" {
			bad("message.%s is missing: every campaign speaks English and Chinese", lang)
			continue
		}
		t, err := template.New(d.Name + "." + lang).Option("missingkey=error").Parse(src)
		if err != nil {
			bad("message.%s: %v", lang, err)
			continue
		}
		if err := onlyFields(t); err != nil {
			bad("message.%s: %v", lang, err)
			continue
		}
		if err := t.Execute(&bytes.Buffer{}, Fields{}); err != nil {
			bad("message.%s: %v", lang, err)
			continue
		}
		d.text[lang] = t
	}
	for k := range f.Message {
		if k != "en" && k != "zh" {
			bad("message.%s: only en and zh", k)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return d, nil
}

// LoadDir reads every *.yaml and *.yml file of dir, sorted by name; a
// missing dir is no campaigns. Names must be unique.
func LoadDir(dir string) ([]*Definition, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	var out []*Definition
	var errs []error
	seen := map[string]string{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || ext != ".yaml" && ext != ".yml" {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("campaigns: %w", err))
			continue
		}
		d, err := Parse(path, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, dup := seen[d.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: campaign %q is also defined in %s", path, d.Name, other))
			continue
		}
		seen[d.Name] = path
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

// Render fills the message in lang ("zh", else English) with f.
func (d *Definition) Render(lang string, f Fields) (string, error) {
	t := d.text["en"]
	if lang == "zh" {
		t = d.text["zh"]
	}
	var b bytes.Buffer
	if err := t.Execute(&b, f); err != nil {
		return "", fmt.Errorf("campaign %s: render %s: %w", d.Name, lang, err)
	}
	return b.String(), nil
}

// Triggered reports whether the campaign follows an event rather than
// the calendar.
func (d *Definition) Triggered() bool { return d.Schedule.Trigger != "" }

// Delay is how long after its trigger a triggered campaign sends.
func (d *Definition) Delay() time.Duration { return d.Schedule.delay }

func (s *Schedule) parse() error {
	n := 0
	for _, set := range []bool{len(s.Dates) > 0, s.Yearly != "", s.Monthly != "", s.Daily != "", s.Trigger != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("want exactly one of dates, yearly, monthly, daily or trigger")
	}
	if s.Delay != "" && s.Trigger == "" {
		return errors.New("delay goes with trigger")
	}
	var err error
	switch {
	case len(s.Dates) > 0:
		for _, v := range s.Dates {
			t, perr := time.Parse("2006-01-02 15:04", strings.TrimSpace(v))
			if perr != nil {
				return fmt.Errorf("date %q: want YYYY-MM-DD HH:MM", v)
			}
			s.dates = append(s.dates, clock{t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute()})
		}
		slices.SortFunc(s.dates, func(a, b clock) int { return cmpClock(a, b) })
	case s.Yearly != "":
		t, perr := time.Parse("01-02 15:04", strings.TrimSpace(s.Yearly))
		if perr != nil {
			return fmt.Errorf("yearly %q: want MM-DD HH:MM", s.Yearly)
		}
		s.at = clock{month: int(t.Month()), day: t.Day(), hour: t.Hour(), min: t.Minute()}
	case s.Monthly != "":
		day, hm, _ := strings.Cut(strings.TrimSpace(s.Monthly), " ")
		d, derr := strconv.Atoi(day)
		t, perr := time.Parse("15:04", hm)
		if derr != nil || perr != nil || d < 1 || d > 28 {
			return fmt.Errorf("monthly %q: want DD HH:MM with a day 1–28", s.Monthly)
		}
		s.at = clock{day: d, hour: t.Hour(), min: t.Minute()}
	case s.Daily != "":
		t, perr := time.Parse("15:04", strings.TrimSpace(s.Daily))
		if perr != nil {
			return fmt.Errorf("daily %q: want HH:MM", s.Daily)
		}
		s.at = clock{hour: t.Hour(), min: t.Minute()}
	default:
		if s.Trigger != TriggerOrderDelivered {
			return fmt.Errorf("trigger %q: want %s", s.Trigger, TriggerOrderDelivered)
		}
		if s.Delay != "" {
			if s.delay, err = ParseDuration(s.Delay); err != nil || s.delay < 0 {
				return fmt.Errorf("delay %q: want a duration such as 3d or 12h", s.Delay)
			}
		}
	}
	return nil
}

func cmpClock(a, b clock) int {
	for _, p := range [][2]int{{a.year, b.year}, {a.month, b.month}, {a.day, b.day}, {a.hour, b.hour}, {a.min, b.min}} {
		if p[0] != p[1] {
			return p[0] - p[1]
		}
	}
	return 0
}

func (c clock) time(loc *time.Location) time.Time {
	return time.Date(c.year, time.Month(c.month), c.day, c.hour, c.min, 0, 0, loc)
}

// Occurrence names the occurrence of a calendar campaign that t falls in:
// the year of a yearly campaign, the month of a monthly one, the day of a
// daily one, and for dates the latest date on or before t (else the
// first). Sends are keyed by it, so a manual run and the scheduled one of
// the same period send once. "" for a triggered campaign.
func (d *Definition) Occurrence(t time.Time, loc *time.Location) string {
	s := &d.Schedule
	t = t.In(loc)
	switch {
	case len(s.dates) > 0:
		occ := s.dates[0]
		for _, c := range s.dates {
			if !c.time(loc).After(t) {
				occ = c
			}
		}
		return occ.time(loc).Format("2006-01-02")
	case s.Yearly != "":
		return t.Format("2006")
	case s.Monthly != "":
		return t.Format("2006-01")
	case s.Daily != "":
		return t.Format("2006-01-02")
	}
	return ""
}

// Next returns the first occurrence strictly after t and its name; ok is
// false for a triggered campaign or when every date has passed.
func (d *Definition) Next(t time.Time, loc *time.Location) (at time.Time, occ string, ok bool) {
	s := &d.Schedule
	l := t.In(loc)
	switch {
	case len(s.dates) > 0:
		for _, c := range s.dates {
			if at := c.time(loc); at.After(t) {
				return at, at.Format("2006-01-02"), true
			}
		}
		return time.Time{}, "", false
	case s.Yearly != "":
		for y := l.Year(); ; y++ {
			at = time.Date(y, time.Month(s.at.month), s.at.day, s.at.hour, s.at.min, 0, 0, loc)
			if at.After(t) {
				return at, at.Format("2006"), true
			}
		}
	case s.Monthly != "":
		for m := 0; ; m++ {
			at = time.Date(l.Year(), l.Month()+time.Month(m), s.at.day, s.at.hour, s.at.min, 0, 0, loc)
			if at.After(t) {
				return at, at.Format("2006-01"), true
			}
		}
	case s.Daily != "":
		for dd := 0; ; dd++ {
			at = time.Date(l.Year(), l.Month(), l.Day()+dd, s.at.hour, s.at.min, 0, 0, loc)
			if at.After(t) {
				return at, at.Format("2006-01-02"), true
			}
		}
	}
	return time.Time{}, "", false
}

// Describe is the schedule in a few words, for listings.
func (d *Definition) Describe() string {
	s := &d.Schedule
	switch {
	case len(s.Dates) > 0:
		return "dates " + strings.Join(s.Dates, ", ")
	case s.Yearly != "":
		return "yearly " + s.Yearly
	case s.Monthly != "":
		return "monthly " + s.Monthly
	case s.Daily != "":
		return "daily " + s.Daily
	}
	if s.Delay != "" {
		return s.Trigger + " + " + s.Delay
	}
	return s.Trigger
}

// ParseDuration reads "3d", "2w" or anything time.ParseDuration takes.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil {
				return 0, fmt.Errorf("duration %q: %w", s, err)
			}
			return time.Duration(v) * unit, nil
		}
	}
	return time.ParseDuration(s)
}

// onlyFields keeps messages to text and {{.Field}}: no loops, conditions,
// functions or nested templates, so rendering is cheap and cannot fail
// once the fields are known.
func onlyFields(t *template.Template) error {
	if len(t.Templates()) > 1 {
		return errors.New("only text and fields such as {{.Name}}: no define or block")
	}
	for _, n := range t.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
		case *parse.ActionNode:
			p := n.Pipe
			if len(p.Decl) == 0 && len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 {
				if f, ok := p.Cmds[0].Args[0].(*parse.FieldNode); ok && len(f.Ident) == 1 {
					continue
				}
			}
			return fmt.Errorf("%s: only fields such as {{.Name}} are allowed", n)
		default:
			return fmt.Errorf("%s: only text and fields such as {{.Name}} are allowed", n)
		}
	}
	return nil
}
