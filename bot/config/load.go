package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load builds a Config from Default, then the YAML file at path (skipped when
// path is ""), then environment overrides read through getenv (nil means no
// environment), and finally validates it.
//
// A file that cannot be read (including a missing one) yields a plain error
// wrapping the os error. Everything else wrong with the input, from YAML
// syntax to unknown keys, unparsable environment values and failed
// validation, is collected into a single *Error so the operator can fix all
// of it in one go.
//
// Environment: KEFU_<SECTION>_<KEY> (see EnvName) for every leaf key. Because
// getenv cannot tell "unset" from "set to empty", an empty value means "not
// set" and leaves the file/default value alone. To empty a list, set it to a
// lone comma (KEFU_CONSOLE_STAFF_IDS=","), since empty entries are dropped.
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default()
	var ps problems
	// origin records where each key's value came from, so validation
	// problems can point at the file line or environment variable to fix.
	origin := map[string]string{}

	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		decodeYAML(data, path, &cfg, origin, &ps)
	}
	if getenv != nil {
		applyEnv(&cfg, getenv, origin, &ps)
	}
	normalize(&cfg)

	// Validate even when parsing failed so every problem is reported at
	// once, but skip keys that already failed to parse: their value is
	// stale and the message would only confuse.
	failed := map[string]bool{}
	for _, p := range ps {
		failed[p.Key] = true
	}
	if err := cfg.Validate(); err != nil {
		for _, p := range err.(*Error).Problems {
			if failed[p.Key] {
				continue
			}
			if o, ok := origin[p.Key]; ok {
				p.Message += " (" + o + ")"
			}
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return Config{}, &Error{Problems: ps}
	}
	return cfg, nil
}

// decodeYAML decodes data into cfg. A first pass walks the node tree itself
// so that it can report every unknown key, duplicate and ill-typed value with
// its dotted key and line, and still load the good values so validation can
// report the rest. If that pass is clean, the authoritative decode is
// yaml.v3's own, with KnownFields as a second line of defence.
func decodeYAML(data []byte, path string, cfg *Config, origin map[string]string, ps *problems) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return // empty file: defaults only
		}
		ps.add("", "%s: %s", path, scrubYAMLError(err))
		return
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		ps.add("", "%s: only one YAML document is allowed", path)
		return
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if isNull(root) {
		return // comments only
	}
	root = resolveAlias(root)
	if root.Kind != yaml.MappingNode {
		ps.add("", "%s: line %d: the document must be a mapping of sections (shop:, database:, ...)", path, root.Line)
		return
	}

	before := len(*ps)
	fileLoader{path: path, origin: origin, ps: ps}.mapping(root, reflect.ValueOf(cfg).Elem(), "")
	if len(*ps) > before {
		return
	}
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(cfg); err != nil {
		ps.add("", "%s: %s", path, scrubYAMLError(err))
	}
}

// fileLoader carries the per-file state of the first decoding pass.
type fileLoader struct {
	path   string
	origin map[string]string
	ps     *problems
}

// mapping loads mapping node n into struct v, whose dotted key is prefix.
func (l fileLoader) mapping(n *yaml.Node, v reflect.Value, prefix string) {
	t := v.Type()
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], resolveAlias(n.Content[i+1])
		if k.ShortTag() == "!!merge" {
			continue // merged keys are checked by the strict decoder
		}
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			l.ps.add(key, "line %d: duplicate key (first set at line %d)", k.Line, first)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fieldByYAML(t, k.Value)
		if !ok {
			what := "key"
			if prefix == "" {
				what = "section"
			}
			l.ps.add(key, "line %d: unknown %s%s", k.Line, what, suggest(t, k.Value))
			continue
		}
		field := v.Field(idx)
		switch {
		case isSection(field.Type()) && isNull(val):
			// An empty section keeps its defaults.
		case isSection(field.Type()) && val.Kind != yaml.MappingNode:
			l.ps.add(key, "line %d: must be a mapping of keys", val.Line)
		case isSection(field.Type()):
			l.mapping(val, field, key)
		default:
			l.origin[key] = fmt.Sprintf("set in %s line %d", l.path, k.Line)
			l.leaf(val, field, key)
		}
	}
}

