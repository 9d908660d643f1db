package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/nlu"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestMain runs every test on SQLite and, with KEFU_TEST_POSTGRES_DSN, on
// PostgreSQL too.
func TestMain(m *testing.M) { modelstest.Main(m) }

// keywordNLU is a stand-in classifier: the engine's tests are about the
// engine, not about understanding.
type keywordNLU struct{}

func (keywordNLU) Classify(text string) nlu.Result {
	r := nlu.Result{Intent: nlu.Unknown, Confidence: 1, Entities: map[string]string{}}
	if strings.Contains(strings.ToLower(text), "hello") {
		r.Intent = nlu.Greeting
	}
	return r
}

type testEngine struct {
	*bot.Engine
	db     *models.DB
	writer *bot.Writer
	queued chan []*models.Message
}

// newEngine builds an engine on a fresh SQLite file. configure adds routes
// beyond the echo fallback.
func newEngine(tb testing.TB, dsn string, configure func(r *bot.Router), opt func(o *bot.Options)) *testEngine {
	tb.Helper()
	ctx := context.Background()
	if dsn == "" {
		dsn = modelstest.DSN(tb)
	}
	db, err := models.Open(ctx, models.Options{Driver: modelstest.Driver(), DSN: dsn})
	if err != nil {
		tb.Fatal(err)
	}
	w := bot.NewWriter(db, 64, 4096, nil)
	done := make(chan struct{})
	go func() { w.Run(); close(done) }()
	cat, err := bot.NewCatalog()
	if err != nil {
		tb.Fatal(err)
	}
	r := bot.NewRouter()
	r.Fallback(func(ctx context.Context, c *bot.Context) error {
		c.Reply("echo: " + c.In.Text)
		return nil
	})
	if configure != nil {
		configure(r)
	}
	te := &testEngine{db: db, writer: w, queued: make(chan []*models.Message, 10000)}
	o := bot.Options{DB: db, Writer: w, Router: r, Catalog: cat, NLU: keywordNLU{},
		Notify: func(rows []*models.Message) { te.queued <- rows }}
	if opt != nil {
		opt(&o)
	}
	te.Engine, err = bot.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.Stop(); <-done; db.Close() })
	return te
}

func msg(chat, id, text string) bot.Inbound {
	return bot.Inbound{Channel: "console", ChatID: chat, UserID: chat, MessageID: id, Text: text}
}

