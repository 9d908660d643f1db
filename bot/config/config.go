package config

import (
	"reflect"
	"strings"
	"time"
)

// Config is the complete kefu configuration. Zero values are not meaningful;
// start from Default or Load.
type Config struct {
	Shop       Shop       `yaml:"shop"`
	Database   Database   `yaml:"database"`
	HTTP       HTTP       `yaml:"http"`
	Web        Web        `yaml:"web"`
	Log        Log        `yaml:"log"`
	Engine     Engine     `yaml:"engine"`
	Dispatcher Dispatcher `yaml:"dispatcher"`
	Scheduler  Scheduler  `yaml:"scheduler"`
	Demo       Demo       `yaml:"demo"`
	Console    Console    `yaml:"console"`
	Support    Support    `yaml:"support"`
	Priority   Priority   `yaml:"priority"`
	Loyalty    Loyalty    `yaml:"loyalty"`
	Privacy    Privacy    `yaml:"privacy"`
	Orders     Orders     `yaml:"orders"`
	Surveys    Surveys    `yaml:"surveys"`
	Insight    Insight    `yaml:"insight"`
	Telegram   Telegram   `yaml:"telegram"`
	Discord    Discord    `yaml:"discord"`
}

// Shop describes the shop the bot serves.
type Shop struct {
	Name            string `yaml:"name"`
	DefaultLanguage string `yaml:"default_language"` // "en" or "zh"
	Timezone        string `yaml:"timezone"`         // IANA name, see Config.Location
}

// Database selects and tunes the store.
type Database struct {
	Driver       string        `yaml:"driver"` // "sqlite" or "postgres"
	DSN          Secret        `yaml:"dsn"`
	MaxReadConns int           `yaml:"max_read_conns"`
	BusyTimeout  time.Duration `yaml:"busy_timeout"`
}

