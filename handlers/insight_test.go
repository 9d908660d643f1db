package handlers_test

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/handlers/campaign"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// insightShop is a test shop for segments and campaigns: customers chat
// on the console channel and buy through the order import.
type insightShop struct {
	t     *testing.T
	ctx   context.Context
	e     *bot.Engine
	db    *models.DB
	in    *handlers.Insight
	clock *time.Time
	out   []*models.Message
	logs  *syncBuffer
	seq   int
}

func newInsightShop(t *testing.T, clock *time.Time, opt handlers.InsightOptions, dsn string) *insightShop {
	t.Helper()
	sh := &insightShop{t: t, ctx: context.Background(), clock: clock, logs: &syncBuffer{}}
	opt.Shop = "Demo Shop"
	sh.in = handlers.NewInsight(opt, time.UTC)
	sh.e, sh.db = newEngine(t, setup{Now: func() time.Time { return *clock }, DSN: dsn,
		Log:    slog.New(slog.NewTextHandler(sh.logs, nil)),
		Deps:   handlers.Deps{Insight: sh.in, OrderHooks: []handlers.OrderHook{handlers.CampaignHook(sh.in)}},
		Notify: func(rows []*models.Message) { sh.out = append(sh.out, rows...) }})
	return sh
}

func (sh *insightShop) chat(name, text string) {
	sh.t.Helper()
	sh.seq++
	in := bot.Inbound{Channel: "console", ChatID: "customer:" + name, UserID: name, UserName: name,
		MessageID: fmt.Sprintf("%s-%d-%d", name, sh.seq, sh.clock.UnixNano()), Text: text}
	if _, err := sh.e.Handle(sh.ctx, in); err != nil {
		sh.t.Fatal(err)
	}
}

// agree records that the customers said yes to proactive messages.
func (sh *insightShop) agree(names ...string) {
	sh.t.Helper()
	for _, n := range names {
		id := sh.customer(n)
		sh.write(func(s *models.Store) error { return s.SetConsent(sh.ctx, id, models.ConsentYes, "button") })
	}
}

func (sh *insightShop) write(f func(s *models.Store) error) {
	sh.t.Helper()
	if err := sh.db.Write(sh.ctx, f); err != nil {
		sh.t.Fatal(err)
	}
}

// buy imports paid orders (total, placed days ago) for a chatting
// customer and links the chat to the shop's customer record.
func (sh *insightShop) buy(name string, orders ...[2]int64) uint64 {
	sh.t.Helper()
	var id uint64
	sh.write(func(s *models.Store) error {
		var in []models.OrderInput
		for i, o := range orders {
			in = append(in, models.OrderInput{Ref: fmt.Sprintf("%s-%d-%d", name, sh.seq, i), CustomerRef: "ref-" + name, Name: name,
				Status: models.OrderDelivered, Total: o[0], Currency: "CNY", PlacedAt: sh.clock.AddDate(0, 0, -int(o[1]))})
		}
		sh.seq++
		if _, err := s.UpsertOrders(sh.ctx, in, "import"); err != nil {
			return err
		}
		c, err := s.CustomerByRef(sh.ctx, "ref-"+name)
		if err != nil {
			return err
		}
		id = c.ID
		_, ident, _, err := s.ResolveIdentity(sh.ctx, models.Contact{Channel: "console", ExternalID: name, Name: name})
		if err != nil {
			return err
		}
		_, err = s.AttachVerifiedIdentity(sh.ctx, ident.ID, c.ID)
		return err
	})
	return id
}

func (sh *insightShop) customer(name string) uint64 {
	sh.t.Helper()
	var id uint64
	sh.write(func(s *models.Store) error {
		c, _, _, err := s.ResolveIdentity(sh.ctx, models.Contact{Channel: "console", ExternalID: name, Name: name})
		id = c.ID
		return err
	})
	return id
}

func (sh *insightShop) refresh() handlers.RefreshResult {
	sh.t.Helper()
	var r handlers.RefreshResult
	sh.write(func(s *models.Store) (err error) { r, err = sh.in.Refresh(sh.ctx, s, *sh.clock); return err })
	return r
}

func (sh *insightShop) runJobs() {
	sh.t.Helper()
	if _, err := sh.e.RunDueJobs(sh.ctx, 1000); err != nil {
		sh.t.Fatal(err)
	}
}

