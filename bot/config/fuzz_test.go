package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary files and environment values to Load: it must
// never panic, and must either return a valid configuration or an error
// that names what is wrong — never a secret.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(example), "", "")
	for _, s := range []string{"", "shop: {name: x}", "database:\n  driver: mysql", "http: [1, 2]", "engine:\n  batch_size: -1",
		"telegram:\n  token: 123:SECRET-in-file\n  staff_chat_id: x", "\xff\xfe", "a: &a [*a]", "support:\n  business_hours: mon-xyz"} {
		f.Add(s, "KEFU_ENGINE_BATCH_SIZE", "abc")
		f.Add(s, "KEFU_TELEGRAM_TOKEN", "456:SECRET-in-env")
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, file, key, value string) {
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, func(k string) string {
			if k == key {
				return value
			}
			return ""
		})
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) && !strings.HasPrefix(err.Error(), "config:") {
				t.Fatalf("Load: an error that does not say it is about the configuration: %v", err)
			}
			if strings.Contains(err.Error(), "SECRET-in") {
				t.Fatalf("Load error shows a secret: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Load returned a configuration that does not validate: %v", err)
		}
	})
}