// leaf decodes one value into field, or records why it does not fit. It
// never echoes the value of a Secret.
func (l fileLoader) leaf(n *yaml.Node, field reflect.Value, key string) {
	t := field.Type()
	if isNull(n) {
		// Mirror yaml.v3: null empties a list and leaves scalars alone.
		if t.Kind() == reflect.Slice {
			field.Set(reflect.Zero(t))
		}
		return
	}
	bad := func() {
		got := ""
		if t != reflect.TypeFor[Secret]() && n.Kind == yaml.ScalarNode {
			got = fmt.Sprintf(", got %q", n.Value)
		}
		l.ps.add(key, "line %d: want %s%s", n.Line, describe(t), got)
	}
	// yaml.v3 silently truncates 1.5 into an int field; refuse instead.
	if k := t.Kind(); (k == reflect.Int || k == reflect.Int64) && t != reflect.TypeFor[time.Duration]() &&
		n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
		bad()
		return
	}
	scratch := reflect.New(t)
	if err := n.Decode(scratch.Interface()); err != nil {
		bad()
		return
	}
	field.Set(scratch.Elem())
}

// suggest returns ` (did you mean "x"?)` for the closest key of struct t
// when name looks like a typo of it.
func suggest(t reflect.Type, name string) string {
	best, bestDist := "", 3 // more than two edits is not a typo
	for i := range t.NumField() {
		cand := yamlName(t.Field(i))
		if cand == "" {
			continue
		}
		if d := editDistance(name, cand); d < bestDist {
			best, bestDist = cand, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// applyEnv overrides every leaf for which getenv returns a non-empty value.
func applyEnv(cfg *Config, getenv func(string) string, origin map[string]string, ps *problems) {
	eachLeaf(reflect.ValueOf(cfg).Elem(), "", func(key string, f reflect.Value) {
		name := EnvName(key)
		raw := getenv(name)
		if raw == "" {
			return
		}
		if err := setFromString(f, raw); err != nil {
			if f.Type() == reflect.TypeFor[Secret]() {
				ps.add(key, "%s: invalid value", name)
				return
			}
			ps.add(key, "%s: want %s, got %q", name, describe(f.Type()), raw)
			return
		}
		origin[key] = "set by " + name
	})
}

// setFromString parses an environment value into f according to its type.
func setFromString(f reflect.Value, raw string) error {
	t := f.Type()
	trimmed := strings.TrimSpace(raw)
	switch {
	case t == reflect.TypeFor[time.Duration]():
		d, err := time.ParseDuration(trimmed)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case t.Kind() == reflect.String:
		f.SetString(raw) // verbatim: spaces may be meaningful in names
	case t.Kind() == reflect.Bool:
		b, err := parseBool(trimmed)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(trimmed, 10, t.Bits())
		if err != nil {
			return err
		}
		f.SetInt(n)
	case t.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(trimmed, 64)
		if err != nil {
			return err
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return errors.New("not a finite number")
		}
		f.SetFloat(x)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		f.Set(reflect.ValueOf(splitList(raw)).Convert(t))
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Int64:
		var out []int64
		for _, s := range splitList(raw) {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		f.Set(reflect.ValueOf(out).Convert(t))
	default:
		return fmt.Errorf("unsupported type %s", t)
	}
	return nil
}

// splitList splits a comma-separated list, trimming spaces and dropping
// empty entries so "a, b,," is [a b].
func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, errors.New("not a boolean")
}

// describe names the expected form of a value of type t for messages.
func describe(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return `a duration such as "5s" or "1m30s"`
	case t.Kind() == reflect.String: // including Secret
		return "a string"
	case t.Kind() == reflect.Bool:
		return "a boolean (true/false/1/0/yes/no)"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "an integer"
	case t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "a list of strings (comma-separated in the environment)"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Int64:
		return "a list of integers (comma-separated in the environment)"
	}
	return t.String()
}

// normalize makes empty lists nil, so a config that says "[]", "null" or
// "," compares equal to one that says nothing.
func normalize(cfg *Config) {
	eachLeaf(reflect.ValueOf(cfg).Elem(), "", func(_ string, f reflect.Value) {
		if f.Kind() == reflect.Slice && f.Len() == 0 && !f.IsNil() {
			f.Set(reflect.Zero(f.Type()))
		}
	})
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// scrubYAMLError strips quoted values from a yaml.v3 error so a secret can
// never reach the message, and drops the redundant "yaml: " prefix.
func scrubYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := slices.Clone(te.Errors)
		for i, m := range msgs {
			msgs[i] = hideQuoted(m)
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// hideQuoted replaces every `backquoted` run, which is how yaml.v3 quotes
// values in type errors.
func hideQuoted(s string) string {
	var b strings.Builder
	for {
		start := strings.IndexByte(s, '`')
		if start < 0 {
			break
		}
		end := strings.IndexByte(s[start+1:], '`')
		if end < 0 {
			break
		}
		b.WriteString(s[:start])
		b.WriteString("(value not shown)")
		s = s[start+1+end+1:]
	}
	b.WriteString(s)
	return b.String()
}