// campaignTexts returns "chat: text" of the campaign messages sent since
// the last call.
func (sh *insightShop) campaignTexts() []string {
	var got []string
	for _, m := range sh.out {
		if m.Payload.Kind == "campaign" {
			got = append(got, strings.TrimPrefix(m.ChatID, "customer:")+": "+m.Text)
		}
	}
	sh.out = nil
	return got
}

func mustCampaign(t *testing.T, yaml string) *campaign.Definition {
	t.Helper()
	d, err := campaign.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestSegmentRefresh stores the hand-computed segments of
// handlers/insight's RFM case, shows them on the desk and lets a
// high-value customer's ticket carry the value signal.
func TestSegmentRefresh(t *testing.T) {
	clock := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	sh := newInsightShop(t, &clock, handlers.InsightOptions{}, "")
	buyers := []struct {
		name   string
		orders [][2]int64 // total, days ago
	}{
		{"u1", [][2]int64{{100, 300}}},
		{"u2", [][2]int64{{300, 200}, {300, 50}, {300, 5}}},
		{"u3", [][2]int64{{200, 120}, {200, 100}}},
		{"u4", [][2]int64{{500, 400}, {300, 300}, {300, 200}, {300, 100}, {300, 50}, {300, 20}}},
		{"u5", [][2]int64{{50, 10}}},
	}
	ids := map[string]uint64{}
	for _, b := range buyers {
		sh.chat(b.name, "hello")
		ids[b.name] = sh.buy(b.name, b.orders...)
	}
	sh.chat("u6", "hello")
	ids["u6"] = sh.customer("u6")
	// A cancelled order counts for nothing.
	sh.write(func(s *models.Store) error {
		_, err := s.UpsertOrders(sh.ctx, []models.OrderInput{{Ref: "X-1", CustomerRef: "ref-u1", Status: models.OrderCancelled,
			Total: 99999, PlacedAt: clock.AddDate(0, 0, -1)}}, "import")
		return err
	})
	r := sh.refresh()
	if r.Customers != 6 || r.Rates.Buyers != 5 || r.Rates.Repeat != 0.6 || r.Rates.Churn != 0.2 {
		t.Errorf("refresh = %+v; want 6 customers, 5 buyers, repeat 0.6, churn 0.2", r)
	}
	want := map[string]string{"u1": "112 ordinary churned", "u2": "544 ordinary active", "u3": "233 ordinary at_risk",
		"u4": "355 high active", "u5": "411 ordinary new", "u6": "000 potential potential"}
	for name, w := range want {
		g, err := sh.db.Read().CustomerSegment(sh.ctx, ids[name])
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%d%d%d %s %s", g.Recency, g.Frequency, g.Monetary, g.Value, g.Stage)
		if got != w {
			t.Errorf("%s: segment %s; want %s", name, got, w)
		}
	}
	// Today's snapshot holds the counts.
	day, counts, err := sh.db.Read().Snapshot(sh.ctx, "2026-11-23")
	if err != nil || day != "2026-11-23" || counts["stage/active"] != 2 || counts["value/high"] != 1 {
		t.Errorf("snapshot = %s %v, %v; want today's with 2 active, 1 high", day, counts, err)
	}

	// The high-value customer's request for a person is graded with the
	// value signal; an ordinary one's is not.
	for _, name := range []string{"u4", "u2"} {
		sh.chat(name, "/human")
	}
	ts, err := sh.db.Read().TicketsSince(sh.ctx, time.Time{})
	if err != nil || len(ts) != 2 {
		t.Fatalf("tickets = %d, %v; want 2", len(ts), err)
	}
	for _, tk := range ts {
		high := slices.Contains(tk.Signals, "value:high_value")
		if wantHigh := tk.CustomerID == ids["u4"]; high != wantHigh {
			t.Errorf("ticket of customer %d signals %v; want value:high_value %v", tk.CustomerID, tk.Signals, wantHigh)
		}
	}
	// The desk's customer summary shows the segment.
	sh.out = nil
	var ref string
	for _, tk := range ts {
		if tk.CustomerID == ids["u4"] {
			ref = tk.Ref()
		}
	}
	sh.seq++
	if _, err := sh.e.Handle(sh.ctx, bot.Inbound{Channel: "console", ChatID: "staff", UserID: "mei", UserName: "mei",
		MessageID: "desk", Text: "/customer " + ref, Staff: true, Room: true}); err != nil {
		t.Fatal(err)
	}
	var desk string
	for _, m := range sh.out {
		desk += m.Text
	}
	if !strings.Contains(desk, "📊 high value · active · RFM 355 · 6 paid order(s)") {
		t.Errorf("desk summary lacks the segment:\n%s", desk)
	}
}

// TestCampaignSelection: consent (marketing opt-out), unreachable
// identities, the segment filter and the frequency cap decide who gets a
// campaign; the dry-run plan says who and why not.
func TestCampaignSelection(t *testing.T) {
	clock := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	hello := mustCampaign(t, "name: hello\nschedule: {daily: \"09:00\"}\nmessage: {en: \"Hi {{.Name}}\", zh: \"{{.Name}}你好\"}\n")
	winBack := mustCampaign(t, "name: win-back\nsegment: {stage: [churned]}\nschedule: {monthly: \"1 09:00\"}\nreward: CNY10\n"+
		"message: {en: \"We miss you {{.Name}}: {{.Coupon}}\", zh: \"{{.Name}}，想念您：{{.Coupon}}\"}\n")
	sh := newInsightShop(t, &clock, handlers.InsightOptions{Campaigns: []*campaign.Definition{hello, winBack}, CampaignRate: 600}, "")
	sh.write(func(s *models.Store) error {
		return s.CreateReward(sh.ctx, &models.Reward{Code: "CNY10", NameEN: "10 off", NameZH: "10元券", Cost: 500, Kind: models.RewardCoupon, Stock: -1, Active: true})
	})
	for _, n := range []string{"ann", "bob", "cat", "dan"} {
		sh.chat(n, "hello")
	}
	sh.chat("eve", "你好")
	sh.chat("fay", "hello")
	sh.buy("ann", [2]int64{1000, 10})
	for _, n := range []string{"bob", "cat", "dan", "eve"} {
		sh.buy(n, [2]int64{500, 200})
	}
	sh.agree("ann", "bob", "cat", "dan", "eve", "fay")
	sh.chat("cat", "/nomarketing")
	sh.write(func(s *models.Store) error { return s.MarkUnreachable(sh.ctx, "console", "dan") })
	sh.refresh()
	sh.runJobs()
	sh.out = nil

	names := map[uint64]string{}
	for _, n := range []string{"ann", "bob", "cat", "dan", "eve", "fay"} {
		names[sh.customer(n)] = n
	}
	plan := func(name string) (got []string) {
		t.Helper()
		p, err := sh.in.Plan(sh.ctx, sh.db.Read(), catalog(t), name, clock)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Recipients {
			got = append(got, fmt.Sprintf("%s %s: %s", names[r.Customer], r.Lang, strings.Split(r.Message, "\n")[0]))
		}
		for _, s := range p.Skipped {
			got = append(got, fmt.Sprintf("%s skipped: %s", names[s.Customer], s.Reason))
		}
		slices.Sort(got)
		return got
	}
	got := plan("win-back")
	want := []string{"ann skipped: stage new", "bob en: We miss you bob: CNY10-XXXXXXXX", "cat skipped: opted out",
		"dan skipped: unreachable", "eve zh: eve，想念您：CNY10-XXXXXXXX", "fay skipped: stage potential"}
	if !slices.Equal(got, want) {
		t.Errorf("win-back plan:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// hello goes to everyone reachable who did not opt out...
	run := func(name string) {
		t.Helper()
		sh.write(func(s *models.Store) error { _, err := sh.in.Run(sh.ctx, s, name, clock); return err })
		clock = clock.Add(time.Minute)
		sh.runJobs()
	}
	run("hello")
	got = sh.campaignTexts()
	slices.Sort(got)
	if len(got) != 4 || !strings.HasPrefix(got[0], "ann: Hi ann\n\n(Send /nomarketing") || !strings.HasPrefix(got[3], "fay: Hi fay") {
		t.Errorf("hello went to:\n%s\nwant ann, bob, eve, fay with the opt-out footer", strings.Join(got, "\n"))
	}
	// ...and then the frequency cap holds win-back back for 7 days.
	run("win-back")
	if got := sh.campaignTexts(); len(got) != 0 {
		t.Errorf("win-back within the cap went to %v; want nobody", got)
	}
	if got := plan("win-back"); !slices.Contains(got, "bob skipped: frequency cap") {
		t.Errorf("plan within the cap: %v; want bob skipped for the cap", got)
	}
	clock = clock.Add(7 * 24 * time.Hour)
	run("win-back")
	got = sh.campaignTexts()
	slices.Sort(got)
	if len(got) != 2 || !couponCode.MatchString(got[0]) || !strings.HasPrefix(got[0], "bob: We miss you bob: CNY10-") ||
		!strings.HasPrefix(got[1], "eve: eve，想念您：CNY10-") || !strings.Contains(got[1], "发送 /nomarketing") {
		t.Errorf("win-back after the cap went to:\n%s\nwant bob (EN) and eve (ZH) with coupons", strings.Join(got, "\n"))
	}
	if _, err := sh.in.Run(sh.ctx, sh.db.Read(), "nope", clock); err == nil {
		t.Error("Run(nope) = nil error; want no such campaign")
	}
	// cat withdraws the opt-out and is reachable again.
	sh.chat("cat", "/marketing")
	if got := plan("hello"); !slices.Contains(got, "cat en: Hi cat") {
		t.Errorf("after /marketing: %v; want cat in hello", got)
	}
}

// TestCampaignExactlyOnceAcrossRestart: the sends of one occurrence are
// jobs keyed by campaign, occurrence and customer, and each send records
// itself in the transaction that queues the message: a second process on
// the same database, or the same run again, sends and issues coupons
// once.
func TestCampaignExactlyOnceAcrossRestart(t *testing.T) {
	clock := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	dsn := modelstest.DSN(t)
	winBack := mustCampaign(t, "name: win-back\nsegment: {stage: [churned]}\nschedule: {monthly: \"1 09:00\"}\nreward: CNY10\n"+
		"message: {en: \"We miss you {{.Name}}: {{.Coupon}}\", zh: \"{{.Name}}：{{.Coupon}}\"}\n")
	// No frequency cap: only the send keys keep the second run from
	// sending again.
	opt := handlers.InsightOptions{Campaigns: []*campaign.Definition{winBack}, CampaignRate: 1, FrequencyCap: -1}
	first := newInsightShop(t, &clock, opt, dsn)
	first.write(func(s *models.Store) error {
		return s.CreateReward(first.ctx, &models.Reward{Code: "CNY10", NameEN: "10 off", NameZH: "10元券", Cost: 500, Kind: models.RewardCoupon, Stock: -1, Active: true})
	})
	for _, n := range []string{"ann", "bob", "cat"} {
		first.chat(n, "hello")
		first.buy(n, [2]int64{500, 365})
		first.agree(n)
	}
	first.refresh()
	first.runJobs()
	first.out = nil
	first.write(func(s *models.Store) error { _, err := first.in.Run(first.ctx, s, "win-back", clock); return err })
	first.runJobs() // one a minute: only ann's is due
	sent := first.campaignTexts()
	if len(sent) != 1 {
		t.Fatalf("first process sent %v; want ann's only", sent)
	}
	// A second process on the same database runs the campaign again and
	// works through the jobs; the first one keeps running too.
	second := newInsightShop(t, &clock, opt, dsn)
	second.write(func(s *models.Store) error { _, err := second.in.Run(second.ctx, s, "win-back", clock); return err })
	for i := 0; i < 4; i++ {
		clock = clock.Add(time.Minute)
		second.runJobs()
		first.runJobs()
	}
	sent = append(sent, first.campaignTexts()...)
	sent = append(sent, second.campaignTexts()...)
	if len(sent) != 3 {
		t.Errorf("sent %d messages:\n%s\nwant 3, one per customer", len(sent), strings.Join(sent, "\n"))
	}
	sends, err := second.db.Read().CampaignSends(second.ctx, "win-back", time.Time{})
	if err != nil || len(sends) != 3 {
		t.Fatalf("campaign sends = %d, %v; want 3", len(sends), err)
	}
	for _, c := range sends {
		reds, err := second.db.Read().Redemptions(second.ctx, c.CustomerID)
		if err != nil || len(reds) != 1 || reds[0].Coupon != c.Coupon {
			t.Errorf("customer %d: redemptions %+v, %v; want the one coupon %s", c.CustomerID, reds, err, c.Coupon)
		}
	}
}

// TestCampaignQuietHoursAndOutcomes: a send falling in quiet hours waits
// for their end; a reply and an order within the window become the send's
// outcome, a redemption outside it does not.
func TestCampaignQuietHoursAndOutcomes(t *testing.T) {
	clock := time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)
	hello := mustCampaign(t, "name: hello\nschedule: {daily: \"09:00\"}\nmessage: {en: \"Hi {{.Name}}\", zh: \"{{.Name}}你好\"}\n")
	quiet, err := handlers.ParseQuietHours("22:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	sh := newInsightShop(t, &clock, handlers.InsightOptions{Campaigns: []*campaign.Definition{hello}, Quiet: quiet,
		OutcomeWindow: 3 * 24 * time.Hour}, "")
	sh.chat("ann", "hello")
	sh.chat("bob", "hello")
	sh.buy("ann", [2]int64{500, 100})
	sh.agree("ann", "bob")
	ids := map[uint64]string{sh.customer("ann"): "ann", sh.customer("bob"): "bob"}
	sh.runJobs()
	sh.out = nil
	sh.write(func(s *models.Store) error { _, err := sh.in.Run(sh.ctx, s, "hello", clock); return err })
	sh.runJobs()
	if got := sh.campaignTexts(); len(got) != 0 {
		t.Fatalf("sent during quiet hours: %v", got)
	}
	clock = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	sh.runJobs()
	clock = clock.Add(time.Minute)
	sh.runJobs()
	if got := sh.campaignTexts(); len(got) != 2 {
		t.Fatalf("after quiet hours: %v; want ann and bob", got)
	}
	clock = clock.Add(time.Hour)
	sh.chat("ann", "thanks!")
	sh.buy("ann", [2]int64{800, 0})
	clock = clock.Add(5 * 24 * time.Hour)
	sh.chat("bob", "late reply")
	sh.write(func(s *models.Store) error {
		_, err := s.TrackCampaignOutcomes(sh.ctx, 3*24*time.Hour, clock)
		return err
	})
	sends, err := sh.db.Read().CampaignSends(sh.ctx, "hello", time.Time{})
	if err != nil || len(sends) != 2 {
		t.Fatalf("sends = %v, %v", sends, err)
	}
	// Tracking looks at sends within the window only; bob's reply came
	// after it.
	for _, c := range sends {
		if !c.SentAt.Equal(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)) && !c.SentAt.Equal(time.Date(2026, 11, 24, 8, 1, 0, 0, time.UTC)) {
			t.Errorf("send %s at %s; want at the end of quiet hours", c.Key, c.SentAt)
		}
	}
	sh.write(func(s *models.Store) error {
		_, err := s.TrackCampaignOutcomes(sh.ctx, 30*24*time.Hour, clock)
		return err
	})
	sends, _ = sh.db.Read().CampaignSends(sh.ctx, "hello", time.Time{})
	ann, bob := sends[0], sends[1]
	if ids[ann.CustomerID] != "ann" {
		ann, bob = bob, ann
	}
	if ann.RepliedAt == nil || ann.OrderedAt == nil || ann.RedeemedAt != nil {
		t.Errorf("ann's outcome = replied %v ordered %v redeemed %v; want replied and ordered", ann.RepliedAt, ann.OrderedAt, ann.RedeemedAt)
	}
	if bob.RepliedAt == nil || bob.OrderedAt != nil {
		t.Errorf("bob's outcome = replied %v ordered %v; want replied within 30 days, no order", bob.RepliedAt, bob.OrderedAt)
	}
}

