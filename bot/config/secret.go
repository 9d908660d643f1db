package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"

	"gopkg.in/yaml.v3"
)

const redacted = "[redacted]"

// Secret holds a token, password or DSN. Every formatting and encoding path
// we know of prints "[redacted]" (or "" when empty, so an unset secret is
// visibly unset) so that logging or dumping a Config can never leak it.
// Reveal returns the real value.
type Secret string

// Reveal returns the secret value. Use it only at the point of use.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return s.String() }

// Format implements fmt.Formatter. Without it, verbs such as %x or %d would
// bypass String and print the raw bytes.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML implements yaml.Marshaler. A marshalled config therefore does
// not round-trip its secrets; that is the point.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText implements encoding.TextMarshaler, covering text-based
// encoders (XML, TOML, slog.TextHandler map keys, ...).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ExposedSecrets returns the keys of the secrets set in the file at path
// when other users may read it (mode o+r): a token in a world-readable
// file is as good as published on a shared machine. Nothing when the file
// is private or holds no secret; values are never returned.
func ExposedSecrets(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if fi.Mode().Perm()&0o004 == 0 {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var c Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, nil // Load reports the file's problems
	}
	var keys []string
	eachLeaf(reflect.ValueOf(&c).Elem(), "", func(key string, v reflect.Value) {
		if s, ok := v.Interface().(Secret); ok && s != "" {
			keys = append(keys, key)
		}
	})
	return keys, nil
}
