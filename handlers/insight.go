package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers/campaign"
	"github.com/kefu-bot/kefu/handlers/insight"
	"github.com/kefu-bot/kefu/models"
)

// Customer insight: segments (handlers/insight) refreshed nightly and on
// demand, and care campaigns (handlers/campaign) sent as jobs with the
// customer's consent, quiet hours and a frequency cap checked when each
// message would go out.

const (
	jobInsightNightly = "insight.nightly" // segments, snapshot, campaign outcomes
	jobCampaignRun    = "campaign.run"    // one occurrence of a calendar campaign: pick the audience
	jobCampaignSend   = "campaign.send"   // one message to one customer
	// campaignPostpone: a send waits this long while a person handles the
	// chat or the customer is in another flow, campaignMaxPostpone times.
	campaignPostpone    = time.Hour
	campaignMaxPostpone = 24
)

// InsightOptions configure segments and campaigns; see NewInsight for the
// defaults of zero fields.
type InsightOptions struct {
	Shop      string
	Lifecycle insight.Thresholds
	// FrequencyCap: at most one campaign message per customer within it;
	// zero is 7 days, negative no cap.
	FrequencyCap time.Duration
	// CampaignRate is sends per minute, spread evenly; zero is 20.
	CampaignRate int
	// OutcomeWindow: a reply, redemption or order within it after a send
	// counts as the send's outcome; zero is 14 days.
	OutcomeWindow time.Duration
	Quiet         QuietHours // in the shop's zone
	Campaigns     []*campaign.Definition
	// Points renders {{.Tier}} in the customer's language; nil leaves
	// the stored tier name.
	Points *Points
}

// Insight computes segments and runs care campaigns. Build one with
// NewInsight and pass it in Deps.Insight and to kefu's subcommands.
type Insight struct {
	opt  InsightOptions
	loc  *time.Location
	defs map[string]*campaign.Definition
}

// NewInsight returns the insight with opt; a zero Lifecycle is
// insight.DefaultThresholds. Times of day are in loc.
func NewInsight(opt InsightOptions, loc *time.Location) *Insight {
	if loc == nil {
		loc = time.UTC
	}
	if opt.Lifecycle == (insight.Thresholds{}) {
		opt.Lifecycle = insight.DefaultThresholds()
	}
	if opt.FrequencyCap == 0 {
		opt.FrequencyCap = 7 * 24 * time.Hour
	}
	if opt.CampaignRate <= 0 {
		opt.CampaignRate = 20
	}
	if opt.OutcomeWindow <= 0 {
		opt.OutcomeWindow = 14 * 24 * time.Hour
	}
	in := &Insight{opt: opt, loc: loc, defs: map[string]*campaign.Definition{}}
	for _, d := range opt.Campaigns {
		in.defs[d.Name] = d
	}
	return in
}

// Campaigns returns the campaign definitions, by name.
func (in *Insight) Campaigns() []*campaign.Definition {
	out := make([]*campaign.Definition, 0, len(in.defs))
	for _, k := range sortedKeys(in.defs) {
		out = append(out, in.defs[k])
	}
	return out
}

// OutcomeWindow is how long after a send its outcomes are looked for.
func (in *Insight) OutcomeWindow() time.Duration { return in.opt.OutcomeWindow }

// Location is the shop's zone the insight counts days in.
func (in *Insight) Location() *time.Location { return in.loc }

// Lifecycle returns the lifecycle thresholds in use.
func (in *Insight) Lifecycle() insight.Thresholds { return in.opt.Lifecycle }

// RefreshResult is what a segment refresh stored.
type RefreshResult struct {
	Customers int            `json:"customers"`
	Stages    map[string]int `json:"stages"`
	Values    map[string]int `json:"values"`
	Rates     insight.Rates  `json:"rates"`
}