func counts(tb testing.TB, db *models.DB) map[string]int64 {
	tb.Helper()
	c, err := db.Read().MessageCounts(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestHandleStoresOnceAndRepliesOnce(t *testing.T) {
	e := newEngine(t, "", nil, nil)
	ctx := context.Background()
	res, err := e.Handle(ctx, msg("c1", "u1", "hi there"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicate || res.Replies != 1 {
		t.Fatalf("first Handle = %+v; want 1 reply, not duplicate", res)
	}
	res, err = e.Handle(ctx, msg("c1", "u1", "hi there"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Duplicate {
		t.Fatalf("redelivered Handle = %+v; want Duplicate", res)
	}
	got := counts(t, e.db)
	if got["in/received"] != 1 || got["out/pending"] != 1 {
		t.Fatalf("counts = %v; want 1 inbound, 1 pending outbound", got)
	}
}

func TestHandlerFailureKeepsMessageDropsItsWrites(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fail    func() error
		wantKey string
	}{
		{"Error", func() error { return errors.New("boom") }, "engine.error"},
		{"Panic", func() error { panic("kaboom") }, "engine.error"},
		{"UserError", func() error { return &bot.UserError{Key: "engine.staff_only"} }, "engine.staff_only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, "", func(r *bot.Router) {
				r.Command("fail", "", func(ctx context.Context, c *bot.Context) error {
					if err := c.Store().SetSetting(ctx, "half", "done"); err != nil {
						return err
					}
					c.Reply("this reply must not be sent")
					c.StartFlow("never", "saved")
					return tc.fail()
				})
			}, nil)
			ctx := context.Background()
			if _, err := e.Handle(ctx, msg("c1", "u1", "/fail")); err != nil {
				t.Fatal(err)
			}
			if _, err := e.db.Read().Setting(ctx, "half"); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("handler's write survived: err = %v; want ErrNotFound", err)
			}
			conv, err := e.db.Read().FindConversation(ctx, "console", "c1")
			if err != nil {
				t.Fatal(err)
			}
			if conv.Flow != "" {
				t.Errorf("flow = %q; want the failed handler's change dropped", conv.Flow)
			}
			ms, err := e.db.Read().Messages(ctx, conv.ID, 10)
			if err != nil {
				t.Fatal(err)
			}
			cat, _ := bot.NewCatalog()
			want := cat.T("en", tc.wantKey, nil)
			if len(ms) != 2 || ms[0].Direction != models.DirIn || ms[1].Text != want {
				t.Fatalf("messages = %+v; want the inbound and %q", ms, want)
			}
		})
	}
}

func TestTurnsOfOneConversationRunInOrder(t *testing.T) {
	const convs, perConv = 12, 30
	e := newEngine(t, "", func(r *bot.Router) {
		r.Fallback(func(ctx context.Context, c *bot.Context) error {
			n, _ := strconv.Atoi(c.In.Text)
			if last, _ := strconv.Atoi(c.Slot("last")); n != last+1 {
				return fmt.Errorf("turn %d after %d", n, last)
			}
			c.SetSlot("last", c.In.Text)
			c.Reply("ok " + c.In.Text)
			return nil
		})
	}, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, convs*perConv)
	for i := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; n <= perConv; n++ {
				chat := fmt.Sprint("chat", i)
				if _, err := e.Handle(ctx, msg(chat, fmt.Sprintf("%s-%d", chat, n), strconv.Itoa(n))); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range convs {
		conv, err := e.db.Read().FindConversation(ctx, "console", fmt.Sprint("chat", i))
		if err != nil {
			t.Fatal(err)
		}
		if got := conv.Slots["last"]; got != strconv.Itoa(perConv) {
			t.Errorf("chat%d last = %q; want %d (a turn failed or ran out of order)", i, got, perConv)
		}
		ms, _ := e.db.Read().Messages(ctx, conv.ID, 1000)
		for j, m := range ms {
			want := strconv.Itoa(j/2 + 1)
			if m.Direction == models.DirOut {
				want = "ok " + want
			}
			if m.Text != want {
				t.Fatalf("chat%d message %d = %q; want %q", i, j, m.Text, want)
			}
		}
	}
}

func TestFloodGetsOneNoticeAndEverythingStored(t *testing.T) {
	e := newEngine(t, "", nil, func(o *bot.Options) { o.FloodPerMinute = 3 })
	ctx := context.Background()
	var replies []int
	for i := range 6 {
		res, err := e.Handle(ctx, msg("c1", fmt.Sprint("f", i), "spam"))
		if err != nil {
			t.Fatal(err)
		}
		replies = append(replies, res.Replies)
	}
	if fmt.Sprint(replies) != "[1 1 1 1 0 0]" {
		t.Fatalf("replies per message = %v; want [1 1 1 1 0 0] (3 answers, 1 notice, then quiet)", replies)
	}
	if got := counts(t, e.db)["in/received"]; got != 6 {
		t.Fatalf("stored inbound = %d; want 6", got)
	}
}

func TestBadInputGetsAClearAnswer(t *testing.T) {
	e := newEngine(t, "", nil, nil)
	cat, _ := bot.NewCatalog()
	ctx := context.Background()
	for _, tc := range []struct {
		name, text, want string
	}{
		{"TooLong", strings.Repeat("long ", 1000), cat.T("en", "engine.too_long", map[string]any{"Max": 4096})},
		{"TooLongChinese", strings.Repeat("长", 5000), cat.T("zh", "engine.too_long", map[string]any{"Max": 1365})},
		{"Binary", "\x00\x01\x02\xff\xfe\x00\x00\x03", cat.T("en", "engine.unsupported", nil)},
		{"ControlCharsStripped", "he\x07llo\x1b", "echo: hello"},
		{"InvalidUTF8Mixed", "ok \xff text here", "echo: ok  text here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.Handle(ctx, msg("c-"+tc.name, tc.name, tc.text))
			if err != nil {
				t.Fatal(err)
			}
			conv, _ := e.db.Read().ConversationByID(ctx, res.ConversationID)
			ms, _ := e.db.Read().Messages(ctx, conv.ID, 10)
			if len(ms) != 2 || ms[1].Text != tc.want {
				t.Fatalf("reply = %q; want %q", ms[len(ms)-1].Text, tc.want)
			}
		})
	}
}

func TestStaffCommandRefusedForCustomers(t *testing.T) {
	e := newEngine(t, "", func(r *bot.Router) {
		r.StaffCommand("reply", func(ctx context.Context, c *bot.Context) error {
			c.Reply("staff did it")
			return nil
		})
	}, nil)
	ctx := context.Background()
	cat, _ := bot.NewCatalog()
	for _, tc := range []struct {
		name  string
		staff bool
		want  string
	}{
		{"Customer", false, cat.T("en", "engine.staff_only", nil)},
		{"Staff", true, "staff did it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := msg("c-"+tc.name, tc.name, "/reply T-1001 hi")
			in.Staff = tc.staff
			res, err := e.Handle(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			ms, _ := e.db.Read().Messages(ctx, res.ConversationID, 10)
			if len(ms) != 2 || ms[1].Text != tc.want {
				t.Fatalf("reply = %v; want %q", ms, tc.want)
			}
		})
	}
}

func TestLanguageFromLocaleAndScript(t *testing.T) {
	e := newEngine(t, "", func(r *bot.Router) {
		r.Fallback(func(ctx context.Context, c *bot.Context) error { c.Reply(c.Lang()); return nil })
	}, nil)
	ctx := context.Background()
	for i, tc := range []struct{ locale, text, want string }{
		{"zh-hans", "hi", "zh"},
		{"zh-TW", "hi", "zh"},
		{"en-US", "你好", "en"},
		{"", "你好", "zh"},
		{"", "hello", "en"},
	} {
		in := msg(fmt.Sprint("lang", i), fmt.Sprint("l", i), tc.text)
		in.Locale = tc.locale
		res, err := e.Handle(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := e.db.Read().Messages(ctx, res.ConversationID, 10)
		if got := ms[len(ms)-1].Text; got != tc.want {
			t.Errorf("locale %q text %q: lang = %q; want %q", tc.locale, tc.text, got, tc.want)
		}
	}
}

func FuzzHandle(f *testing.F) {
	for _, s := range []string{"hello", "/start", "/reply@kefu_bot T-1 x", "亲 在吗", "\x00\xff", strings.Repeat("a", 5000), "/", "/ 你好", "\u202e\u200b"} {
		f.Add(s, "")
		f.Add("", s)
	}
	e := newEngine(f, "", func(r *bot.Router) {
		r.Button("b", func(ctx context.Context, c *bot.Context) error { c.Reply("button " + c.Arg); return nil })
		r.Intent(nlu.Greeting, func(ctx context.Context, c *bot.Context) error { c.Reply("hi"); return nil })
	}, nil)
	var n int
	f.Fuzz(func(t *testing.T, text, data string) {
		n++
		in := msg("fuzz", fmt.Sprint("fz", n, time.Now().UnixNano()), text)
		in.Data = data
		res, err := e.Handle(context.Background(), in)
		if err != nil {
			t.Fatalf("Handle(%q, %q): %v", text, data, err)
		}
		if res.Duplicate || res.Replies > 1 {
			t.Fatalf("Handle(%q, %q) = %+v; want at most one reply", text, data, res)
		}
	})
}

// BenchmarkTurn measures whole turns (store inbound, resolve the customer,
// route, queue the reply, save state, commit) on SQLite, from parallel
// conversations so group commit works as in production.
func BenchmarkTurn(b *testing.B) {
	e := newEngine(b, "", nil, nil)
	go func() {
		for range e.queued {
		}
	}()
	ctx := context.Background()
	var seq sync.Mutex
	next := 0
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		seq.Lock()
		next++
		chat := fmt.Sprint("bench", next)
		seq.Unlock()
		i := 0
		for pb.Next() {
			i++
			if _, err := e.Handle(ctx, msg(chat, fmt.Sprintf("%s-%d", chat, i), "where is my order")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "turns/s")
}
