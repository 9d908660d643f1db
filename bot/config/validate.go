package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Problem is one invalid setting. Key is the dotted key ("database.driver"),
// or "" for problems with the file as a whole (e.g. YAML syntax).
type Problem struct {
	Key     string
	Message string
}

// Error lists every problem found. Load and Validate return it as *Error.
type Error struct {
	Problems []Problem
}

// Error renders one "config: key: message" line per problem.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		if p.Key == "" {
			lines[i] = "config: " + p.Message
			continue
		}
		lines[i] = "config: " + p.Key + ": " + p.Message
	}
	return strings.Join(lines, "\n")
}

type problems []Problem

func (ps *problems) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

// Validate checks every setting and returns an *Error listing all problems,
// or nil. Messages never contain the value of a Secret.
func (c Config) Validate() error {
	var ps problems
	c.validateShop(&ps)
	c.validateDatabase(&ps)
	c.validateHTTP(&ps)
	oneOf(&ps, "log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf(&ps, "log.format", c.Log.Format, "text", "json")
	c.validateEngine(&ps)
	c.validateSupport(&ps)
	c.validateDispatcher(&ps)
	positiveDuration(&ps, "scheduler.poll_interval", c.Scheduler.PollInterval)
	intRange(&ps, "scheduler.batch_size", c.Scheduler.BatchSize, 1, 10000)
	if c.Demo.Seed && strings.TrimSpace(c.Demo.StaffName) == "" {
		ps.add("demo.staff_name", "must not be empty when demo.seed is true")
	}
	seen := map[string]bool{}
	for i, id := range c.Console.StaffIDs {
		switch {
		case strings.TrimSpace(id) == "":
			ps.add("console.staff_ids", "entry %d is empty", i)
		case seen[id]:
			ps.add("console.staff_ids", "duplicate entry %q", id)
		}
		seen[id] = true
	}
	c.validateLoyalty(&ps)
	for _, r := range []struct {
		key string
		d   time.Duration
	}{{"privacy.message_retention", c.Privacy.MessageRetention}, {"privacy.attachment_retention", c.Privacy.AttachmentRetention}} {
		if r.d < 0 || (r.d > 0 && r.d < 24*time.Hour) {
			ps.add(r.key, "must be 0 (keep forever) or at least 24h, got %s", r.d)
		}
	}
	c.validateOrders(&ps)
	c.validateSurveys(&ps)
	c.validateInsight(&ps)
	c.validateTelegram(&ps)
	c.validateDiscord(&ps)
	if len(ps) == 0 {
		return nil
	}
	return &Error{Problems: ps}
}

func (c Config) validateShop(ps *problems) {
	if strings.TrimSpace(c.Shop.Name) == "" {
		ps.add("shop.name", "must not be empty")
	}
	oneOf(ps, "shop.default_language", c.Shop.DefaultLanguage, "en", "zh")
	if c.Shop.Timezone == "" {
		ps.add("shop.timezone", `must be an IANA time zone such as "Asia/Shanghai"`)
	} else if _, err := time.LoadLocation(c.Shop.Timezone); err != nil {
		// Minimal container images may lack zoneinfo; the binary can embed
		// it with `import _ "time/tzdata"`.
		ps.add("shop.timezone", `unknown time zone %q (want an IANA name such as "Asia/Shanghai")`, c.Shop.Timezone)
	}
}

func (c Config) validateDatabase(ps *problems) {
	d := c.Database
	oneOf(ps, "database.driver", d.Driver, "sqlite", "postgres")
	dsn := d.DSN.Reveal()
	isURL := strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
	switch {
	case dsn == "":
		ps.add("database.dsn", "must not be empty")
	case d.Driver == "postgres" && isURL:
		// url.Parse errors quote the input, so never include err here.
		if _, err := url.Parse(dsn); err != nil {
			ps.add("database.dsn", "invalid postgres URL (value not shown)")
		}
	case d.Driver == "postgres" && !strings.Contains(dsn, "="):
		ps.add("database.dsn", "invalid postgres DSN (value not shown): want a postgres:// URL or key=value pairs")
	case d.Driver == "sqlite" && isURL:
		ps.add("database.dsn", `looks like a PostgreSQL URL but database.driver is "sqlite"`)
	}
	intRange(ps, "database.max_read_conns", d.MaxReadConns, 1, 64)
	if d.BusyTimeout < 0 {
		ps.add("database.busy_timeout", "must not be negative, got %s", d.BusyTimeout)
	}
}

func (c Config) validateHTTP(ps *problems) {
	h := c.HTTP
	if _, port, err := net.SplitHostPort(h.Addr); err != nil {
		ps.add("http.addr", `must be host:port such as "127.0.0.1:8080" or ":8080", got %q`, h.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ps.add("http.addr", "port must be a number 0..65535, got %q", port)
	}
	if tok := h.AdminToken.Reveal(); tok != "" {
		// A short bearer token is guessable; whitespace usually means a
		// copy-paste accident and would break the Authorization header.
		if len(tok) < 16 {
			ps.add("http.admin_token", "too short: use at least 16 characters (or leave empty to disable the admin API)")
		}
		if strings.IndexFunc(tok, isSpaceOrControl) >= 0 {
			ps.add("http.admin_token", "must not contain spaces or control characters")
		}
	}
	positiveDuration(ps, "http.shutdown_timeout", h.ShutdownTimeout)
	for _, p := range h.TrustedProxies {
		if !validProxy(p) {
			ps.add("http.trusted_proxies", `want CIDRs or addresses such as "10.0.0.0/8" or "192.0.2.7", got %q`, p)
		}
	}
	if sec := c.Web.CookieSecret.Reveal(); sec != "" && len(sec) < 32 {
		ps.add("web.cookie_secret", "too short: use at least 32 random characters (or leave empty to keep one in the database)")
	}
	if u := c.Web.PublicURL; u != "" && !isHTTPURL(u) {
		ps.add("web.public_url", `must be an http(s) URL such as "https://help.example.com", got %q`, u)
	}
}

func (c Config) validateEngine(ps *problems) {
	e := c.Engine
	intRange(ps, "engine.batch_size", e.BatchSize, 1, 1024)
	intRange(ps, "engine.queue_size", e.QueueSize, 1, 1<<20)
	intRange(ps, "engine.max_text_bytes", e.MaxTextBytes, 64, 65536)
	if e.FloodPerMinute < 0 {
		ps.add("engine.flood_per_minute", "must be 0 (disabled) or more, got %d", e.FloodPerMinute)
	}
}

func (c Config) validateDispatcher(ps *problems) {
	d := c.Dispatcher
	intRange(ps, "dispatcher.workers", d.Workers, 1, 1024)
	if d.MaxAttempts < 1 {
		ps.add("dispatcher.max_attempts", "must be at least 1, got %d", d.MaxAttempts)
	}
	positiveDuration(ps, "dispatcher.initial_backoff", d.InitialBackoff)
	positiveDuration(ps, "dispatcher.max_backoff", d.MaxBackoff)
	if d.InitialBackoff > 0 && d.MaxBackoff > 0 && d.MaxBackoff < d.InitialBackoff {
		ps.add("dispatcher.max_backoff", "must not be less than dispatcher.initial_backoff (%s), got %s", d.InitialBackoff, d.MaxBackoff)
	}
	positiveRate(ps, "dispatcher.per_chat_rate", d.PerChatRate)
	if d.PerChatBurst < 1 {
		ps.add("dispatcher.per_chat_burst", "must be at least 1, got %d", d.PerChatBurst)
	}
	positiveRate(ps, "dispatcher.global_rate", d.GlobalRate)
	positiveDuration(ps, "dispatcher.sweep_interval", d.SweepInterval)
	if d.Lease < 0 {
		ps.add("dispatcher.lease", "must not be negative, got %s", d.Lease)
	}
}

func (c Config) validateTelegram(ps *problems) {
	t := c.Telegram
	if tok := t.Token.Reveal(); tok != "" && !isTelegramToken(tok) {
		ps.add("telegram.token", "does not look like a bot token from @BotFather (want <digits>:<secret>; value not shown)")
	}
	e := t.APIEndpoint
	if strings.Count(e, "%s") != 2 || strings.Count(e, "%") != 2 {
		ps.add("telegram.api_endpoint", "must contain exactly two %%s (token, then method) and no other %% verbs, got %q", e)
	} else if !isHTTPURL(fmt.Sprintf(e, "TOKEN", "getMe")) {
		ps.add("telegram.api_endpoint", "must be an absolute http(s) URL pattern, got %q", e)
	}
	for _, id := range t.StaffUserIDs {
		if id <= 0 {
			ps.add("telegram.staff_user_ids", "user IDs are positive, got %d", id)
		}
	}
	oneOf(ps, "telegram.mode", t.Mode, "polling", "webhook")
	if t.Mode == "webhook" {
		// Telegram only delivers webhooks over HTTPS, and without a secret
		// anyone who learns the URL can inject fake updates.
		if u, err := url.Parse(t.WebhookURL); err != nil || u.Scheme != "https" || u.Host == "" {
			ps.add("telegram.webhook_url", "must be an absolute https URL when telegram.mode is webhook, got %q", t.WebhookURL)
		}
		if t.WebhookSecret == "" {
			ps.add("telegram.webhook_secret", "must be set when telegram.mode is webhook")
		}
	}
	if s := t.WebhookSecret.Reveal(); s != "" && (len(s) > 256 || strings.IndexFunc(s, notTelegramSecretRune) >= 0) {
		ps.add("telegram.webhook_secret", "must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule; value not shown)")
	}
	if t.PollTimeout < 0 {
		ps.add("telegram.poll_timeout", "must not be negative, got %s", t.PollTimeout)
	}
}

func (c Config) validateDiscord(ps *problems) {
	d := c.Discord
	if tok := d.Token.Reveal(); tok != "" && strings.IndexFunc(tok, isSpaceOrControl) >= 0 {
		ps.add("discord.token", "must not contain spaces or control characters (value not shown)")
	}
	for _, f := range []struct{ key, id string }{
		{"discord.guild_id", d.GuildID},
		{"discord.staff_channel_id", d.StaffChannelID},
		{"discord.staff_role_id", d.StaffRoleID},
		{"discord.support_channel_id", d.SupportChannelID},
	} {
		if f.id != "" && !isDigits(f.id) {
			ps.add(f.key, "must be a numeric Discord ID (snowflake), got %q", f.id)
		}
	}
	if d.Token != "" && d.StaffChannelID != "" {
		// Without a role nobody could act in the staff channel, and without
		// the guild kefu could not look staff up after a reconnect.
		if d.StaffRoleID == "" {
			ps.add("discord.staff_role_id", "is required with discord.staff_channel_id: members with this role are staff")
		}
		if d.GuildID == "" {
			ps.add("discord.guild_id", "is required with discord.staff_channel_id")
		}
	}
	if !isHTTPURL(d.APIBase) {
		ps.add("discord.api_base", "must be an absolute http(s) URL, got %q", d.APIBase)
	}
	if d.ShardCount < 1 {
		ps.add("discord.shard_count", "must be at least 1, got %d", d.ShardCount)
	} else if d.ShardID < 0 || d.ShardID >= d.ShardCount {
		ps.add("discord.shard_id", "must be in 0..%d (discord.shard_count-1), got %d", d.ShardCount-1, d.ShardID)
	} else if d.Token != "" && d.ShardCount > 1 && d.GuildID == "" {
		ps.add("discord.guild_id", "is required with discord.shard_count above 1: the guild's id picks the shard that receives it")
	}
}

func oneOf(ps *problems, key, got string, allowed ...string) {
	if slices.Contains(allowed, got) {
		return
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = strconv.Quote(a)
	}
	var want string
	if len(quoted) == 2 {
		want = quoted[0] + " or " + quoted[1]
	} else {
		want = "one of " + strings.Join(quoted, ", ")
	}
	ps.add(key, "must be %s, got %q", want, got)
}

func intRange(ps *problems, key string, got, lo, hi int) {
	if got < lo || got > hi {
		ps.add(key, "must be in %d..%d, got %d", lo, hi, got)
	}
}

func positiveDuration(ps *problems, key string, got time.Duration) {
	if got <= 0 {
		ps.add(key, "must be a positive duration, got %s", got)
	}
}

func positiveRate(ps *problems, key string, got float64) {
	if !(got > 0) || math.IsInf(got, 0) {
		ps.add(key, "must be a positive number of messages per second, got %v", got)
	}
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// isTelegramToken checks the shape BotFather issues: "<bot id>:<secret>".
func isTelegramToken(s string) bool {
	id, secret, ok := strings.Cut(s, ":")
	return ok && isDigits(id) && secret != "" && strings.IndexFunc(secret, notTelegramSecretRune) < 0
}

func notTelegramSecretRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func isSpaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

func (c Config) validateSupport(ps *problems) {
	s := c.Support
	if strings.TrimSpace(s.BusinessHours) == "" {
		ps.add("support.business_hours", `must not be empty (use "24/7" for always open)`)
	}
	for _, list := range []struct {
		key   string
		dates []string
	}{{"support.holidays", s.Holidays}, {"support.workdays", s.Workdays}} {
		for _, d := range list.dates {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				ps.add(list.key, "%q is not a date like 2026-10-01", d)
			}
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"support.p1_first_response", s.P1FirstResponse}, {"support.p1_resolution", s.P1Resolution},
		{"support.p2_first_response", s.P2FirstResponse}, {"support.p2_resolution", s.P2Resolution},
		{"support.p3_first_response", s.P3FirstResponse}, {"support.p3_resolution", s.P3Resolution},
		{"support.p4_first_response", s.P4FirstResponse}, {"support.p4_resolution", s.P4Resolution},
		{"support.auto_close", s.AutoClose}, {"support.reopen_window", s.ReopenWindow},
	} {
		positiveDuration(ps, d.key, d.v)
	}
	if s.WarnAt <= 0 || s.WarnAt >= 1 {
		ps.add("support.warn_at", "must be between 0 and 1 (e.g. 0.8), got %g", s.WarnAt)
	}
	p := c.Priority
	if !(p.P1Score > p.P2Score && p.P2Score > p.P3Score && p.P3Score > 0) {
		ps.add("priority.p1_score", "scores must descend: p1_score > p2_score > p3_score > 0, got %d, %d, %d", p.P1Score, p.P2Score, p.P3Score)
	}
}

// validateLoyalty checks the shape of the loyalty keys; handlers/loyalty
// parses the tiers and multipliers and cmd/kefu reports its findings too.
func (c Config) validateLoyalty(ps *problems) {
	l := c.Loyalty
	if l.PointsPerUnit < 0 {
		ps.add("loyalty.points_per_unit", "must be >= 0, got %g", l.PointsPerUnit)
	}
	oneOf(ps, "loyalty.tier_basis", l.TierBasis, "spend", "points")
	if len(l.Tiers) == 0 {
		ps.add("loyalty.tiers", "must list at least one tier")
	}
	for _, t := range l.Tiers {
		if strings.Count(t, ":") != 2 {
			ps.add("loyalty.tiers", "%q is not name/English:threshold:multiplier", t)
		}
	}
	for _, m := range l.CategoryMultipliers {
		if k, _, ok := strings.Cut(m, "="); !ok || strings.TrimSpace(k) == "" {
			ps.add("loyalty.category_multipliers", "%q is not category=factor", m)
		}
	}
	positiveDuration(ps, "loyalty.points_validity", l.PointsValidity)
	if l.ExpiryReminder < 0 || l.ExpiryReminder >= l.PointsValidity {
		ps.add("loyalty.expiry_reminder", "must be >= 0 and shorter than points_validity")
	}
	for key, v := range map[string]int64{"loyalty.first_order_bonus": l.FirstOrderBonus,
		"loyalty.survey_bonus": l.SurveyBonus, "loyalty.birthday_bonus": l.BirthdayBonus} {
		if v < 0 {
			ps.add(key, "must be >= 0, got %d", v)
		}
	}
}

// quietHoursKey checks a quiet-hours key: "HH:MM-HH:MM" (it may cross
// midnight; start and end differ) or empty for none.
func quietHoursKey(ps *problems, key, v string) {
	q := strings.TrimSpace(v)
	if q == "" {
		return
	}
	a, b, ok := strings.Cut(q, "-")
	_, err1 := time.Parse("15:04", strings.TrimSpace(a))
	_, err2 := time.Parse("15:04", strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || strings.TrimSpace(a) == strings.TrimSpace(b) {
		ps.add(key, "%q is not HH:MM-HH:MM (e.g. 22:00-08:00) or empty", q)
	}
}

// validateOrders checks the orders keys. The statuses are kefu's order
// statuses (models.OrderStatuses), repeated here because config stands alone.
func (c Config) validateOrders(ps *problems) {
	o := c.Orders
	positiveDuration(ps, "orders.webhook_tolerance", o.WebhookTolerance)
	if o.ReturnWindow < 0 {
		ps.add("orders.return_window", "must be >= 0 (0 turns no-reason returns off), got %s", o.ReturnWindow)
	}
	quietHoursKey(ps, "orders.quiet_hours", o.QuietHours)
	if s := o.WebhookSecret.Reveal(); s != "" && len(s) < 16 {
		ps.add("orders.webhook_secret", "must be at least 16 characters")
	}
	known := []string{"pending", "paid", "shipped", "in_transit", "delayed", "delivered", "cancelled", "returned", "refunded"}
	for _, st := range o.NotifyStatuses {
		if !slices.Contains(known, st) {
			ps.add("orders.notify_statuses", "%q is not one of %s", st, strings.Join(known, ", "))
		}
	}
}

// validateSurveys checks the survey keys; the questionnaire files are
// read (and their mistakes reported) when kefu starts.
func (c Config) validateSurveys(ps *problems) {
	v := c.Surveys
	if v.CSATDelay < 0 {
		ps.add("surveys.csat_delay", "must not be negative, got %s", v.CSATDelay)
	}
	intRange(ps, "surveys.nps_delay_days", v.NPSDelayDays, 0, 365)
	if v.Window < 0 {
		ps.add("surveys.window", "must not be negative, got %s", v.Window)
	}
	positiveDuration(ps, "surveys.expiry", v.Expiry)
	intRange(ps, "surveys.campaign_rate", v.CampaignRate, 1, 1800)
	quietHoursKey(ps, "surveys.quiet_hours", v.QuietHours)
}

// validateInsight checks the insight keys; the campaign files are read
// (and their mistakes reported) when kefu starts.
func (c Config) validateInsight(ps *problems) {
	v := c.Insight
	intRange(ps, "insight.new_days", v.NewDays, 1, 3650)
	intRange(ps, "insight.at_risk_days", v.AtRiskDays, 1, 3650)
	intRange(ps, "insight.churned_days", v.ChurnedDays, 1, 3650)
	if v.AtRiskDays >= v.ChurnedDays {
		ps.add("insight.churned_days", "must be more than at_risk_days (%d), got %d", v.AtRiskDays, v.ChurnedDays)
	}
	if v.FrequencyCap < 0 {
		ps.add("insight.frequency_cap", "must not be negative, got %s", v.FrequencyCap)
	}
	intRange(ps, "insight.campaign_rate", v.CampaignRate, 1, 1800)
	intRange(ps, "insight.outcome_days", v.OutcomeDays, 1, 365)
	quietHoursKey(ps, "insight.quiet_hours", v.QuietHours)
}

// validProxy reports whether s is a CIDR or an address without a zone, as
// bot/clientip takes them.
func validProxy(s string) bool {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return err == nil && (!p.Addr().Is4In6() || p.Bits() >= 96)
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}
