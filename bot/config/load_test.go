package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeYAML writes content to a temp file and returns its path.
func writeYAML(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// problemsOf asserts err is an *Error and returns its problems.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *Error, got %T: %v", err, err)
	}
	return ce.Problems
}

// findProblem returns the first problem with key whose message contains all
// of want.
func findProblem(ps []Problem, key string, want ...string) bool {
	for _, p := range ps {
		if p.Key != key {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(p.Message, w)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestLoadNoFile(t *testing.T) {
	for _, getenv := range []func(string) string{nil, emptyEnv} {
		cfg, err := Load("", getenv)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(cfg, Default()) {
			t.Fatalf("Load(\"\") = %+v, want Default()", cfg)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), emptyEnv)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("want fs.ErrNotExist, got %v", err)
	}
	if !strings.HasPrefix(err.Error(), "config: ") {
		t.Errorf("error %q lacks config: prefix", err)
	}
}

func TestLoadEnvOverrides(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		check func(Config) bool
	}{
		{"string", map[string]string{"KEFU_SHOP_NAME": "小王的店"}, func(c Config) bool { return c.Shop.Name == "小王的店" }},
		{"string keeps spaces", map[string]string{"KEFU_SHOP_NAME": " Spaced "}, func(c Config) bool { return c.Shop.Name == " Spaced " }},
		{"secret", map[string]string{"KEFU_DATABASE_DRIVER": "postgres", "KEFU_DATABASE_DSN": "postgres://u:p@db/kefu"},
			func(c Config) bool {
				return c.Database.Driver == "postgres" && c.Database.DSN.Reveal() == "postgres://u:p@db/kefu"
			}},
		{"bool false", map[string]string{"KEFU_DEMO_SEED": "false"}, func(c Config) bool { return !c.Demo.Seed }},
		{"bool 0", map[string]string{"KEFU_DEMO_SEED": "0"}, func(c Config) bool { return !c.Demo.Seed }},
		{"bool no", map[string]string{"KEFU_DEMO_SEED": "No"}, func(c Config) bool { return !c.Demo.Seed }},
		{"bool true", map[string]string{"KEFU_TELEGRAM_STAFF_ADMINS": "true"}, func(c Config) bool { return c.Telegram.StaffAdmins }},
		{"bool 1", map[string]string{"KEFU_TELEGRAM_STAFF_ADMINS": "1"}, func(c Config) bool { return c.Telegram.StaffAdmins }},
		{"bool YES", map[string]string{"KEFU_TELEGRAM_STAFF_ADMINS": "YES"}, func(c Config) bool { return c.Telegram.StaffAdmins }},
		{"int", map[string]string{"KEFU_ENGINE_BATCH_SIZE": " 128 "}, func(c Config) bool { return c.Engine.BatchSize == 128 }},
		{"int zero", map[string]string{"KEFU_ENGINE_FLOOD_PER_MINUTE": "0"}, func(c Config) bool { return c.Engine.FloodPerMinute == 0 }},
		{"int64", map[string]string{"KEFU_TELEGRAM_STAFF_CHAT_ID": "-1001234567890"}, func(c Config) bool { return c.Telegram.StaffChatID == -1001234567890 }},
		{"float64", map[string]string{"KEFU_DISPATCHER_PER_CHAT_RATE": "0.5"}, func(c Config) bool { return c.Dispatcher.PerChatRate == 0.5 }},
		{"duration", map[string]string{"KEFU_DATABASE_BUSY_TIMEOUT": "250ms"}, func(c Config) bool { return c.Database.BusyTimeout == 250*time.Millisecond }},
		{"string list", map[string]string{"KEFU_CONSOLE_STAFF_IDS": " alice, bob,,carol "},
			func(c Config) bool { return slices.Equal(c.Console.StaffIDs, []string{"alice", "bob", "carol"}) }},
		{"string list cleared by comma", map[string]string{"KEFU_CONSOLE_STAFF_IDS": ","}, func(c Config) bool { return c.Console.StaffIDs == nil }},
		{"trusted proxies", map[string]string{"KEFU_HTTP_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7"},
			func(c Config) bool { return slices.Equal(c.HTTP.TrustedProxies, []string{"10.0.0.0/8", "192.0.2.7"}) }},
		{"int64 list", map[string]string{"KEFU_TELEGRAM_STAFF_USER_IDS": "11, 22,,33"},
			func(c Config) bool { return slices.Equal(c.Telegram.StaffUserIDs, []int64{11, 22, 33}) }},
		{"empty value is unset", map[string]string{"KEFU_SHOP_NAME": "", "KEFU_DATABASE_DSN": ""},
			func(c Config) bool { return c.Shop.Name == "Demo Shop" && c.Database.DSN == "kefu.db" }},
		{"url", map[string]string{"KEFU_DISCORD_API_BASE": "http://127.0.0.1:9999"}, func(c Config) bool { return c.Discord.APIBase == "http://127.0.0.1:9999" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load("", envMap(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Fatalf("override not applied: %+v", cfg)
			}
		})
	}
}

func TestLoadReadsEveryEnvVar(t *testing.T) {
	var asked []string
	_, err := Load("", func(k string) string { asked = append(asked, k); return "" })
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, k := range Keys() {
		want = append(want, EnvName(k))
	}
	if !slices.Equal(asked, want) {
		t.Fatalf("getenv called with\n%v\nwant\n%v", asked, want)
	}
}

func TestLoadEnvBeatsFile(t *testing.T) {
	path := writeYAML(t, `
shop:
  name: File Shop
  default_language: zh
engine:
  batch_size: 10
`)
	cfg, err := Load(path, envMap(map[string]string{"KEFU_SHOP_NAME": "Env Shop"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Shop.Name != "Env Shop" {
		t.Errorf("shop.name = %q, env should win", cfg.Shop.Name)
	}
	if cfg.Shop.DefaultLanguage != "zh" || cfg.Engine.BatchSize != 10 {
		t.Errorf("file values lost: %+v", cfg)
	}
	if cfg.Shop.Timezone != "Asia/Shanghai" {
		t.Errorf("default lost: %+v", cfg.Shop)
	}
}

func TestLoadYAMLValues(t *testing.T) {
	cases := []struct {
		name  string
		yaml  string
		check func(Config) bool
	}{
		{"empty file", "", func(c Config) bool { return reflect.DeepEqual(c, Default()) }},
		{"comments only", "# nothing\n", func(c Config) bool { return reflect.DeepEqual(c, Default()) }},
		{"empty section keeps defaults", "telegram:\n", func(c Config) bool { return reflect.DeepEqual(c, Default()) }},
		{"empty list is nil", "console:\n  staff_ids: []\n", func(c Config) bool { return c.Console.StaffIDs == nil }},
		{"lists", "console:\n  staff_ids: [a, b]\ntelegram:\n  staff_user_ids: [1, 2]\n",
			func(c Config) bool {
				return slices.Equal(c.Console.StaffIDs, []string{"a", "b"}) && slices.Equal(c.Telegram.StaffUserIDs, []int64{1, 2})
			}},
		{"alias", "scheduler:\n  poll_interval: &p 2s\ndispatcher:\n  sweep_interval: *p\n",
			func(c Config) bool {
				return c.Scheduler.PollInterval == 2*time.Second && c.Dispatcher.SweepInterval == 2*time.Second
			}},
		{"merge key", "dispatcher:\n  <<: {workers: 3}\n  max_attempts: 2\n",
			func(c Config) bool { return c.Dispatcher.Workers == 3 && c.Dispatcher.MaxAttempts == 2 }},
		{"int into float", "dispatcher:\n  global_rate: 25\n", func(c Config) bool { return c.Dispatcher.GlobalRate == 25 }},
		{"numeric secret kept verbatim", "http:\n  admin_token: 0x00000000000000001\n",
			func(c Config) bool { return c.HTTP.AdminToken.Reveal() == "0x00000000000000001" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(writeYAML(t, tc.yaml), emptyEnv)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Fatalf("unexpected config: %+v", cfg)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	type want struct {
		key  string
		text []string
	}
	cases := []struct {
		name string
		yaml string
		env  map[string]string
		want []want
	}{
		{
			name: "unknown key",
			yaml: "shop:\n  name: x\n  colour: red\n",
			want: []want{{"shop.colour", []string{"line 3", "unknown key"}}},
		},
		{
			name: "misspelt key",
			yaml: "database:\n  driver: sqlite\n  busy_timout: 1s\n",
			want: []want{{"database.busy_timout", []string{"line 3", "unknown key", `did you mean "busy_timeout"`}}},
		},
		{
			name: "unknown section",
			yaml: "shop:\n  name: x\nshpo:\n  name: y\n",
			want: []want{{"shpo", []string{"line 3", "unknown section", `did you mean "shop"`}}},
		},
		{
			name: "syntax error",
			yaml: "shop:\n  name: [oops\n",
			want: []want{{"", []string{"config.yaml", "line"}}},
		},
		{
			name: "trusted proxy from env",
			env:  map[string]string{"KEFU_HTTP_TRUSTED_PROXIES": "10.0.0.0/8,10.0.0.0/40"},
			want: []want{{"http.trusted_proxies", []string{`"10.0.0.0/40"`, "KEFU_HTTP_TRUSTED_PROXIES"}}},
		},
		{
			name: "not an integer",
			yaml: "engine:\n  batch_size: abc\n",
			want: []want{{"engine.batch_size", []string{"line 2", "integer", `"abc"`}}},
		},
		{
			name: "float into int",
			yaml: "engine:\n  batch_size: 1.5\n",
			want: []want{{"engine.batch_size", []string{"line 2", "integer"}}},
		},
		{
			name: "bare number as duration",
			yaml: "database:\n  busy_timeout: 5000\n",
			want: []want{{"database.busy_timeout", []string{"line 2", "duration"}}},
		},
		{
			name: "duplicate key",
			yaml: "log:\n  level: info\n  level: debug\n",
			want: []want{{"log.level", []string{"line 3", "duplicate", "line 2"}}},
		},
		{
			name: "section not a mapping",
			yaml: "shop: hello\n",
			want: []want{{"shop", []string{"line 1", "mapping"}}},
		},
		{
			name: "two documents",
			yaml: "shop:\n  name: a\n---\nshop:\n  name: b\n",
			want: []want{{"", []string{"one YAML document"}}},
		},
		{
			name: "validation names file line",
			yaml: "http:\n  addr: nope\n",
			want: []want{{"http.addr", []string{"host:port", "line 2"}}},
		},
		{
			name: "env not an integer",
			env:  map[string]string{"KEFU_ENGINE_BATCH_SIZE": "abc"},
			want: []want{{"engine.batch_size", []string{"KEFU_ENGINE_BATCH_SIZE", "integer", `"abc"`}}},
		},
		{
			name: "env invalid addr names the variable",
			env:  map[string]string{"KEFU_HTTP_ADDR": "localhost"},
			want: []want{{"http.addr", []string{"KEFU_HTTP_ADDR", "host:port", `"localhost"`}}},
		},
		{
			name: "env several bad values at once",
			env: map[string]string{
				"KEFU_DEMO_SEED":                "maybe",
				"KEFU_DATABASE_BUSY_TIMEOUT":    "5",
				"KEFU_DISPATCHER_GLOBAL_RATE":   "NaN",
				"KEFU_TELEGRAM_STAFF_USER_IDS":  "1,x",
				"KEFU_TELEGRAM_STAFF_CHAT_ID":   "99999999999999999999",
				"KEFU_DISPATCHER_PER_CHAT_RATE": "fast",
			},
			want: []want{
				{"database.busy_timeout", []string{"KEFU_DATABASE_BUSY_TIMEOUT", "duration"}},
				{"dispatcher.per_chat_rate", []string{"KEFU_DISPATCHER_PER_CHAT_RATE", "number"}},
				{"dispatcher.global_rate", []string{"KEFU_DISPATCHER_GLOBAL_RATE", "number"}},
				{"demo.seed", []string{"KEFU_DEMO_SEED", "boolean"}},
				{"telegram.staff_chat_id", []string{"KEFU_TELEGRAM_STAFF_CHAT_ID", "integer"}},
				{"telegram.staff_user_ids", []string{"KEFU_TELEGRAM_STAFF_USER_IDS", "list of integers"}},
			},
		},
		{
			name: "file and env problems together",
			yaml: "log:\n  level: loud\n",
			env:  map[string]string{"KEFU_ENGINE_QUEUE_SIZE": "-1"},
			want: []want{
				{"log.level", []string{"line 2", `"loud"`}},
				{"engine.queue_size", []string{"KEFU_ENGINE_QUEUE_SIZE", "1..1048576"}},
			},
		},
		{
			// The node walk skips merge keys; yaml.v3's KnownFields catches them.
			name: "unknown key via merge",
			yaml: "dispatcher:\n  <<: {workerz: 3}\n",
			want: []want{{"", []string{"config.yaml", "workerz"}}},
		},
		{
			name: "good values load alongside bad ones",
			yaml: "shop:\n  colour: red\nhttp:\n  addr: nope\n",
			want: []want{
				{"shop.colour", []string{"line 2", "unknown key"}},
				{"http.addr", []string{"line 4", `"nope"`}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = writeYAML(t, tc.yaml)
			}
			cfg, err := Load(path, envMap(tc.env))
			if err == nil {
				t.Fatalf("no error; cfg %+v", cfg)
			}
			if !reflect.DeepEqual(cfg, Config{}) {
				t.Errorf("want zero Config on error")
			}
			ps := problemsOf(t, err)
			for _, w := range tc.want {
				if !findProblem(ps, w.key, w.text...) {
					t.Errorf("no problem %q containing %q in:\n%v", w.key, w.text, err)
				}
			}
			if len(ps) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(ps), len(tc.want), err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "config: ") {
					t.Errorf("line %q lacks config: prefix", line)
				}
			}
		})
	}
}

func TestLoadErrorsNeverShowSecrets(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		env     map[string]string
		keys    []string
		secrets []string
	}{
		{
			name: "invalid secrets from env",
			env: map[string]string{
				"KEFU_DATABASE_DRIVER":         "postgres",
				"KEFU_DATABASE_DSN":            "postgres://u:pg-PASSWORD-1@[::1",
				"KEFU_HTTP_ADMIN_TOKEN":        "admin-TOK",
				"KEFU_TELEGRAM_TOKEN":          "tg-TOKEN-no-colon",
				"KEFU_TELEGRAM_WEBHOOK_SECRET": "wh-SECRET!!",
				"KEFU_DISCORD_TOKEN":           "dc-TOKEN with space",
			},
			keys:    []string{"database.dsn", "http.admin_token", "telegram.token", "telegram.webhook_secret", "discord.token"},
			secrets: []string{"pg-PASSWORD-1", "admin-TOK", "tg-TOKEN", "wh-SECRET", "dc-TOKEN"},
		},
		{
			name:    "postgres dsn without key=value",
			env:     map[string]string{"KEFU_DATABASE_DRIVER": "postgres", "KEFU_DATABASE_DSN": "pg-PASSWORD-2"},
			keys:    []string{"database.dsn"},
			secrets: []string{"pg-PASSWORD-2"},
		},
		{
			name:    "secret of the wrong YAML type",
			yaml:    "telegram:\n  token: [tg-TOKEN-in-list]\n",
			keys:    []string{"telegram.token"},
			secrets: []string{"tg-TOKEN-in-list"},
		},
		{
			name:    "secret on a broken YAML line",
			yaml:    "telegram:\n  token: \"tg-TOKEN-unterminated\n",
			keys:    []string{""},
			secrets: []string{"tg-TOKEN-unterminated"},
		},
		{
			name:    "secret on a line with an unknown key",
			yaml:    "telegram:\n  tokne: tg-TOKEN-typo\n",
			keys:    []string{"telegram.tokne"},
			secrets: []string{"tg-TOKEN-typo"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = writeYAML(t, tc.yaml)
			}
			_, err := Load(path, envMap(tc.env))
			ps := problemsOf(t, err)
			for _, k := range tc.keys {
				if !findProblem(ps, k) {
					t.Errorf("no problem for %q in:\n%v", k, err)
				}
			}
			assertNoLeak(t, "error", err.Error(), tc.secrets)
		})
	}
}
