package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const leak = "hunter2-SUPER-secret"

func TestSecretFormatting(t *testing.T) {
	s := Secret(leak)
	if s.Reveal() != leak {
		t.Fatalf("Reveal() = %q", s.Reveal())
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-20v", "%T"} {
		t.Run(verb, func(t *testing.T) {
			out := fmt.Sprintf(verb, s)
			if strings.Contains(out, leak) || strings.Contains(out, fmt.Sprintf("%x", leak)) || strings.Contains(out, fmt.Sprintf("%X", leak)) {
				t.Fatalf("Sprintf(%s) leaked: %s", verb, out)
			}
		})
	}
	cases := []struct {
		name string
		s    Secret
		want string
	}{
		{"set", s, redacted},
		{"empty", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			if got := tc.s.GoString(); got != tc.want {
				t.Errorf("GoString() = %q, want %q", got, tc.want)
			}
			if got := tc.s.LogValue().String(); got != tc.want {
				t.Errorf("LogValue() = %q, want %q", got, tc.want)
			}
			if got := fmt.Sprint(tc.s); got != tc.want {
				t.Errorf("Sprint = %q, want %q", got, tc.want)
			}
			j, err := json.Marshal(tc.s)
			if err != nil || string(j) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("json = %s, %v", j, err)
			}
			y, err := yaml.Marshal(tc.s)
			if err != nil || strings.Contains(string(y), leak) {
				t.Errorf("yaml = %s, %v", y, err)
			}
		})
	}
}

// secretConfig has every Secret field set to a distinct, recognisable value.
func secretConfig() (Config, []string) {
	c := Default()
	c.Database.DSN = "postgres://kefu:pg-PASSWORD-1@db/kefu"
	c.HTTP.AdminToken = "admin-TOKEN-0123456789"
	c.Telegram.Token = "123456:tg-TOKEN-abcdef"
	c.Telegram.WebhookSecret = "wh-SECRET-xyz"
	c.Discord.Token = "dc-TOKEN-qwerty"
	return c, []string{"pg-PASSWORD-1", "admin-TOKEN", "tg-TOKEN", "wh-SECRET", "dc-TOKEN"}
}

func assertNoLeak(t *testing.T, what, out string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("%s leaked %q:\n%s", what, s, out)
		}
	}
}

func TestConfigDoesNotLeakSecrets(t *testing.T) {
	cfg, secrets := secretConfig()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assertNoLeak(t, "Sprintf "+verb, fmt.Sprintf(verb, cfg), secrets)
		assertNoLeak(t, "Sprintf pointer "+verb, fmt.Sprintf(verb, &cfg), secrets)
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	assertNoLeak(t, "json", string(j), secrets)
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	assertNoLeak(t, "yaml", string(y), secrets)

	handlers := []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	}
	for _, h := range handlers {
		t.Run("slog "+h.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(h.new(&buf))
			log.Info("config", "cfg", cfg, "dsn", cfg.Database.DSN, "tg", cfg.Telegram, slog.Any("token", cfg.Discord.Token))
			out := buf.String()
			assertNoLeak(t, "slog", out, secrets)
			if !strings.Contains(out, redacted) {
				t.Errorf("slog output has no %q marker:\n%s", redacted, out)
			}
		})
	}
}

func TestExposedSecrets(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		mode os.FileMode
		body string
		want []string
	}{
		{"private file with a token", 0o600, "telegram:\n  token: \"123:abc\"\n", nil},
		{"world-readable with a token and a DSN", 0o644, "database:\n  dsn: \"postgres://u:pw@h/db\"\ntelegram:\n  token: \"123:abc\"\n",
			[]string{"database.dsn", "telegram.token"}},
		{"world-readable without secrets", 0o644, "shop:\n  name: Demo\n", nil},
		{"group-readable only", 0o640, "telegram:\n  token: \"123:abc\"\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte(tc.body), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil { // umask may have trimmed it
				t.Fatal(err)
			}
			got, err := ExposedSecrets(path)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ExposedSecrets = %v; want %v", got, tc.want)
			}
		})
	}
	if _, err := ExposedSecrets(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing file gave no error")
	}
}
