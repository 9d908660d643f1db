package handlers_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/handlers/loyalty"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// clock is a fake clock shared by the database and the engine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// linkedCustomer imports order R1 for customer C9 and links the console
// chat "mei" to it, as a verification would.
func linkedCustomer(t *testing.T, db *models.DB) {
	t.Helper()
	ctx := context.Background()
	err := db.Write(ctx, func(s *models.Store) error {
		if _, err := s.UpsertOrders(ctx, []models.OrderInput{{Ref: "R1", CustomerRef: "C9", Phone: "13800000142",
			Status: "paid", Total: 10000, Currency: "CNY"}}, "import"); err != nil {
			return err
		}
		c, id, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: "console", ExternalID: "mei", Name: "Mei"})
		if err != nil {
			return err
		}
		if _, err := s.Conversation(ctx, "console", "customer:mei", models.KindCustomer, &c.ID); err != nil {
			return err
		}
		o, err := s.OrderByRef(ctx, "R1")
		if err != nil {
			return err
		}
		_, err = s.AttachVerifiedIdentity(ctx, id.ID, o.CustomerID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// notices counts the order notices in mei's chat.
func notices(t *testing.T, db *models.DB) int {
	t.Helper()
	ctx := context.Background()
	conv, err := db.Read().FindConversation(ctx, "console", "customer:mei")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := db.Read().Messages(ctx, conv.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if m.Direction == models.DirOut && m.Payload.Kind == "notice" && strings.Contains(m.Text, "R1") {
			n++
		}
	}
	return n
}

func runJobs(t *testing.T, e *bot.Engine) {
	t.Helper()
	if _, err := e.RunDueJobs(context.Background(), 100); err != nil {
		t.Fatal(err)
	}
}

func TestOrderNoticeExactlyOnceAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dsn := modelstest.DSN(t)
	clk := &clock{t: time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)}
	points := handlers.NewPoints(loyalty.DefaultRules(), time.UTC, "")
	deps := handlers.Deps{Points: points, OrderHooks: []handlers.OrderHook{handlers.PointsHook(points)}}
	e1, db1 := newEngine(t, setup{DSN: dsn, Now: clk.now, Deps: deps})
	linkedCustomer(t, db1)
	runJobs(t, e1) // the first sight of R1 (paid) tells nobody
	if n := notices(t, db1); n != 0 {
		t.Fatalf("notices after the first import = %d; want 0", n)
	}
	if err := setOrderStatus(ctx, db1, "R1", "shipped"); err != nil {
		t.Fatal(err)
	}
	runJobs(t, e1)
	runJobs(t, e1)
	if n := notices(t, db1); n != 1 {
		t.Fatalf("notices after shipped = %d; want 1", n)
	}
	// A change is imported, then the process dies before its job runs.
	if err := setOrderStatus(ctx, db1, "R1", "delivered"); err != nil {
		t.Fatal(err)
	}
	e2, db2 := newEngine(t, setup{DSN: dsn, Now: clk.now, Deps: deps})
	// The restarted process re-imports the same file: nothing new.
	if err := setOrderStatus(ctx, db2, "R1", "delivered"); err != nil {
		t.Fatal(err)
	}
	runJobs(t, e2)
	clk.add(time.Minute)
	runJobs(t, e2)
	runJobs(t, e1) // the old process, had it survived, finds nothing to do
	if n := notices(t, db2); n != 2 {
		t.Fatalf("notices after delivered, restart and re-import = %d; want 2", n)
	}
	// The delivered order earned points once.
	earn, err := db2.Read().PointsEntryByKey(ctx, "order:R1:earn")
	if err != nil || earn.Points != 100 {
		t.Fatalf("points for R1 = %v, %v; want 100", earn, err)
	}
	if err := setOrderStatus(ctx, db2, "R1", "refunded"); err != nil {
		t.Fatal(err)
	}
	runJobs(t, e2)
	if _, err := db2.Read().PointsEntryByKey(ctx, "order:R1:reverse"); err != nil {
		t.Fatalf("refund did not reverse the points: %v", err)
	}
}

func TestOrderNoticeWaitsForQuietHours(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 11, 23, 0, 0, 0, time.UTC)}
	q, err := handlers.ParseQuietHours("22:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	e, db := newEngine(t, setup{Now: clk.now, Deps: handlers.Deps{QuietHours: q}})
	linkedCustomer(t, db)
	if err := setOrderStatus(ctx, db, "R1", "shipped"); err != nil {
		t.Fatal(err)
	}
	runJobs(t, e)
	if n := notices(t, db); n != 0 {
		t.Fatalf("notices at 23:00 = %d; want 0 until 08:00", n)
	}
	clk.add(8*time.Hour + 59*time.Minute) // 07:59
	runJobs(t, e)
	if n := notices(t, db); n != 0 {
		t.Fatalf("notices at 07:59 = %d; want 0", n)
	}
	clk.add(time.Minute)
	runJobs(t, e)
	runJobs(t, e)
	if n := notices(t, db); n != 1 {
		t.Fatalf("notices at 08:00 = %d; want 1", n)
	}
}

func TestOrderHookErrorRetriesTheJob(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)}
	fail := true
	var calls int
	hook := func(ctx context.Context, s *models.Store, o *models.Order, ev *models.OrderEvent) error {
		calls++
		if fail {
			return errors.New("survey service down")
		}
		return nil
	}
	e, db := newEngine(t, setup{Now: clk.now, Deps: handlers.Deps{OrderHooks: []handlers.OrderHook{hook}}})
	linkedCustomer(t, db)
	runJobs(t, e)
	if err := setOrderStatus(ctx, db, "R1", "shipped"); err != nil {
		t.Fatal(err)
	}
	runJobs(t, e)
	if n := notices(t, db); n != 0 {
		t.Fatalf("notices while the hook fails = %d; want 0 (rolled back)", n)
	}
	fail = false
	clk.add(time.Hour)
	runJobs(t, e)
	if n := notices(t, db); n != 1 || calls < 3 {
		t.Fatalf("after the hook recovers: notices %d, calls %d; want 1 and >= 3", n, calls)
	}
}

