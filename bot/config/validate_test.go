package config

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		key    string // "" means valid
		text   string
	}{
		{"default", func(*Config) {}, "", ""},
		{"shop name empty", func(c *Config) { c.Shop.Name = "  " }, "shop.name", "empty"},
		{"language zh", func(c *Config) { c.Shop.DefaultLanguage = "zh" }, "", ""},
		{"language fr", func(c *Config) { c.Shop.DefaultLanguage = "fr" }, "shop.default_language", `"en" or "zh", got "fr"`},
		{"timezone UTC", func(c *Config) { c.Shop.Timezone = "UTC" }, "", ""},
		{"timezone unknown", func(c *Config) { c.Shop.Timezone = "Asia/Beijing" }, "shop.timezone", `"Asia/Beijing"`},
		{"timezone empty", func(c *Config) { c.Shop.Timezone = "" }, "shop.timezone", "IANA"},
		{"driver mysql", func(c *Config) { c.Database.Driver = "mysql" }, "database.driver", `must be "sqlite" or "postgres", got "mysql"`},
		{"postgres url", func(c *Config) {
			c.Database.Driver, c.Database.DSN = "postgres", "postgres://kefu:pw@localhost:5432/kefu?sslmode=disable"
		}, "", ""},
		{"postgres key=value", func(c *Config) { c.Database.Driver, c.Database.DSN = "postgres", "host=/tmp dbname=kefu" }, "", ""},
		{"postgres with sqlite dsn", func(c *Config) { c.Database.Driver = "postgres" }, "database.dsn", "invalid postgres DSN"},
		{"sqlite with postgres url", func(c *Config) { c.Database.DSN = "postgres://h/db" }, "database.dsn", "PostgreSQL URL"},
		{"dsn empty", func(c *Config) { c.Database.DSN = "" }, "database.dsn", "empty"},
		{"read conns 0", func(c *Config) { c.Database.MaxReadConns = 0 }, "database.max_read_conns", "1..64"},
		{"read conns 65", func(c *Config) { c.Database.MaxReadConns = 65 }, "database.max_read_conns", "1..64"},
		{"busy timeout 0", func(c *Config) { c.Database.BusyTimeout = 0 }, "", ""},
		{"busy timeout negative", func(c *Config) { c.Database.BusyTimeout = -time.Second }, "database.busy_timeout", "negative"},
		{"addr port 0", func(c *Config) { c.HTTP.Addr = "127.0.0.1:0" }, "", ""},
		{"web cookie secret short", func(c *Config) { c.Web.CookieSecret = "short" }, "web.cookie_secret", "at least 32"},
		{"web cookie secret ok", func(c *Config) { c.Web.CookieSecret = Secret(strings.Repeat("s", 32)) }, "", ""},
		{"web public url https", func(c *Config) { c.Web.PublicURL = "https://help.example.com" }, "", ""},
		{"web public url bare host", func(c *Config) { c.Web.PublicURL = "help.example.com" }, "web.public_url", "http(s) URL"},
		{"trusted proxies", func(c *Config) { c.HTTP.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.7", "fd00::/8"} }, "", ""},
		{"trusted proxy bad cidr", func(c *Config) { c.HTTP.TrustedProxies = []string{"10.0.0.0/8", "10.0.0.0/33"} }, "http.trusted_proxies", `got "10.0.0.0/33"`},
		{"trusted proxy hostname", func(c *Config) { c.HTTP.TrustedProxies = []string{"nginx"} }, "http.trusted_proxies", `got "nginx"`},
		{"addr all interfaces", func(c *Config) { c.HTTP.Addr = ":8080" }, "", ""},
		{"addr ipv6", func(c *Config) { c.HTTP.Addr = "[::1]:8080" }, "", ""},
		{"addr no port", func(c *Config) { c.HTTP.Addr = "localhost" }, "http.addr", "host:port"},
		{"addr bad port", func(c *Config) { c.HTTP.Addr = "localhost:http" }, "http.addr", "0..65535"},
		{"addr port too big", func(c *Config) { c.HTTP.Addr = "localhost:70000" }, "http.addr", "0..65535"},
		{"admin token ok", func(c *Config) { c.HTTP.AdminToken = "0123456789abcdef" }, "", ""},
		{"admin token short", func(c *Config) { c.HTTP.AdminToken = "short" }, "http.admin_token", "at least 16"},
		{"admin token space", func(c *Config) { c.HTTP.AdminToken = "0123456789 abcdef" }, "http.admin_token", "spaces"},
		{"shutdown 0", func(c *Config) { c.HTTP.ShutdownTimeout = 0 }, "http.shutdown_timeout", "positive"},
		{"log level", func(c *Config) { c.Log.Level = "trace" }, "log.level", `one of "debug", "info", "warn", "error"`},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", `"text" or "json"`},
		{"batch 0", func(c *Config) { c.Engine.BatchSize = 0 }, "engine.batch_size", "1..1024"},
		{"batch 1025", func(c *Config) { c.Engine.BatchSize = 1025 }, "engine.batch_size", "1..1024"},
		{"queue 0", func(c *Config) { c.Engine.QueueSize = 0 }, "engine.queue_size", "1..1048576"},
		{"text 63", func(c *Config) { c.Engine.MaxTextBytes = 63 }, "engine.max_text_bytes", "64..65536"},
		{"text 65537", func(c *Config) { c.Engine.MaxTextBytes = 65537 }, "engine.max_text_bytes", "64..65536"},
		{"flood 0 disables", func(c *Config) { c.Engine.FloodPerMinute = 0 }, "", ""},
		{"flood negative", func(c *Config) { c.Engine.FloodPerMinute = -1 }, "engine.flood_per_minute", "0 (disabled)"},
		{"workers 0", func(c *Config) { c.Dispatcher.Workers = 0 }, "dispatcher.workers", "1..1024"},
		{"attempts 0", func(c *Config) { c.Dispatcher.MaxAttempts = 0 }, "dispatcher.max_attempts", "at least 1"},
		{"initial backoff 0", func(c *Config) { c.Dispatcher.InitialBackoff = 0 }, "dispatcher.initial_backoff", "positive"},
		{"max below initial", func(c *Config) { c.Dispatcher.MaxBackoff = 500 * time.Millisecond }, "dispatcher.max_backoff", "initial_backoff"},
		{"per chat rate 0", func(c *Config) { c.Dispatcher.PerChatRate = 0 }, "dispatcher.per_chat_rate", "positive"},
		{"per chat rate NaN", func(c *Config) { c.Dispatcher.PerChatRate = math.NaN() }, "dispatcher.per_chat_rate", "positive"},
		{"global rate inf", func(c *Config) { c.Dispatcher.GlobalRate = math.Inf(1) }, "dispatcher.global_rate", "positive"},
		{"burst 0", func(c *Config) { c.Dispatcher.PerChatBurst = 0 }, "dispatcher.per_chat_burst", "at least 1"},
		{"sweep 0", func(c *Config) { c.Dispatcher.SweepInterval = 0 }, "dispatcher.sweep_interval", "positive"},
		{"poll 0", func(c *Config) { c.Scheduler.PollInterval = 0 }, "scheduler.poll_interval", "positive"},
		{"scheduler batch 0", func(c *Config) { c.Scheduler.BatchSize = 0 }, "scheduler.batch_size", "1..10000"},
		{"demo staff empty", func(c *Config) { c.Demo.StaffName = "" }, "demo.staff_name", "demo.seed"},
		{"demo off, staff empty", func(c *Config) { c.Demo.Seed, c.Demo.StaffName = false, "" }, "", ""},
		{"console empty list", func(c *Config) { c.Console.StaffIDs = nil }, "", ""},
		{"console empty id", func(c *Config) { c.Console.StaffIDs = []string{"a", ""} }, "console.staff_ids", "entry 1"},
		{"console duplicate", func(c *Config) { c.Console.StaffIDs = []string{"a", "a"} }, "console.staff_ids", `duplicate entry "a"`},
		{"telegram token ok", func(c *Config) { c.Telegram.Token = "123456789:AAH-abc_DEF" }, "", ""},
		{"telegram token shape", func(c *Config) { c.Telegram.Token = "my-bot" }, "telegram.token", "BotFather"},
		{"endpoint one %s", func(c *Config) { c.Telegram.APIEndpoint = "https://api.telegram.org/bot%s" }, "telegram.api_endpoint", "exactly two %s"},
		{"endpoint three %s", func(c *Config) { c.Telegram.APIEndpoint = "https://x/%s/%s/%s" }, "telegram.api_endpoint", "exactly two %s"},
		{"endpoint other verb", func(c *Config) { c.Telegram.APIEndpoint = "https://x/%s/%s/%d" }, "telegram.api_endpoint", "exactly two %s"},
		{"endpoint not url", func(c *Config) { c.Telegram.APIEndpoint = "api.telegram.org/bot%s/%s" }, "telegram.api_endpoint", "http(s)"},
		{"endpoint local", func(c *Config) { c.Telegram.APIEndpoint = "http://127.0.0.1:8081/bot%s/%s" }, "", ""},
		{"staff user id negative", func(c *Config) { c.Telegram.StaffUserIDs = []int64{5, -5} }, "telegram.staff_user_ids", "-5"},
		{"mode bad", func(c *Config) { c.Telegram.Mode = "push" }, "telegram.mode", `"polling" or "webhook"`},
		{"webhook ok", func(c *Config) {
			c.Telegram.Mode, c.Telegram.WebhookURL, c.Telegram.WebhookSecret = "webhook", "https://shop.example.cn/tg", "s3cret_-X"
		}, "", ""},
		{"webhook http", func(c *Config) {
			c.Telegram.Mode, c.Telegram.WebhookURL, c.Telegram.WebhookSecret = "webhook", "http://shop.example.cn/tg", "s"
		}, "telegram.webhook_url", "https"},
		{"webhook no secret", func(c *Config) { c.Telegram.Mode, c.Telegram.WebhookURL = "webhook", "https://shop.example.cn/tg" },
			"telegram.webhook_secret", "must be set"},
		{"webhook secret charset", func(c *Config) { c.Telegram.WebhookSecret = "a b" }, "telegram.webhook_secret", "A-Z"},
		{"webhook secret too long", func(c *Config) { c.Telegram.WebhookSecret = Secret(strings.Repeat("a", 257)) }, "telegram.webhook_secret", "1-256"},
		{"poll timeout 0", func(c *Config) { c.Telegram.PollTimeout = 0 }, "", ""},
		{"poll timeout negative", func(c *Config) { c.Telegram.PollTimeout = -1 }, "telegram.poll_timeout", "negative"},
		{"discord ids ok", func(c *Config) {
			c.Discord.Token, c.Discord.GuildID, c.Discord.StaffChannelID = "abc.def.ghi", "123456789012345678", "223456789012345678"
			c.Discord.StaffRoleID = "323456789012345678"
		}, "", ""},
		{"discord staff channel without role", func(c *Config) {
			c.Discord.Token, c.Discord.GuildID, c.Discord.StaffChannelID = "abc.def.ghi", "123456789012345678", "223456789012345678"
		}, "discord.staff_role_id", "required"},
		{"discord staff channel without guild", func(c *Config) {
			c.Discord.Token, c.Discord.StaffChannelID, c.Discord.StaffRoleID = "abc.def.ghi", "223456789012345678", "323456789012345678"
		}, "discord.guild_id", "required"},
		{"discord token space", func(c *Config) { c.Discord.Token = "Bot abc" }, "discord.token", "spaces"},
		{"discord guild id", func(c *Config) { c.Discord.GuildID = "my-guild" }, "discord.guild_id", "snowflake"},
		{"discord staff channel id", func(c *Config) { c.Discord.StaffChannelID = "#staff" }, "discord.staff_channel_id", "snowflake"},
		{"discord staff role id", func(c *Config) { c.Discord.StaffRoleID = "@staff" }, "discord.staff_role_id", "snowflake"},
		{"discord support channel id", func(c *Config) { c.Discord.SupportChannelID = "x" }, "discord.support_channel_id", "snowflake"},
		{"discord api base relative", func(c *Config) { c.Discord.APIBase = "discord.com" }, "discord.api_base", "absolute http(s)"},
		{"discord api base ftp", func(c *Config) { c.Discord.APIBase = "ftp://discord.com" }, "discord.api_base", "absolute http(s)"},
		{"shard count 0", func(c *Config) { c.Discord.ShardCount = 0 }, "discord.shard_count", "at least 1"},
		{"shard id too big", func(c *Config) { c.Discord.ShardCount, c.Discord.ShardID = 2, 2 }, "discord.shard_id", "0..1"},
		{"shard id negative", func(c *Config) { c.Discord.ShardID = -1 }, "discord.shard_id", "0..0"},
		{"shards without guild", func(c *Config) { c.Discord.Token, c.Discord.ShardCount = "abc", 2 }, "discord.guild_id", "shard_count above 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(&c)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 {
				t.Errorf("want exactly one problem, got:\n%v", err)
			}
			if !findProblem(ps, tc.key, tc.text) {
				t.Errorf("want %s problem containing %q, got:\n%v", tc.key, tc.text, err)
			}
			if want := "config: " + tc.key + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Database.Driver = "mysql"
	c.HTTP.Addr = "nope"
	c.Log.Level = "loud"
	c.Engine.BatchSize = 0
	c.Dispatcher.Workers = -1
	c.Telegram.Mode = "push"
	c.Discord.APIBase = ""
	err := c.Validate()
	ps := problemsOf(t, err)
	want := []string{"database.driver", "http.addr", "log.level", "engine.batch_size", "dispatcher.workers", "telegram.mode", "discord.api_base"}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), err)
	}
	// Problems come in struct order, one line each.
	lines := strings.Split(err.Error(), "\n")
	for i, key := range want {
		if ps[i].Key != key {
			t.Errorf("problem %d is %s, want %s", i, ps[i].Key, key)
		}
		if !strings.HasPrefix(lines[i], "config: "+key+": ") {
			t.Errorf("line %d = %q", i, lines[i])
		}
	}
}

func TestValidateNeverShowsSecrets(t *testing.T) {
	c, secrets := secretConfig()
	// Make every secret invalid in a way that could tempt an echo.
	c.Database.DSN = "postgres://kefu:pg-PASSWORD-1@[bad"
	c.HTTP.AdminToken = "admin-TOKEN"
	c.Telegram.Token = "tg-TOKEN no colon"
	c.Telegram.WebhookSecret = "wh-SECRET!"
	c.Discord.Token = "dc-TOKEN space"
	err := c.Validate()
	ps := problemsOf(t, err)
	for _, k := range []string{"database.dsn", "http.admin_token", "telegram.token", "telegram.webhook_secret", "discord.token"} {
		if !findProblem(ps, k) {
			t.Errorf("no problem for %s:\n%v", k, err)
		}
	}
	assertNoLeak(t, "Validate", err.Error(), secrets)
	assertNoLeak(t, "Validate %+v", fmtProblems(ps), secrets)
}

func fmtProblems(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Key + " " + p.Message + "\n")
	}
	return b.String()
}