// Refresh computes every customer's segment from their paid orders and
// stores it with today's snapshot, in the caller's transaction.
func (in *Insight) Refresh(ctx context.Context, s *models.Store, now time.Time) (RefreshResult, error) {
	rows, err := s.SegmentFacts(ctx)
	if err != nil {
		return RefreshResult{}, err
	}
	facts := make([]insight.Facts, len(rows))
	for i, r := range rows {
		facts[i] = insight.Facts{Customer: r.CustomerID, Orders: r.Orders, Spend: r.Spend, FirstOrder: r.FirstOrder, LastOrder: r.LastOrder}
	}
	segs := insight.Compute(facts, now, in.opt.Lifecycle)
	res := RefreshResult{Customers: len(segs), Stages: map[string]int{}, Values: map[string]int{}, Rates: insight.ComputeRates(facts, segs)}
	stored := make([]models.CustomerSegment, len(segs))
	for i, g := range segs {
		r := rows[i]
		stored[i] = models.CustomerSegment{CustomerID: g.Customer, Recency: g.R, Frequency: g.F, Monetary: g.M,
			Value: g.Value, Stage: g.Stage, Orders: r.Orders, Spend: r.Spend, Tier: r.Tier, ComputedAt: now.UTC()}
		if r.Orders > 0 {
			first, last := r.FirstOrder.UTC(), r.LastOrder.UTC()
			stored[i].FirstOrder, stored[i].LastOrder = &first, &last
		}
		res.Stages[g.Stage]++
		res.Values[g.Value]++
	}
	if err := s.SaveSegments(ctx, stored, now.In(in.loc).Format(time.DateOnly)); err != nil {
		return RefreshResult{}, err
	}
	return res, nil
}

// StartJobs schedules the next nightly refresh and the next occurrence of
// every calendar campaign (idempotent). kefu run calls it at start; the
// nightly job calls it again.
func (in *Insight) StartJobs(ctx context.Context, s *models.Store) error {
	now := s.Now()
	next := nextMidnight(now, in.loc).Add(15 * time.Minute) // after the loyalty review's tier changes
	if err := scheduleJSON(ctx, s, jobInsightNightly, next.Format(time.DateOnly), next, struct{}{}); err != nil {
		return fmt.Errorf("schedule insight: %w", err)
	}
	for _, d := range in.Campaigns() {
		at, occ, ok := d.Next(now, in.loc)
		if !ok {
			continue
		}
		p := campaignRunJob{Campaign: d.Name, Occurrence: occ}
		if err := scheduleJSON(ctx, s, jobCampaignRun, d.Name+":"+occ, at, p); err != nil {
			return fmt.Errorf("schedule campaign %s: %w", d.Name, err)
		}
	}
	return nil
}

type campaignRunJob struct {
	Campaign   string `json:"campaign"`
	Occurrence string `json:"occurrence"`
}

type campaignSendJob struct {
	Campaign   string        `json:"campaign"`
	Occurrence string        `json:"occurrence"` // the period, or the order ref of a triggered send
	Customer   uint64        `json:"customer"`
	Order      string        `json:"order,omitempty"`
	Offset     time.Duration `json:"offset,omitempty"` // place in the throttled sequence
	Tries      int           `json:"tries,omitempty"`
}

func (p campaignSendJob) key() string {
	return fmt.Sprintf("%s:%s:%d", p.Campaign, p.Occurrence, p.Customer)
}

// Recipient is one customer a campaign would write to, and what.
type Recipient struct {
	Customer uint64 `json:"customer"`
	Ref      string `json:"ref,omitempty"` // the shop's customer reference
	Name     string `json:"name,omitempty"`
	Lang     string `json:"lang"`
	Channel  string `json:"channel"`
	Message  string `json:"message"`
}

// Skip is a customer of the campaign's reach left out, and why.
type Skip struct {
	Customer uint64 `json:"customer"`
	Reason   string `json:"reason"`
}

