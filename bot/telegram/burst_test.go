package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestMain runs every test on SQLite and, with KEFU_TEST_POSTGRES_DSN, on
// PostgreSQL too.
func TestMain(m *testing.M) { modelstest.Main(m) }

// Telegram's limits as the limit-enforcing fake checks them, with a little
// tolerance for the jitter between the dispatcher's clock and arrival times.
const (
	burstChatGap      = 950 * time.Millisecond // private chat: 1 message/s
	burstGroupWindow  = 60 * time.Second       // group: 20 messages a minute
	burstGroupMax     = 20
	burstGlobalWindow = time.Second // bot: 30 messages a second
	burstGlobalMax    = 31          // 30, plus one for a window closed at both ends
)

const tooManyRequests = `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`

// burstArrival is one sendMessage the limit fake received.
type burstArrival struct {
	At     time.Time
	Chat   int64
	Text   string
	Status int // the HTTP status answered
}

// limitAPI is a Bot API that enforces Telegram's flood limits on
// sendMessage by the arrival times of requests, independently of kefu: a
// request over a limit is answered 429 retry_after=1 and counted. script,
// if set, may answer the n-th sendMessage (from 1) itself; those answers
// are not counted as violations and do not count as delivered.
type limitAPI struct {
	t      *testing.T
	srv    *httptest.Server
	script func(n int) (status int, body string, ok bool)

	mu         sync.Mutex
	n          int
	arrivals   []burstArrival
	accepted   []time.Time           // every accepted message, in arrival order
	chats      map[int64][]time.Time // accepted messages per chat
	texts      map[string]int        // accepted texts
	violations []string              // one per 429 for a broken limit
	nextMsg    int
}

func newLimitAPI(t *testing.T) *limitAPI {
	f := &limitAPI{t: t, chats: map[int64][]time.Time{}, texts: map[string]int{}, nextMsg: 1000}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *limitAPI) endpoint() string { return f.srv.URL + "/bot%s/%s" }

// countSince counts the times in ts (ascending) after from.
func countSince(ts []time.Time, from time.Time) int {
	i, _ := slices.BinarySearchFunc(ts, from, func(a, b time.Time) int {
		if a.After(b) {
			return 1
		}
		return -1 // a <= from: not counted
	})
	return len(ts) - i
}

func (f *limitAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, method, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
	_ = r.ParseForm()
	if token != testToken {
		write(w, 401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
		return
	}
	switch method {
	case "getMe":
		write(w, 200, ok(map[string]any{"id": 42, "is_bot": true, "first_name": "Kefu", "username": "kefu_bot"}))
		return
	case "sendMessage":
	default:
		f.t.Errorf("unexpected Bot API call %s", method)
		write(w, 400, `{"ok":false,"error_code":400,"description":"Bad Request: unexpected method"}`)
		return
	}
	chat, _ := strconv.ParseInt(r.PostForm.Get("chat_id"), 10, 64)
	text := r.PostForm.Get("text")

	f.mu.Lock()
	now := time.Now() // under the lock: arrivals are recorded in time order
	f.n++
	a := burstArrival{At: now, Chat: chat, Text: text}
	if f.script != nil {
		if status, body, scripted := f.script(f.n); scripted {
			a.Status = status
			f.arrivals = append(f.arrivals, a)
			f.mu.Unlock()
			write(w, status, body)
			return
		}
	}
	var why string
	prev := f.chats[chat]
	switch {
	case chat > 0 && len(prev) > 0 && now.Sub(prev[len(prev)-1]) < burstChatGap:
		why = fmt.Sprintf("private chat %d: %s after its previous message (limit 1/s)", chat, now.Sub(prev[len(prev)-1]))
	case chat < 0 && countSince(prev, now.Add(-burstGroupWindow)) >= burstGroupMax:
		why = fmt.Sprintf("group %d: %d messages in the last %s already (limit %d)", chat,
			countSince(prev, now.Add(-burstGroupWindow)), burstGroupWindow, burstGroupMax)
	case countSince(f.accepted, now.Add(-burstGlobalWindow)) >= burstGlobalMax:
		why = fmt.Sprintf("global: %d messages in the last %s already (allowed %d)",
			countSince(f.accepted, now.Add(-burstGlobalWindow)), burstGlobalWindow, burstGlobalMax)
	}
	if why != "" {
		a.Status = 429
		f.arrivals = append(f.arrivals, a)
		f.violations = append(f.violations, why)
		f.mu.Unlock()
		write(w, 429, tooManyRequests)
		return
	}
	a.Status = 200
	f.arrivals = append(f.arrivals, a)
	f.accepted = append(f.accepted, now)
	f.chats[chat] = append(prev, now)
	f.texts[text]++
	f.nextMsg++
	id := f.nextMsg
	f.mu.Unlock()
	chatType := "private"
	if chat < 0 {
		chatType = "supergroup"
	}
	write(w, 200, ok(map[string]any{"message_id": id, "date": now.Unix(),
		"chat": map[string]any{"id": chat, "type": chatType}, "text": text}))
}

// snapshot returns copies of what the fake recorded.
func (f *limitAPI) snapshot() (arrivals []burstArrival, texts map[string]int, violations []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	texts = make(map[string]int, len(f.texts))
	for k, v := range f.texts {
		texts[k] = v
	}
	return slices.Clone(f.arrivals), texts, slices.Clone(f.violations)
}

func (f *limitAPI) delivered() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.accepted)
}