func TestQuietHours(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	q, err := handlers.ParseQuietHours("22:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	day := func(h, m int) time.Time { return time.Date(2026, 11, 11, h, m, 0, 0, shanghai) }
	for _, tc := range []struct {
		at    time.Time
		quiet bool
		until time.Time
	}{
		{day(21, 59), false, time.Time{}},
		{day(22, 0), true, day(8, 0).AddDate(0, 0, 1)},
		{day(3, 0), true, day(8, 0)},
		{day(8, 0), false, time.Time{}},
		{day(14, 0).UTC(), false, time.Time{}},
	} {
		until, quiet := q.Until(tc.at, shanghai)
		if quiet != tc.quiet || !until.Equal(tc.until) {
			t.Errorf("Until(%s) = %s, %v; want %s, %v", tc.at, until, quiet, tc.until, tc.quiet)
		}
	}
	day2, _ := handlers.ParseQuietHours("12:00-14:00")
	if _, quiet := day2.Until(day(13, 0), shanghai); !quiet {
		t.Error("12:00-14:00 is not quiet at 13:00")
	}
	for _, bad := range []string{"22-08", "25:00-08:00", "08:00-08:00", "22:00–08:00"} {
		if _, err := handlers.ParseQuietHours(bad); err == nil {
			t.Errorf("ParseQuietHours(%q) succeeded", bad)
		}
	}
	if q, err := handlers.ParseQuietHours(""); err != nil || q != (handlers.QuietHours{}) {
		t.Errorf("ParseQuietHours(\"\") = %v, %v; want none", q, err)
	}
}

// TestOrderTextsComplete checks the texts whose ids are built at run time.
func TestOrderTextsComplete(t *testing.T) {
	cat, err := bot.NewCatalog(handlers.Locales())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range models.OrderStatuses {
		ids = append(ids, "order.status."+s, "order.next."+s)
	}
	for _, r := range []string{"no_reason", "defective", "wrong_item", "not_as_described", "damaged", "other"} {
		ids = append(ids, "return.reason."+r, "category.return."+r)
	}
	for _, s := range []string{models.ReturnRequested, models.ReturnApproved, models.ReturnRejected} {
		ids = append(ids, "return.state."+s)
	}
	ids = append(ids, "return.customer_approved", "return.customer_rejected")
	for _, id := range ids {
		for _, lang := range []string{bot.LangEN, bot.LangZH} {
			if !cat.Has(lang, id) {
				t.Errorf("text %q missing in %s", id, lang)
			}
		}
	}
}

func TestReturnWithPhotosAndForgedButton(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	var sent []*models.Message
	e, db := newEngine(t, setup{Now: clk.now, Notify: func(rows []*models.Message) { mu.Lock(); sent = append(sent, rows...); mu.Unlock() }})
	if err := db.Write(ctx, func(s *models.Store) error { _, err := s.SeedDemo(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	seq := 0
	say := func(text, data string, att ...models.Attachment) string {
		t.Helper()
		mu.Lock()
		sent = nil
		mu.Unlock()
		seq++
		clk.add(time.Minute)
		_, err := e.Handle(ctx, bot.Inbound{Channel: "console", ChatID: "customer:alice", UserID: "alice", UserName: "alice",
			MessageID: "m" + strings.Repeat("x", seq), Text: text, Data: data, Attachments: att})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		var b strings.Builder
		for _, m := range sent {
			b.WriteString(m.Text + "\n")
		}
		return b.String()
	}
	// A forged button for an order this chat has not verified tells nothing.
	if out := say("", "ord:s:20261020002"); !strings.Contains(out, "last 4 digits") || strings.Contains(out, "Celadon") {
		t.Fatalf("forged status button: %q; want the verification question only", out)
	}
	if out := say("", "ord:r:20261020002"); !strings.Contains(out, "last 4 digits") {
		t.Fatalf("forged return button: %q", out)
	}
	if out := say("0142", ""); !strings.Contains(out, "What would you like to return") {
		t.Fatalf("after verification: %q", out)
	}
	say("", "rt:i:all")
	if out := say("", "rt:r:damaged"); !strings.Contains(out, "Photos help") {
		t.Fatalf("after the reason: %q", out)
	}
	photo := models.Attachment{Kind: "photo", FileID: "p1"}
	say("box crushed", "", photo, photo)
	if out := say("", "rt:done"); !strings.Contains(out, "Your return request T-1002") {
		t.Fatalf("after done: %q", out)
	}
	r, err := db.Read().ReturnByTicket(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.Photos != 2 || len(r.Items) != 2 || r.Reason != "damaged" || r.Note != "box crushed" || r.OrderRef != "20261020002" ||
		r.Status != models.ReturnRequested {
		t.Errorf("return = %+v", r)
	}
	tk, err := db.Read().Ticket(ctx, 2)
	if err != nil || tk.Kind != models.TicketKindReturn || tk.OrderRef != "20261020002" {
		t.Errorf("ticket = %+v, %v; want a return ticket for the order", tk, err)
	}
	// A second request for the same order is not opened.
	if out := say("", "ord:r:20261020002"); !strings.Contains(out, "already a return request T-1002") {
		t.Errorf("second request: %q", out)
	}
}