// Plan is who a campaign occurrence would reach now.
type Plan struct {
	Campaign   string      `json:"campaign"`
	Occurrence string      `json:"occurrence"`
	Recipients []Recipient `json:"recipients"`
	Skipped    []Skip      `json:"skipped"`
}

// Texts translates catalogue texts; *bot.Catalog is one.
type Texts interface {
	T(lang, id string, data map[string]any) string
}

// Plan lists who the campaign would write to at now and the rendered
// message each would get (a coupon shows as its reward code and
// "-XXXXXXXX"; a triggered campaign's order as "ORDER"), and who is left
// out and why. It writes nothing.
func (in *Insight) Plan(ctx context.Context, s *models.Store, texts Texts, name string, now time.Time) (Plan, error) {
	d, ok := in.defs[name]
	if !ok {
		return Plan{}, in.unknown(name)
	}
	p := Plan{Campaign: name, Occurrence: d.Occurrence(now, in.loc), Recipients: []Recipient{}, Skipped: []Skip{}}
	members, err := in.audience(ctx, s, 0, now)
	if err != nil {
		return Plan{}, err
	}
	tier := func(lang, t string) string { return t }
	if in.opt.Points != nil {
		tier = in.opt.Points.tierLabel
	}
	for i := range members {
		m := &members[i]
		c, conv := &m.Customer, &m.Conversation
		if reason := in.judge(d, m, now); reason != "" {
			p.Skipped = append(p.Skipped, Skip{Customer: c.ID, Reason: reason})
			continue
		}
		lang := customerLang(c)
		coupon := ""
		if d.Reward != "" {
			coupon = d.Reward + "-XXXXXXXX"
		}
		order := ""
		if d.Triggered() {
			order = "ORDER"
		}
		msg, err := in.render(d, c, lang, coupon, order, tier, func(l string) string { return texts.T(l, "campaign.footer", nil) })
		if err != nil {
			return Plan{}, err
		}
		r := Recipient{Customer: c.ID, Name: c.Name, Lang: lang, Channel: conv.Channel, Message: msg}
		if c.Ref != nil {
			r.Ref = *c.Ref
		}
		p.Recipients = append(p.Recipients, r)
	}
	return p, nil
}