func catalog(t *testing.T) *bot.Catalog {
	t.Helper()
	c, err := bot.NewCatalog(handlers.Locales())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCustomerReportAndDashboard: the lifecycle flow compares now with
// the snapshot of 30 days before; the dashboard gathers tickets, surveys,
// points and segments.
func TestCustomerReportAndDashboard(t *testing.T) {
	clock := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	hello := mustCampaign(t, "name: hello\nschedule: {daily: \"09:00\"}\nmessage: {en: \"Hi {{.Name}}\", zh: \"{{.Name}}你好\"}\n")
	sh := newInsightShop(t, &clock, handlers.InsightOptions{Campaigns: []*campaign.Definition{hello}}, "")
	sh.chat("ann", "hello")
	sh.chat("bob", "hello")
	sh.buy("ann", [2]int64{1000, 10})
	sh.agree("ann", "bob")
	sh.refresh() // 2026-10-01: ann new, bob potential
	clock = clock.Add(31 * 24 * time.Hour)
	sh.buy("bob", [2]int64{300, 1}, [2]int64{200, 0})
	sh.write(func(s *models.Store) error { _, err := sh.in.Run(sh.ctx, s, "hello", clock); return err })
	sh.runJobs()
	sh.chat("ann", "/human")

	var r handlers.CustomerReport
	sh.write(func(s *models.Store) (err error) { r, err = sh.in.Report(sh.ctx, s, clock); return err })
	flow := map[string][2]int{}
	for _, f := range r.Stages {
		flow[f.Stage] = [2]int{f.Now, f.Before}
	}
	want := map[string][2]int{"potential": {0, 1}, "new": {1, 1}, "active": {1, 0}, "at_risk": {0, 0}, "churned": {0, 0}}
	if r.BeforeDay != "2026-10-01" || !reflect.DeepEqual(flow, want) {
		t.Errorf("flow (vs %s) = %v; want vs 2026-10-01 %v", r.BeforeDay, flow, want)
	}
	// ann spent 1000 of the 1500: ceil(2·20%) = 1 high-value.
	if r.Customers != 2 || r.Rates.Buyers != 2 || r.Rates.Repeat != 0.5 || r.Values[0] != (handlers.SegmentCount{Segment: "high", Count: 1}) {
		t.Errorf("report = %+v", r)
	}
	if len(r.Campaigns) != 1 || r.Campaigns[0].Sent != 1 {
		t.Errorf("campaign outcomes = %+v; want hello sent once (the second send is due 3s later)", r.Campaigns)
	}

	var d handlers.DashboardData
	sh.write(func(s *models.Store) (err error) {
		d, err = handlers.Dashboard(sh.ctx, s, handlers.Deps{Insight: sh.in}, clock)
		return err
	})
	if d.Tickets != 1 || len(d.TicketsByCategory) != 1 || d.TicketsByCategory[0].Count != 1 || len(d.Segments) != 3 ||
		len(d.Stages) != 5 || d.SurveyTrend == nil && d.Surveys.Sent != 0 || d.PointsLiability.ByTier == nil {
		t.Errorf("dashboard = %+v", d)
	}
	for _, name := range []string{handlers.ChartTickets, handlers.ChartSurveys, handlers.ChartSegments, handlers.ChartStages} {
		var b strings.Builder
		if err := d.WriteChart(&b, name); err != nil || !strings.HasPrefix(b.String(), "<svg") {
			t.Errorf("chart %s: %v\n%.200s", name, err, b.String())
		}
	}
	var b strings.Builder
	if err := d.WriteChart(&b, "stages"); err != nil || !strings.Contains(b.String(), ">active<") {
		t.Errorf("stages chart lacks the active row: %v", err)
	}
	if err := d.WriteChart(&b, "pie"); err == nil {
		t.Error("WriteChart(pie) = nil; want an error")
	}
}

// TestInsightPrivacy: /mydata shows the segment and the campaign messages;
// /forget erases the segment and the coupon code of the sends.
func TestInsightPrivacy(t *testing.T) {
	clock := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	hello := mustCampaign(t, "name: hello\nschedule: {daily: \"09:00\"}\nreward: CNY10\nmessage: {en: \"Hi {{.Name}} {{.Coupon}}\", zh: \"{{.Name}}你好 {{.Coupon}}\"}\n")
	sh := newInsightShop(t, &clock, handlers.InsightOptions{Campaigns: []*campaign.Definition{hello}}, "")
	sh.write(func(s *models.Store) error {
		return s.CreateReward(sh.ctx, &models.Reward{Code: "CNY10", NameEN: "10 off", NameZH: "10元券", Cost: 500, Kind: models.RewardCoupon, Stock: -1, Active: true})
	})
	sh.chat("ann", "hello")
	id := sh.buy("ann", [2]int64{700, 3})
	sh.agree("ann")
	sh.refresh()
	sh.write(func(s *models.Store) error { _, err := sh.in.Run(sh.ctx, s, "hello", clock); return err })
	sh.runJobs()
	sh.out = nil
	sh.chat("ann", "/mydata")
	var export string
	for _, m := range sh.out {
		for _, a := range m.Payload.Attachments {
			export += string(a.Data)
		}
	}
	if !strings.Contains(export, `"campaign_messages"`) || !strings.Contains(export, `"campaign": "hello"`) || !strings.Contains(export, `"stage": "new"`) {
		t.Errorf("export lacks the segment or campaign messages:\n%s", export)
	}
	if before, _ := sh.db.Read().CustomerCampaignSends(sh.ctx, id); len(before) != 1 || before[0].Coupon == "" {
		t.Fatalf("sends before /forget = %+v; want one with a coupon", before)
	}
	sh.chat("ann", "/forget")
	if _, err := sh.e.Handle(sh.ctx, bot.Inbound{Channel: "console", ChatID: "customer:ann", UserID: "ann", MessageID: "yes", Data: "pv:forget"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sh.db.Read().CustomerSegment(sh.ctx, id); err == nil {
		t.Error("segment kept after /forget")
	}
	sends, err := sh.db.Read().CustomerCampaignSends(sh.ctx, id)
	if err != nil || len(sends) != 1 || sends[0].Coupon != "" {
		t.Errorf("sends after /forget = %+v, %v; want one, anonymous", sends, err)
	}
}

// TestInsightSchedule: StartJobs schedules the nightly refresh and each
// calendar campaign's next occurrence; each run schedules the next one.
func TestInsightSchedule(t *testing.T) {
	clock := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	daily := mustCampaign(t, "name: daily\nschedule: {daily: \"09:00\"}\nmessage: {en: \"Morning {{.Name}}\", zh: \"{{.Name}}早上好\"}\n")
	sh := newInsightShop(t, &clock, handlers.InsightOptions{Campaigns: []*campaign.Definition{daily}, FrequencyCap: 36 * time.Hour}, "")
	sh.chat("ann", "hello")
	id := sh.buy("ann", [2]int64{700, 3})
	sh.agree("ann")
	sh.write(func(s *models.Store) error { return sh.in.StartJobs(sh.ctx, s) })
	sh.write(func(s *models.Store) error { return sh.in.StartJobs(sh.ctx, s) }) // idempotent
	sh.runJobs()
	sh.out = nil
	step := func(to time.Time) []string {
		t.Helper()
		clock = to
		sh.runJobs()
		sh.runJobs() // the sends a campaign.run job just scheduled
		return sh.campaignTexts()
	}
	if got := step(time.Date(2026, 11, 23, 8, 59, 0, 0, time.UTC)); len(got) != 0 {
		t.Fatalf("before 09:00: %v", got)
	}
	if got := step(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)); len(got) != 1 || !strings.HasPrefix(got[0], "ann: Morning ann") {
		t.Fatalf("at 09:00: %v; want ann's", got)
	}
	if _, err := sh.db.Read().CustomerSegment(sh.ctx, id); err == nil {
		t.Fatal("segment stored before the nightly run")
	}
	step(time.Date(2026, 11, 24, 0, 15, 0, 0, time.UTC))
	if g, err := sh.db.Read().CustomerSegment(sh.ctx, id); err != nil || g.Stage != "new" {
		t.Fatalf("after the nightly run: %+v, %v; want ann new", g, err)
	}
	// The next day's occurrence runs, but 24h is within the 36h cap.
	if got := step(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)); len(got) != 0 {
		t.Errorf("second day within the cap: %v", got)
	}
	if got := step(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)); len(got) != 1 {
		t.Errorf("third day, past the cap: %v; want ann's", got)
	}
	// The capped occurrence picked nobody: the cap is checked when the
	// audience is chosen and again at each send.
	if !strings.Contains(sh.logs.String(), "occurrence=2026-11-24 customers=0") {
		t.Errorf("log lacks the campaign runs:\n%s", sh.logs)
	}
}