// burstEnv is kefu's real database, writer, dispatcher and adapter, the
// adapter pointed at a limitAPI.
type burstEnv struct {
	db  *models.DB
	w   *bot.Writer
	d   *bot.Dispatcher
	api *limitAPI
}

func newBurstEnv(t *testing.T, f *limitAPI) *burstEnv {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, models.Options{Driver: modelstest.Driver(), DSN: modelstest.DSN(t)})
	if err != nil {
		t.Fatalf("models.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	w := bot.NewWriter(db, 64, 4096, nil)
	go w.Run()
	t.Cleanup(w.Stop) // registered after Close: runs before it
	a, err := New(Options{Token: testToken, APIEndpoint: f.endpoint(), PollTimeout: time.Second})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	d := bot.NewDispatcher(bot.DispatcherOptions{DB: db, Writer: w, SweepInterval: 100 * time.Millisecond})
	d.AddChannel(a, "")
	return &burstEnv{db: db, w: w, d: d, api: f}
}

// queue writes one outbox row per (chat, text), in order, in one transaction.
func (e *burstEnv) queue(t *testing.T, chats []int64, texts []string) []*models.Message {
	t.Helper()
	var rows []*models.Message
	err := e.db.Write(context.Background(), func(s *models.Store) error {
		convs := map[int64]uint64{}
		for i, chat := range chats {
			id, seen := convs[chat]
			if !seen {
				c, err := s.Conversation(context.Background(), Name, strconv.FormatInt(chat, 10), models.KindCustomer, nil)
				if err != nil {
					return err
				}
				id, convs[chat] = c.ID, c.ID
			}
			rows = append(rows, &models.Message{ConversationID: id, Channel: Name,
				ChatID: strconv.FormatInt(chat, 10), Text: texts[i]})
		}
		return s.QueueOutbound(context.Background(), rows)
	})
	if err != nil {
		t.Fatalf("queue outbox: %v", err)
	}
	return rows
}

// run runs the dispatcher until every row is no longer pending (or limit
// passes), then stops it.
func (e *burstEnv) run(t *testing.T, rows []*models.Message, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.d.Run(ctx) }()
	e.d.Notify(rows)
	deadline := time.Now().Add(limit)
	for {
		n, err := e.db.Read().CountPending(context.Background())
		if err != nil {
			t.Fatalf("CountPending: %v", err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d rows still pending after %s (%d delivered)", n, limit, e.api.delivered())
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// checkSent asserts every row is sent in the database and was received
// (and accepted) by the fake exactly once.
func (e *burstEnv) checkSent(t *testing.T, rows []*models.Message, texts map[string]int) {
	t.Helper()
	bad := 0
	for _, r := range rows {
		m, err := e.db.Read().Message(context.Background(), r.ID)
		if err != nil {
			t.Fatalf("Message(%d): %v", r.ID, err)
		}
		if m.Status != models.StatusSent || texts[r.Text] != 1 {
			if bad++; bad <= 10 {
				t.Errorf("row %d (chat %s, %q): status %q, delivered %d times; want sent, once (error %q)",
					r.ID, r.ChatID, r.Text, m.Status, texts[r.Text], m.Error)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d rows wrong in all", bad)
	}
	if len(texts) != len(rows) {
		t.Errorf("the fake accepted %d distinct texts; want %d", len(texts), len(rows))
	}
}

// A burst of 1,000 replies through the real dispatcher and adapter stays
// within Telegram's limits: no 429 at all.
func TestBurstThousandRepliesNoTooManyRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ~34s: 1,000 messages at 30/s")
	}
	const (
		total      = 1000
		multiChats = 10 // private chats with several messages each
		perMulti   = 5
		groupRows  = 5 // 20/min: a few only, or the group dominates the time
		group      = int64(-1001234567890)
	)
	f := newLimitAPI(t)
	e := newBurstEnv(t, f)
	var chats []int64
	var texts []string
	for i := range total {
		var chat int64
		switch {
		case i < multiChats*perMulti:
			chat = 1000 + int64(i%multiChats)
		case i < multiChats*perMulti+groupRows:
			chat = group
		default:
			chat = 100000 + int64(i)
		}
		chats = append(chats, chat)
		texts = append(texts, fmt.Sprintf("reply %04d to chat %d", i, chat))
	}
	rows := e.queue(t, chats, texts)

	start := time.Now()
	e.run(t, rows, 3*time.Minute)
	elapsed := time.Since(start)

	arrivals, got, violations := f.snapshot()
	e.checkSent(t, rows, got)

	// Numbers: the achieved rate and the densest windows the fake saw.
	var okTimes []time.Time
	perChat := map[int64][]time.Time{}
	for _, a := range arrivals {
		if a.Status == 200 {
			okTimes = append(okTimes, a.At)
			perChat[a.Chat] = append(perChat[a.Chat], a.At)
		}
	}
	maxWindow := 0
	for i, at := range okTimes {
		maxWindow = max(maxWindow, countSince(okTimes[:i+1], at.Add(-time.Second)))
	}
	minGap := time.Duration(-1)
	for chat, ts := range perChat {
		for i := 1; chat > 0 && i < len(ts); i++ {
			if g := ts[i].Sub(ts[i-1]); minGap < 0 || g < minGap {
				minGap = g
			}
		}
	}
	span := time.Duration(0)
	if len(okTimes) > 1 {
		span = okTimes[len(okTimes)-1].Sub(okTimes[0])
	}
	t.Logf("%d rows: %d sendMessage requests, %d accepted, %d answered 429; elapsed %s (first to last accepted %s), %.1f msg/s overall, %.1f msg/s between first and last",
		total, len(arrivals), len(okTimes), len(violations), elapsed.Round(time.Millisecond), span.Round(time.Millisecond),
		float64(len(okTimes))/elapsed.Seconds(), float64(len(okTimes)-1)/span.Seconds())
	t.Logf("densest 1s window: %d messages; smallest gap within a private chat: %s; group messages: %d",
		maxWindow, minGap.Round(time.Millisecond), len(perChat[group]))
	// The tail is the group's rows at 19/min and the multi-message chats
	// at 1/s: the global rate shows while the single-message chats drain.
	var first, last time.Time
	singles := 0
	for _, a := range arrivals {
		if a.Status == 200 && a.Chat >= 100000 {
			if singles == 0 {
				first = a.At
			}
			last, singles = a.At, singles+1
		}
	}
	if singles > 1 {
		t.Logf("single-message chats: %d messages in %s, %.1f msg/s", singles, last.Sub(first).Round(time.Millisecond),
			float64(singles-1)/last.Sub(first).Seconds())
	}

	if len(arrivals) != total {
		t.Errorf("sendMessage requests = %d; want %d (one per row)", len(arrivals), total)
	}
	if len(violations) > 0 {
		t.Errorf("%d requests answered 429 Too Many Requests; want 0. First ones:", len(violations))
		for _, v := range violations[:min(10, len(violations))] {
			t.Errorf("  %s", v)
		}
	}
}

// A 429 with retry_after=2 makes the dispatcher wait those 2 seconds before
// trying the message again, which is then delivered once.
func TestBurstRetryAfterHonoured(t *testing.T) {
	f := newLimitAPI(t)
	body, _ := json.Marshal(map[string]any{"ok": false, "error_code": 429,
		"description": "Too Many Requests: retry after 2", "parameters": map[string]any{"retry_after": 2}})
	f.script = func(n int) (int, string, bool) { return 429, string(body), n == 1 }
	e := newBurstEnv(t, f)
	rows := e.queue(t, []int64{777}, []string{"the one reply"})

	e.run(t, rows, 30*time.Second)

	arrivals, got, violations := f.snapshot()
	e.checkSent(t, rows, got)
	if len(arrivals) != 2 {
		t.Fatalf("sendMessage requests = %d; want 2 (the 429, then the retry)", len(arrivals))
	}
	if arrivals[0].Status != 429 || arrivals[1].Status != 200 {
		t.Errorf("answers = %d, %d; want 429, 200", arrivals[0].Status, arrivals[1].Status)
	}
	gap := arrivals[1].At.Sub(arrivals[0].At)
	t.Logf("retry arrived %s after the 429 (retry_after=2)", gap.Round(time.Millisecond))
	if gap < 1950*time.Millisecond {
		t.Errorf("retry came %s after the 429; want >= 2s (retry_after)", gap)
	}
	if gap > 5*time.Second {
		t.Errorf("retry came %s after the 429; want soon after the 2s", gap)
	}
	if len(violations) > 0 {
		t.Errorf("limit violations: %v", violations)
	}
}