// CampaignRun is a campaign occurrence whose sends were scheduled.
type CampaignRun struct {
	Campaign   string    `json:"campaign"`
	Occurrence string    `json:"occurrence"`
	Customers  int       `json:"customers"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
}

// Run schedules the occurrence of the calendar campaign that now falls in
// for everyone it would reach, spaced by the campaign rate from now. Each
// send is a job keyed by campaign, occurrence and customer, and checks
// consent, the cap and quiet hours again when it runs: running the same
// occurrence twice (by hand, or by hand and on schedule) sends once.
func (in *Insight) Run(ctx context.Context, s *models.Store, name string, now time.Time) (CampaignRun, error) {
	d, ok := in.defs[name]
	if !ok {
		return CampaignRun{}, in.unknown(name)
	}
	if d.Triggered() {
		return CampaignRun{}, fmt.Errorf("campaign %s follows %s and cannot be run by hand", name, d.Schedule.Trigger)
	}
	return in.run(ctx, s, d, d.Occurrence(now, in.loc), now)
}

func (in *Insight) run(ctx context.Context, s *models.Store, d *campaign.Definition, occ string, now time.Time) (CampaignRun, error) {
	members, err := in.audience(ctx, s, 0, now)
	if err != nil {
		return CampaignRun{}, err
	}
	r := CampaignRun{Campaign: d.Name, Occurrence: occ, First: now, Last: now}
	gap := time.Minute / time.Duration(in.opt.CampaignRate)
	for i := range members {
		if in.judge(d, &members[i], now) != "" {
			continue
		}
		at := now.Add(time.Duration(r.Customers) * gap)
		p := campaignSendJob{Campaign: d.Name, Occurrence: occ, Customer: members[i].Customer.ID, Offset: at.Sub(now)}
		if err := scheduleJSON(ctx, s, jobCampaignSend, p.key(), at, p); err != nil {
			return CampaignRun{}, err
		}
		r.Customers++
		r.Last = at
	}
	return r, nil
}

func (in *Insight) unknown(name string) error {
	return fmt.Errorf("no campaign %q (have %v)", name, sortedKeys(in.defs))
}

// CampaignHook schedules the campaigns triggered by a delivered order,
// keyed by the order: a second delivery of the same order sends nothing
// new. Pass it in Deps.OrderHooks.
func CampaignHook(in *Insight) OrderHook {
	return func(ctx context.Context, s *models.Store, o *models.Order, ev *models.OrderEvent) error {
		if ev == nil || ev.To != models.OrderDelivered {
			return nil
		}
		for _, d := range in.Campaigns() {
			if d.Schedule.Trigger != campaign.TriggerOrderDelivered {
				continue
			}
			// An import of old orders must not send tips about deliveries
			// long past: orders placed more than 60 days ago, or sends
			// more than a day late, are left alone.
			now := s.Now()
			if now.Sub(o.PlacedAt) > 60*24*time.Hour || now.Sub(ev.At.Add(d.Delay())) > 24*time.Hour {
				continue
			}
			p := campaignSendJob{Campaign: d.Name, Occurrence: o.Ref, Customer: o.CustomerID, Order: o.Ref}
			if err := scheduleJSON(ctx, s, jobCampaignSend, p.key(), ev.At.Add(d.Delay()), p); err != nil {
				return fmt.Errorf("campaign %s for order %s: %w", d.Name, o.Ref, err)
			}
		}
		return nil
	}
}

// audience loads the customers a campaign could reach (only one when
// only is not 0), with what judge needs.
func (in *Insight) audience(ctx context.Context, s *models.Store, only uint64, now time.Time) ([]models.AudienceMember, error) {
	since := now.Add(time.Nanosecond) // no cap: no send counts
	if in.opt.FrequencyCap > 0 {
		since = now.Add(-in.opt.FrequencyCap)
	}
	return s.CampaignAudience(ctx, only, since)
}

// judge decides whether the campaign may write to the customer now: ""
// or the reason they are left out. Consent never given passes: the send
// asks first (proactiveConsent) and waits for the answer.
func (in *Insight) judge(d *campaign.Definition, m *models.AudienceMember, now time.Time) string {
	c := &m.Customer
	switch {
	case m.OptedOut:
		return "opted out"
	case m.Consent == models.ConsentNo:
		return "no consent"
	case !m.Reachable:
		return "unreachable"
	}
	f := d.Filter
	if f.Language != "" && customerLang(c) != f.Language {
		return "language"
	}
	if len(f.Tiers) > 0 && !containsFold(f.Tiers, c.Tier) {
		return "tier"
	}
	local := now.In(in.loc)
	if f.Birthday && c.BirthMonth != int(local.Month()) {
		return "not their birthday month"
	}
	if len(f.Stages) > 0 || len(f.Values) > 0 || f.TierAnniversary {
		g := m.Segment
		if g == nil {
			return "no segment yet"
		}
		if len(f.Stages) > 0 && !containsFold(f.Stages, g.Stage) {
			return "stage " + g.Stage
		}
		if len(f.Values) > 0 && !containsFold(f.Values, g.Value) {
			return "value " + g.Value
		}
		if f.TierAnniversary {
			if g.TierSince == nil || c.Tier == "" || g.Tier != c.Tier {
				return "no tier anniversary"
			}
			since := g.TierSince.In(in.loc)
			if since.Month() != local.Month() || since.Day() != local.Day() || since.Year() >= local.Year() {
				return "no tier anniversary"
			}
		}
	}
	if !m.LastCampaign.IsZero() {
		return "frequency cap"
	}
	return ""
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// render is the campaign's message for the customer, with the opt-out
// footer.
func (in *Insight) render(d *campaign.Definition, c *models.Customer, lang, coupon, order string,
	tier func(lang, name string) string, footer func(lang string) string) (string, error) {
	name := c.Name
	if name == "" {
		name = map[string]string{"zh": "您好", "en": "there"}[lang]
	}
	text, err := d.Render(lang, campaign.Fields{Name: name, Tier: tier(lang, c.Tier), Points: c.PointsBalance,
		Coupon: coupon, Shop: in.opt.Shop, Order: order})
	if err != nil {
		return "", err
	}
	return text + "\n\n" + footer(lang), nil
}

// --- Jobs ---

func (h *handlers) runInsightNightly(ctx context.Context, j *bot.Job) error {
	s, in := j.Store(), h.insight
	res, err := in.Refresh(ctx, s, j.Now)
	if err != nil {
		return err
	}
	n, err := s.TrackCampaignOutcomes(ctx, in.opt.OutcomeWindow, j.Now)
	if err != nil {
		return err
	}
	j.Log.Info("segments refreshed", "customers", res.Customers, "sends_tracked", n)
	return in.StartJobs(ctx, s)
}

func (h *handlers) runCampaign(ctx context.Context, j *bot.Job) error {
	var p campaignRunJob
	if err := json.Unmarshal([]byte(j.Row.Payload), &p); err != nil {
		return fmt.Errorf("campaign run payload: %w", err)
	}
	s, in := j.Store(), h.insight
	d, ok := in.defs[p.Campaign]
	if !ok {
		j.Log.Warn("campaign removed since it was scheduled", "campaign", p.Campaign)
		return nil
	}
	r, err := in.run(ctx, s, d, p.Occurrence, j.Now)
	if err != nil {
		return err
	}
	j.Log.Info("campaign started", "campaign", r.Campaign, "occurrence", r.Occurrence, "customers", r.Customers)
	return in.StartJobs(ctx, s)
}

func (h *handlers) runCampaignSend(ctx context.Context, j *bot.Job) error {
	var p campaignSendJob
	if err := json.Unmarshal([]byte(j.Row.Payload), &p); err != nil {
		return fmt.Errorf("campaign send payload: %w", err)
	}
	s, in, now := j.Store(), h.insight, j.Now.UTC()
	log := j.Log.With("customer", p.Customer, "campaign", p.Campaign, "occurrence", p.Occurrence)
	skip := func(reason string) error {
		log.Info("campaign message not sent", "reason", reason)
		j.Count("campaign.skipped")
		return nil
	}
	d, ok := in.defs[p.Campaign]
	if !ok {
		return skip("no such campaign")
	}
	members, err := in.audience(ctx, s, p.Customer, now)
	if err != nil {
		return err
	}
	if len(members) == 0 {
		return skip("never chatted")
	}
	m := &members[0]
	if reason := in.judge(d, m, now); reason != "" {
		return skip(reason)
	}
	cust, conv := &m.Customer, &m.Conversation
	// Later: quiet hours, or the customer is busy with a person or a flow.
	later := time.Time{}
	if end, quiet := in.opt.Quiet.Until(now, in.loc); quiet {
		later = end.Add(p.Offset)
	} else if conv.Mode == models.ModeHandoff || conv.Flow != "" {
		if p.Tries >= campaignMaxPostpone {
			return skip("customer busy")
		}
		later = now.Add(campaignPostpone)
	}
	if !later.IsZero() {
		p.Tries++
		return scheduleJSON(ctx, s, jobCampaignSend, p.key()+":"+strconv.Itoa(p.Tries), later, p)
	}
	lang := customerLang(cust)
	switch v, err := h.proactiveConsent(ctx, j, p.Customer, conv, lang); {
	case err != nil:
		return err
	case v == consentNo:
		return skip("no consent")
	case v == consentWait:
		if p.Tries >= campaignMaxPostpone {
			return skip("consent question unanswered")
		}
		p.Tries++
		return scheduleJSON(ctx, s, jobCampaignSend, consentHold(p.Customer, p.key(), p.Tries), now.Add(consentRecheck), p)
	}
	send := &models.CampaignSend{Key: p.key(), Campaign: p.Campaign, Occurrence: p.Occurrence, CustomerID: p.Customer,
		Channel: conv.Channel, Lang: lang, SentAt: now}
	if d.Reward != "" {
		red, err := s.IssueCoupon(ctx, p.Customer, d.Reward, "campaign:"+p.key())
		if errors.Is(err, models.ErrNotFound) {
			log.Warn("campaign reward missing from the catalogue", "reward", d.Reward)
			return skip("reward missing")
		}
		if err != nil {
			return err
		}
		send.Coupon = red.Coupon
	}
	created, err := s.CreateCampaignSend(ctx, send)
	if err != nil {
		return err
	}
	if !created {
		return skip("sent before")
	}
	text, err := in.render(d, cust, lang, send.Coupon, p.Order, h.points.tierLabel,
		func(l string) string { return j.TLang(l, "campaign.footer") })
	if err != nil {
		return err
	}
	j.SendTo(conv, text, bot.Kind("campaign"))
	log.Info("campaign message sent", "send", send.ID)
	j.Count("campaign.sent")
	return nil
}

// --- Chat ---

// noMarketing records that the customer wants no more care campaigns;
// support, order and survey messages are separate topics.
func (h *handlers) noMarketing(ctx context.Context, c *bot.Context) error {
	return h.setMarketing(ctx, c, true)
}

func (h *handlers) yesMarketing(ctx context.Context, c *bot.Context) error {
	return h.setMarketing(ctx, c, false)
}

func (h *handlers) setMarketing(ctx context.Context, c *bot.Context, out bool) error {
	if c.Customer == nil {
		return nil
	}
	if err := c.Store().SetOptOut(ctx, c.Customer.ID, models.TopicMarketing, out); err != nil {
		return err
	}
	if out {
		c.Log.Info("marketing opt-out", "customer", c.Customer.ID)
		c.Reply(c.T("campaign.optout_done"))
		return nil
	}
	c.Reply(c.T("campaign.optin_done"))
	return nil
}

// segmentLine is the staff desk's line about a customer's segment; ""
// before the first refresh.
func segmentLine(ctx context.Context, c *bot.Context, customerID uint64) (string, error) {
	g, err := c.Store().CustomerSegment(ctx, customerID)
	if errors.Is(err, models.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return c.T("staff.customer_segment", "Value", c.T("segment.value."+g.Value), "Stage", c.T("segment.stage."+g.Stage),
		"RFM", fmt.Sprintf("%d%d%d", g.Recency, g.Frequency, g.Monetary), "Orders", g.Orders), nil
}

// highValue reports whether the last refresh put the customer in the
// top 20% by spend, for ticket priority.
func highValue(ctx context.Context, s *models.Store, customerID uint64) (bool, error) {
	g, err := s.CustomerSegment(ctx, customerID)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return g.Value == insight.ValueHigh, nil
}

// birthday is /birthday MONTH: the customer tells their birth month (for
// the birthday bonus and greetings); without a month it says how.
func (h *handlers) birthday(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	arg := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(c.Args), "月"))
	if arg == "" {
		c.Say("birthday.ask")
		return nil
	}
	m, err := strconv.Atoi(arg)
	if err != nil || m < 1 || m > 12 {
		return &bot.UserError{Key: "birthday.bad"}
	}
	if err := c.Store().SetBirthMonth(ctx, c.Customer.ID, m); err != nil {
		return err
	}
	c.Customer.BirthMonth = m
	c.Reply(c.T("birthday.saved", "Month", c.T(fmt.Sprintf("month.%d", m))))
	return nil
}