// TestCampaignAsksConsentFirst: a customer who never answered the consent
// question gets it instead of the campaign, once; the campaign waits for
// the answer and goes out after a yes, never after a no (nor to a
// customer who sent /stop).
func TestCampaignAsksConsentFirst(t *testing.T) {
	clock := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	hello := mustCampaign(t, "name: hello\nschedule: {daily: \"09:00\"}\nmessage: {en: \"Hi {{.Name}}\", zh: \"{{.Name}}你好\"}\n")
	sh := newInsightShop(t, &clock, handlers.InsightOptions{Campaigns: []*campaign.Definition{hello}, CampaignRate: 600}, "")
	for _, n := range []string{"ann", "bob", "cat"} {
		sh.chat(n, "hello")
	}
	sh.chat("cat", "/stop")
	names := map[uint64]string{sh.customer("ann"): "ann", sh.customer("bob"): "bob", sh.customer("cat"): "cat"}
	p, err := sh.in.Plan(sh.ctx, sh.db.Read(), catalog(t), "hello", clock)
	if err != nil || len(p.Recipients) != 2 || len(p.Skipped) != 1 || names[p.Skipped[0].Customer] != "cat" || p.Skipped[0].Reason != "no consent" {
		t.Fatalf("plan = %+v, %v; want ann and bob, cat left out for no consent", p, err)
	}
	sh.out = nil
	sh.write(func(s *models.Store) error { _, err := sh.in.Run(sh.ctx, s, "hello", clock); return err })
	clock = clock.Add(time.Minute)
	sh.runJobs()
	asked := 0
	for _, m := range sh.out {
		if strings.HasPrefix(m.Text, "May we message you") {
			asked++
		}
	}
	if got := sh.campaignTexts(); len(got) != 0 || asked != 2 {
		t.Fatalf("first run: campaign %v, %d consent questions; want none and 2", got, asked)
	}
	press := func(name, data string) {
		t.Helper()
		sh.seq++
		if _, err := sh.e.Handle(sh.ctx, bot.Inbound{Channel: "console", ChatID: "customer:" + name, UserID: name,
			MessageID: fmt.Sprint("press", sh.seq), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	press("ann", "cs:yes")
	press("bob", "cs:no")
	sh.out = nil
	clock = clock.Add(10 * time.Minute)
	sh.runJobs()
	got := sh.campaignTexts()
	if len(got) != 1 || !strings.HasPrefix(got[0], "ann: Hi ann") {
		t.Errorf("after the answers: %v; want ann's only", got)
	}
	for _, m := range sh.out {
		if strings.HasPrefix(m.Text, "May we message you") {
			t.Errorf("asked again: %q", m.Text)
		}
	}
}

// TestCampaignAfterDelivery: a triggered campaign follows a delivered
// order after its delay, once per order; orders placed long ago (an
// import of history) trigger nothing.
func TestCampaignAfterDelivery(t *testing.T) {
	clock := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tips := mustCampaign(t, "name: tips\nschedule: {trigger: order.delivered, delay: 3d}\n"+
		"message: {en: \"How is {{.Order}}, {{.Name}}?\", zh: \"{{.Name}}，{{.Order}} 用得好吗？\"}\n")
	sh := newInsightShop(t, &clock, handlers.InsightOptions{Campaigns: []*campaign.Definition{tips}, FrequencyCap: -1}, "")
	sh.chat("ann", "hello")
	id := sh.buy("ann", [2]int64{500, 2}, [2]int64{300, 400}) // one recent order, one a year old
	sh.agree("ann")
	sh.runJobs()
	var recent string
	sh.write(func(s *models.Store) error { // delivered again: the same order
		os, err := s.OrdersOf(sh.ctx, []uint64{id}, 10)
		if err != nil {
			return err
		}
		o := &os[0]
		if o.Total != 500 {
			o = &os[1]
		}
		recent = o.Ref
		in := orderInput(o)
		in.Status = models.OrderShipped
		if _, err := s.UpsertOrders(sh.ctx, []models.OrderInput{in}, "import"); err != nil {
			return err
		}
		in.Status = models.OrderDelivered
		_, err = s.UpsertOrders(sh.ctx, []models.OrderInput{in}, "import")
		return err
	})
	sh.runJobs()
	sh.out = nil
	clock = clock.Add(3*24*time.Hour - time.Minute)
	sh.runJobs()
	if got := sh.campaignTexts(); len(got) != 0 {
		t.Fatalf("before the delay: %v", got)
	}
	clock = clock.Add(time.Hour)
	sh.runJobs()
	got := sh.campaignTexts()
	if len(got) != 1 || !strings.HasPrefix(got[0], "ann: How is "+recent+", ann?") {
		t.Errorf("after the delay: %v; want one message about %s", got, recent)
	}
}

// TestSurveySegmentByStage: survey campaigns (kefu survey send --segment)
// can target a lifecycle stage or value segment of the last refresh.
func TestSurveySegmentByStage(t *testing.T) {
	clock := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	sh := newInsightShop(t, &clock, handlers.InsightOptions{}, "")
	sh.chat("ann", "hello")
	sh.chat("bob", "hello")
	ann := sh.buy("ann", [2]int64{900, 300})
	bob := sh.buy("bob", [2]int64{100, 5})
	sh.refresh()
	tests := []struct {
		spec string
		want []uint64
	}{
		{"stage=churned", []uint64{ann}},
		{"stage=new", []uint64{bob}},
		{"value=high", []uint64{ann}},
		{"stage=new,value=high", nil},
		{"", []uint64{ann, bob}},
	}
	for _, tt := range tests {
		g, err := handlers.ParseSegment(tt.spec, clock)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sh.db.Read().SegmentCustomers(sh.ctx, g)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("SegmentCustomers(%q) = %v, %v; want %v", tt.spec, got, err, tt.want)
		}
	}
	for _, bad := range []string{"stage=gone", "value=vip"} {
		if _, err := handlers.ParseSegment(bad, clock); err == nil || !strings.Contains(err.Error(), "want one of") {
			t.Errorf("ParseSegment(%q) = %v; want the list of names", bad, err)
		}
	}
}