// HTTP configures the web chat / admin HTTP server.
type HTTP struct {
	Addr            string        `yaml:"addr"`        // host:port, port may be 0
	AdminToken      Secret        `yaml:"admin_token"` // empty disables the admin API
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// TrustedProxies are the reverse proxies and load balancers (CIDRs or
	// addresses) whose X-Forwarded-For kefu believes, to learn a client's
	// address for sign-in throttling and logs. Empty: nobody; the
	// connecting address is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Web configures the web chat and the staff inbox, served by the HTTP
// server on http.addr.
type Web struct {
	Enabled bool `yaml:"enabled"`
	// CookieSecret signs visitor and staff cookies (at least 32 bytes);
	// empty: a random secret is made once and kept in the database.
	CookieSecret Secret `yaml:"cookie_secret"`
	// PublicURL is the address people reach kefu at ("https://help.shop.com")
	// when a proxy is in front; https makes cookies Secure and lets the chat
	// be embedded in the shop's own site. Empty: http://http.addr.
	PublicURL string `yaml:"public_url"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text, json
}

// Engine tunes the conversation engine.
type Engine struct {
	BatchSize      int `yaml:"batch_size"`       // max turns per group-commit transaction
	QueueSize      int `yaml:"queue_size"`       // inbound queue capacity
	MaxTextBytes   int `yaml:"max_text_bytes"`   // inbound text cap
	FloodPerMinute int `yaml:"flood_per_minute"` // 0 disables flood notices
}

// Dispatcher tunes outbound delivery.
type Dispatcher struct {
	Workers        int           `yaml:"workers"` // concurrent sends per channel
	MaxAttempts    int           `yaml:"max_attempts"`
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	MaxBackoff     time.Duration `yaml:"max_backoff"`
	PerChatRate    float64       `yaml:"per_chat_rate"` // msg/s per chat, for channels that declare no limit
	PerChatBurst   int           `yaml:"per_chat_burst"`
	GlobalRate     float64       `yaml:"global_rate"`    // msg/s per channel
	SweepInterval  time.Duration `yaml:"sweep_interval"` // how often pending rows are re-read
	// Lease: replicas on PostgreSQL lease outbox rows this long, renewed
	// while the replica lives; a dead replica's rows go out from another
	// this long after it died.
	Lease time.Duration `yaml:"lease"`
}

// Scheduler tunes the delayed-job poller.
type Scheduler struct {
	PollInterval time.Duration `yaml:"poll_interval"`
	BatchSize    int           `yaml:"batch_size"`
}

// Demo controls the demo data seeded on first start.
type Demo struct {
	Seed      bool   `yaml:"seed"`
	StaffName string `yaml:"staff_name"`
}

// Console configures the local staff console.
type Console struct {
	StaffIDs []string `yaml:"staff_ids"`
}

// Support is how staff work tickets: opening hours, holidays and the SLA
// targets per priority, in business time.
type Support struct {
	BusinessHours   string        `yaml:"business_hours"` // "mon-fri 09:00-18:00; sat 10:00-16:00" or "24/7"
	Holidays        []string      `yaml:"holidays"`       // closed dates, "2026-10-01"
	Workdays        []string      `yaml:"workdays"`       // make-up working days (调休), "2026-09-27"
	P1FirstResponse time.Duration `yaml:"p1_first_response"`
	P1Resolution    time.Duration `yaml:"p1_resolution"`
	P2FirstResponse time.Duration `yaml:"p2_first_response"`
	P2Resolution    time.Duration `yaml:"p2_resolution"`
	P3FirstResponse time.Duration `yaml:"p3_first_response"`
	P3Resolution    time.Duration `yaml:"p3_resolution"`
	P4FirstResponse time.Duration `yaml:"p4_first_response"`
	P4Resolution    time.Duration `yaml:"p4_resolution"`
	WarnAt          float64       `yaml:"warn_at"`       // fraction of a target that triggers a warning
	AutoClose       time.Duration `yaml:"auto_close"`    // close tickets waiting on the customer this long
	ReopenWindow    time.Duration `yaml:"reopen_window"` // a customer message this soon after resolve reopens
}

// Priority tunes how complaints are graded P1..P4 (see handlers/priority).
type Priority struct {
	HighValueTiers    []string `yaml:"high_value_tiers"`
	ExtraThreatWords  []string `yaml:"extra_threat_words"`
	ExtraAngerWords   []string `yaml:"extra_anger_words"`
	ExtraUrgencyWords []string `yaml:"extra_urgency_words"`
	P1Score           int      `yaml:"p1_score"`
	P2Score           int      `yaml:"p2_score"`
	P3Score           int      `yaml:"p3_score"`
}

// Loyalty configures the points programme (see handlers/loyalty).
type Loyalty struct {
	PointsPerUnit       float64       `yaml:"points_per_unit"`      // points per whole currency unit delivered
	CategoryMultipliers []string      `yaml:"category_multipliers"` // "category=factor"
	TierBasis           string        `yaml:"tier_basis"`           // "spend" or "points", over 12 rolling months
	Tiers               []string      `yaml:"tiers"`                // "名称/Name:threshold:multiplier", lowest first
	PointsValidity      time.Duration `yaml:"points_validity"`      // how long earned points last
	ExpiryReminder      time.Duration `yaml:"expiry_reminder"`      // remind this long before points lapse; 0 never
	FirstOrderBonus     int64         `yaml:"first_order_bonus"`
	SurveyBonus         int64         `yaml:"survey_bonus"`
	BirthdayBonus       int64         `yaml:"birthday_bonus"`
	UpgradeCoupon       string        `yaml:"upgrade_coupon"` // reward code given on a tier upgrade; "" none
}

// Privacy configures how long personal data is kept.
type Privacy struct {
	MessageRetention    time.Duration `yaml:"message_retention"`    // erase message texts older than this; 0 keeps them
	AttachmentRetention time.Duration `yaml:"attachment_retention"` // drop attachment references older than this; 0 keeps them
}

// Orders configures order questions, notifications, returns and the shop
// platform's webhook.
type Orders struct {
	WebhookSecret    Secret        `yaml:"webhook_secret"`    // HMAC-SHA256 key of POST /webhooks/orders; empty disables it
	WebhookTolerance time.Duration `yaml:"webhook_tolerance"` // how far X-Kefu-Timestamp may be from now
	ReturnWindow     time.Duration `yaml:"return_window"`     // no-reason returns this long after delivery (7天无理由退货)
	QuietHours       string        `yaml:"quiet_hours"`       // "22:00-08:00" in the shop's zone; "" none
	NotifyStatuses   []string      `yaml:"notify_statuses"`   // status changes customers are told about
}

// Surveys configures CSAT, NPS and questionnaires (see handlers/survey).
type Surveys struct {
	CSAT         bool          `yaml:"csat"`           // ask CSAT after a ticket is resolved
	CSATDelay    time.Duration `yaml:"csat_delay"`     // how long after the resolution
	NPS          bool          `yaml:"nps"`            // ask NPS after an order is delivered
	NPSDelayDays int           `yaml:"nps_delay_days"` // days after the delivery
	Window       time.Duration `yaml:"window"`         // at most one survey per customer within it
	Expiry       time.Duration `yaml:"expiry"`         // unanswered surveys close after it
	CampaignRate int           `yaml:"campaign_rate"`  // campaign sends per minute
	QuietHours   string        `yaml:"quiet_hours"`    // "21:00-09:00" shop time, "" none
	Dir          string        `yaml:"dir"`            // questionnaire YAML files; "" none
}

// Insight configures customer segments and care campaigns (see
// handlers/insight and handlers/campaign).
type Insight struct {
	NewDays      int           `yaml:"new_days"`      // a first order at most this many days old: new
	AtRiskDays   int           `yaml:"at_risk_days"`  // no order for longer: at risk
	ChurnedDays  int           `yaml:"churned_days"`  // no order for longer: churned
	FrequencyCap time.Duration `yaml:"frequency_cap"` // at most one campaign message per customer within it; 0 none
	CampaignRate int           `yaml:"campaign_rate"` // campaign sends per minute
	QuietHours   string        `yaml:"quiet_hours"`   // "21:00-09:00" shop time, "" none
	OutcomeDays  int           `yaml:"outcome_days"`  // a reply, redemption or order within it counts for the send
	CampaignDir  string        `yaml:"campaign_dir"`  // campaign YAML files; "" none
}

// Telegram configures the Telegram channel. It is enabled when Token is set.
type Telegram struct {
	Token         Secret        `yaml:"token"`
	APIEndpoint   string        `yaml:"api_endpoint"` // fmt pattern: token, method
	StaffChatID   int64         `yaml:"staff_chat_id"`
	StaffUserIDs  []int64       `yaml:"staff_user_ids"`
	StaffAdmins   bool          `yaml:"staff_admins"` // treat staff-group admins as staff
	Mode          string        `yaml:"mode"`         // "polling" or "webhook"
	WebhookURL    string        `yaml:"webhook_url"`
	WebhookSecret Secret        `yaml:"webhook_secret"`
	PollTimeout   time.Duration `yaml:"poll_timeout"`
}

// Discord configures the Discord channel. It is enabled when Token is set.
type Discord struct {
	Token            Secret `yaml:"token"`
	GuildID          string `yaml:"guild_id"`
	StaffChannelID   string `yaml:"staff_channel_id"`
	StaffRoleID      string `yaml:"staff_role_id"`
	SupportChannelID string `yaml:"support_channel_id"` // optional public support channel
	APIBase          string `yaml:"api_base"`
	ShardID          int    `yaml:"shard_id"`
	ShardCount       int    `yaml:"shard_count"`
}

// Enabled reports whether the Telegram channel should run.
func (t Telegram) Enabled() bool { return t.Token != "" }

// Enabled reports whether the Discord channel should run.
func (d Discord) Enabled() bool { return d.Token != "" }

// Default returns the built-in defaults: a runnable demo shop on SQLite with
// no external channels. Each call returns fresh slices, so callers may
// modify the result freely.
func Default() Config {
	return Config{
		Shop: Shop{
			Name:            "Demo Shop",
			DefaultLanguage: "en",
			Timezone:        "Asia/Shanghai",
		},
		Database: Database{
			Driver:       "sqlite",
			DSN:          "kefu.db",
			MaxReadConns: 4,
			BusyTimeout:  5 * time.Second,
		},
		HTTP: HTTP{
			Addr:            "127.0.0.1:8080",
			ShutdownTimeout: 8 * time.Second,
		},
		Web: Web{Enabled: true},
		Log: Log{Level: "info", Format: "text"},
		Engine: Engine{
			BatchSize:      64,
			QueueSize:      4096,
			MaxTextBytes:   4096,
			FloodPerMinute: 30,
		},
		Dispatcher: Dispatcher{
			Workers:        8,
			MaxAttempts:    8,
			InitialBackoff: time.Second,
			MaxBackoff:     5 * time.Minute,
			PerChatRate:    1,
			PerChatBurst:   3,
			GlobalRate:     30,
			SweepInterval:  5 * time.Second,
			Lease:          30 * time.Second,
		},
		Scheduler: Scheduler{PollInterval: time.Second, BatchSize: 100},
		Demo:      Demo{Seed: true, StaffName: "demo"},
		Console:   Console{StaffIDs: []string{"staff"}},
		Support: Support{
			BusinessHours:   "mon-sun 09:00-21:00",
			P1FirstResponse: 30 * time.Minute, P1Resolution: 4 * time.Hour,
			P2FirstResponse: 2 * time.Hour, P2Resolution: 24 * time.Hour,
			P3FirstResponse: 8 * time.Hour, P3Resolution: 72 * time.Hour,
			P4FirstResponse: 24 * time.Hour, P4Resolution: 168 * time.Hour,
			WarnAt:       0.8,
			AutoClose:    72 * time.Hour,
			ReopenWindow: 168 * time.Hour,
		},
		Priority: Priority{
			HighValueTiers: []string{"资深", "骨灰", "VIP"},
			P1Score:        60, P2Score: 35, P3Score: 15,
		},
		Loyalty: Loyalty{
			PointsPerUnit: 1,
			TierBasis:     "spend",
			Tiers: []string{"新手/Newcomer:0:1", "初级/Junior:500:1", "中等/Intermediate:2000:1.2",
				"资深/Senior:5000:1.5", "骨灰/Veteran:20000:2"},
			PointsValidity:  365 * 24 * time.Hour,
			ExpiryReminder:  30 * 24 * time.Hour,
			FirstOrderBonus: 100,
			SurveyBonus:     20,
			BirthdayBonus:   200,
			UpgradeCoupon:   "FREESHIP",
		},
		Privacy: Privacy{
			MessageRetention:    365 * 24 * time.Hour,
			AttachmentRetention: 365 * 24 * time.Hour,
		},
		Orders: Orders{
			WebhookTolerance: 5 * time.Minute,
			ReturnWindow:     7 * 24 * time.Hour,
			QuietHours:       "22:00-08:00",
			NotifyStatuses:   []string{"shipped", "delayed", "delivered", "cancelled", "refunded"},
		},
		Surveys: Surveys{
			CSAT: true, CSATDelay: 30 * time.Minute,
			NPS: true, NPSDelayDays: 7,
			Window: 30 * 24 * time.Hour, Expiry: 72 * time.Hour,
			CampaignRate: 20, QuietHours: "21:00-09:00", Dir: "surveys",
		},
		Insight: Insight{
			NewDays: 30, AtRiskDays: 90, ChurnedDays: 180,
			FrequencyCap: 7 * 24 * time.Hour, CampaignRate: 20, QuietHours: "21:00-09:00",
			OutcomeDays: 14, CampaignDir: "campaigns",
		},
		Telegram: Telegram{
			APIEndpoint: "https://api.telegram.org/bot%s/%s",
			Mode:        "polling",
			PollTimeout: 30 * time.Second,
		},
		Discord: Discord{
			APIBase:    "https://discord.com",
			ShardCount: 1,
		},
	}
}

// Location returns the shop's time zone. It loads the zone on every call, so
// callers should keep the result. If Timezone does not load (Validate
// rejects that) it returns time.UTC rather than nil.
func (c Config) Location() *time.Location {
	if c.Shop.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(c.Shop.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// EnvName returns the environment variable that overrides a dotted key:
// "database.dsn" → "KEFU_DATABASE_DSN".
func EnvName(path string) string {
	return "KEFU_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// Keys returns every leaf key in dotted form, in struct order.
func Keys() []string {
	var keys []string
	var c Config
	eachLeaf(reflect.ValueOf(&c).Elem(), "", func(key string, _ reflect.Value) {
		keys = append(keys, key)
	})
	return keys
}

// isSection reports whether t is a nested section rather than a leaf.
// time.Duration is an int64, so only real structs count.
func isSection(t reflect.Type) bool { return t.Kind() == reflect.Struct }

// yamlName returns the yaml key of a struct field ("" if the field is
// skipped or unexported).
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// eachLeaf calls fn for every leaf field below v (a struct), depth first in
// struct order. Keys, env overrides and the YAML checker all derive from
// this one walk so they cannot disagree.
func eachLeaf(v reflect.Value, prefix string, fn func(key string, field reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		name := yamlName(t.Field(i))
		if name == "" {
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		if isSection(t.Field(i).Type) {
			eachLeaf(v.Field(i), key, fn)
			continue
		}
		fn(key, v.Field(i))
	}
}

// fieldByYAML finds the field of struct type t with yaml key name.
func fieldByYAML(t reflect.Type, name string) (int, bool) {
	for i := range t.NumField() {
		if n := yamlName(t.Field(i)); n != "" && n == name {
			return i, true
		}
	}
	return 0, false
}
