package bot

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// dispChannel is the name the fake channel delivers for.
const dispChannel = "fake"

// dispSend is one call of dispFake.Send as the fake saw it.
type dispSend struct {
	Msg     Outbound
	Attempt int // this row's calls so far, from 1
	Start   time.Time
	End     time.Time
	Err     error
}

// dispFake is a hand-written Channel. reply decides each call's outcome;
// nil (or a nil reply) answers "p-<id>", nil.
type dispFake struct {
	reply func(m *Outbound, attempt int) (string, error)

	mu       sync.Mutex
	sends    []dispSend // in the order calls returned
	tries    map[uint64]int
	inflight int
}

func newDispFake(reply func(m *Outbound, attempt int) (string, error)) *dispFake {
	return &dispFake{reply: reply, tries: map[uint64]int{}}
}

func (f *dispFake) Name() string { return dispChannel }

func (f *dispFake) Send(ctx context.Context, m *Outbound) (string, error) {
	f.mu.Lock()
	f.tries[m.ID]++
	attempt := f.tries[m.ID]
	f.inflight++
	f.mu.Unlock()

	start := time.Now()
	pid, err := fmt.Sprintf("p-%d", m.ID), error(nil)
	if f.reply != nil {
		pid, err = f.reply(m, attempt)
	}
	end := time.Now()

	f.mu.Lock()
	f.sends = append(f.sends, dispSend{Msg: *m, Attempt: attempt, Start: start, End: end, Err: err})
	f.inflight--
	f.mu.Unlock()
	return pid, err
}

// log returns every finished call.
func (f *dispFake) log() []dispSend {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sends)
}

// calls returns how many calls of row id have started.
func (f *dispFake) calls(id uint64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries[id]
}

// started returns how many calls have started, over all rows.
func (f *dispFake) started() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.tries {
		n += c
	}
	return n
}

func (f *dispFake) inFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inflight
}

// delivered counts the successful calls per row.
func (f *dispFake) delivered() map[uint64]int {
	out := map[uint64]int{}
	for _, s := range f.log() {
		if s.Err == nil {
			out[s.Msg.ID]++
		}
	}
	return out
}

// deliveredTo lists the successful calls to one chat, in order.
func (f *dispFake) deliveredTo(chat string) []dispSend {
	var out []dispSend
	for _, s := range f.log() {
		if s.Err == nil && s.Msg.ChatID == chat {
			out = append(out, s)
		}
	}
	return out
}

// dispLimited is a dispFake that declares its platform's limits.
type dispLimited struct {
	*dispFake
	chat, global Limit
}

func (l dispLimited) ChatLimit(string) Limit { return l.chat }
func (l dispLimited) GlobalLimit() Limit     { return l.global }

// dispEnv is a real SQLite database with a running Writer.
type dispEnv struct {
	db *models.DB
	w  *Writer
}

func newDispEnv(t *testing.T) *dispEnv {
	t.Helper()
	db, err := models.Open(context.Background(), models.Options{Driver: modelstest.Driver(), DSN: modelstest.DSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(db, 64, 0, nil)
	done := make(chan struct{})
	go func() { w.Run(); close(done) }()
	t.Cleanup(func() { w.Stop(); <-done; db.Close() })
	return &dispEnv{db: db, w: w}
}

// opts are fast, generous defaults; tests change what they are about.
func (e *dispEnv) opts() DispatcherOptions {
	return DispatcherOptions{
		DB: e.db, Writer: e.w, Workers: 4, MaxAttempts: 5,
		InitialBackoff: 5 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		ChatLimit: Limit{PerSecond: 10000, Burst: 1000}, GlobalLimit: Limit{PerSecond: 100000, Burst: 1000},
		SweepInterval: 20 * time.Millisecond, SendTimeout: 5 * time.Second,
	}
}

// queue writes perChat pending rows to each chat in one transaction,
// round-robin over the chats so their ids interleave. mod, if set, adjusts
// each row before it is written.
func (e *dispEnv) queue(t *testing.T, chats []string, perChat int, mod func(i int, m *models.Message)) []*models.Message {
	t.Helper()
	rows, err := e.queueRows(chats, perChat, mod)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// queueRows is queue for goroutines other than the test's.
func (e *dispEnv) queueRows(chats []string, perChat int, mod func(i int, m *models.Message)) ([]*models.Message, error) {
	ctx := context.Background()
	var rows []*models.Message
	err := e.db.Write(ctx, func(s *models.Store) error {
		rows = rows[:0]
		convs := make([]*models.Conversation, len(chats))
		for i, chat := range chats {
			c, err := s.Conversation(ctx, dispChannel, chat, models.KindCustomer, nil)
			if err != nil {
				return err
			}
			convs[i] = c
		}
		for i := range perChat {
			for _, c := range convs {
				m := &models.Message{ConversationID: c.ID, Channel: c.Channel, ChatID: c.ChatID, Text: fmt.Sprintf("%s #%d", c.ChatID, i)}
				if mod != nil {
					mod(i, m)
				}
				rows = append(rows, m)
			}
		}
		return s.QueueOutbound(ctx, rows)
	})
	return rows, err
}

// identity creates the customer identity behind a chat (external id == chat id).
func (e *dispEnv) identity(t *testing.T, chat string) uint64 {
	t.Helper()
	ctx := context.Background()
	var custID uint64
	err := e.db.Write(ctx, func(s *models.Store) error {
		c, _, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: dispChannel, ExternalID: chat, Name: chat})
		if err == nil {
			custID = c.ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return custID
}

func (e *dispEnv) unreachable(t *testing.T, custID uint64) bool {
	t.Helper()
	ids, err := e.db.Read().Identities(context.Background(), custID)
	if err != nil || len(ids) != 1 {
		t.Fatalf("identities of customer %d = %v, %v; want one", custID, ids, err)
	}
	return ids[0].Unreachable
}

func (e *dispEnv) msg(t *testing.T, id uint64) *models.Message {
	t.Helper()
	m, err := e.db.Read().Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitStatus waits until every row has the status (sent or failed: both
// are final, so a row seen there is not read again).
func (e *dispEnv) waitStatus(t *testing.T, rows []*models.Message, status string) {
	t.Helper()
	done := 0
	pollUntil(t, 10*time.Second, func() string {
		for ; done < len(rows); done++ {
			if m := e.msg(t, rows[done].ID); m.Status != status {
				return fmt.Sprintf("row %d (%s) status = %q, attempts %d, error %q; want %q", m.ID, m.ChatID, m.Status, m.Attempts, m.Error, status)
			}
		}
		return ""
	})
}

// pollUntil polls cond until it returns "" or the time is up; cond says
// what it still waits for.
func pollUntil(t *testing.T, limit time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %s: %s", limit, why)
		}
		time.Sleep(3 * time.Millisecond)
	}
}

// runDispatcher runs d until the returned stop (also called at cleanup).
func runDispatcher(t *testing.T, d *Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v; want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func rowIDs(rows []*models.Message) []uint64 {
	out := make([]uint64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

func rowsOf(rows []*models.Message, chat string) []*models.Message {
	var out []*models.Message
	for _, r := range rows {
		if r.ChatID == chat {
			out = append(out, r)
		}
	}
	return out
}

func TestDispatcherDeliversPendingRows(t *testing.T) {
	tid := uint64(7)
	for _, tc := range []struct {
		name   string
		notify bool // hand rows to Notify; else only the sweep finds them
		sweep  time.Duration
	}{
		{"Notify", true, time.Hour},
		{"Sweep", false, 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDispEnv(t)
			f := newDispFake(nil)
			o := e.opts()
			o.SweepInterval = tc.sweep
			d := NewDispatcher(o)
			d.AddChannel(f, "")
			runDispatcher(t, d)

			before := time.Now().UTC().Add(-time.Second)
			rows := e.queue(t, []string{"c1", "c2"}, 3, func(i int, m *models.Message) {
				if i == 1 {
					m.Payload = models.Payload{Buttons: [][]models.Button{{{Label: "Yes", Data: "y:1"}}}, Kind: "card", ReplyTo: "r9", Edit: "e9"}
					m.TicketID = &tid
				}
			})
			if tc.notify {
				d.Notify(rows)
			}
			e.waitStatus(t, rows, models.StatusSent)

			got := f.delivered()
			byID := map[uint64]Outbound{}
			for _, s := range f.log() {
				byID[s.Msg.ID] = s.Msg
			}
			for _, r := range rows {
				m := e.msg(t, r.ID)
				if want := fmt.Sprintf("p-%d", r.ID); m.PlatformID != want {
					t.Errorf("row %d PlatformID = %q; want %q", r.ID, m.PlatformID, want)
				}
				if m.SentAt == nil || m.SentAt.Before(before) {
					t.Errorf("row %d SentAt = %v; want set, after %v", r.ID, m.SentAt, before)
				}
				if m.Error != "" {
					t.Errorf("row %d Error = %q; want empty", r.ID, m.Error)
				}
				if got[r.ID] != 1 {
					t.Errorf("row %d sent %d times; want 1", r.ID, got[r.ID])
				}
				want := Outbound{ID: r.ID, ChatID: r.ChatID, Text: r.Text, Buttons: r.Payload.Buttons,
					Edit: r.Payload.Edit, ReplyTo: r.Payload.ReplyTo, Kind: r.Payload.Kind}
				if r.TicketID != nil {
					want.TicketID = *r.TicketID
				}
				if out := byID[r.ID]; !reflect.DeepEqual(out, want) {
					t.Errorf("row %d sent as %+v; want %+v", r.ID, out, want)
				}
			}
			// Sweeps after delivery must not bring anything back.
			time.Sleep(100 * time.Millisecond)
			if n := f.started(); n != len(rows) {
				t.Errorf("calls after settling = %d; want %d", n, len(rows))
			}
			if q := d.Queued()[dispChannel]; q != 0 {
				t.Errorf("Queued = %d; want 0", q)
			}
		})
	}
}

func TestDispatcherKeepsOrderPerChat(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
		feed    string // how rows reach the dispatcher: "sweep", "notify", "reversed" (Notify before Run, newest first)
	}{
		{"Workers4Sweep", 4, "sweep"},
		{"Workers8Notify", 8, "notify"},
		{"Workers4NotifyReversed", 4, "reversed"},
		{"Workers1Sweep", 1, "sweep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDispEnv(t)
			f := newDispFake(nil)
			o := e.opts()
			o.Workers = tc.workers
			d := NewDispatcher(o)
			d.AddChannel(f, "")
			var rows []*models.Message
			switch tc.feed {
			case "reversed":
				rows = e.queue(t, []string{"a", "b"}, 30, nil)
				rev := slices.Clone(rows)
				slices.Reverse(rev)
				d.Notify(rev)
				runDispatcher(t, d)
			case "notify":
				runDispatcher(t, d)
				rows = e.queue(t, []string{"a", "b"}, 30, nil)
				d.Notify(rows)
			default:
				runDispatcher(t, d)
				rows = e.queue(t, []string{"a", "b"}, 30, nil)
			}
			e.waitStatus(t, rows, models.StatusSent)
			for _, chat := range []string{"a", "b"} {
				var got []uint64
				for _, s := range f.deliveredTo(chat) {
					got = append(got, s.Msg.ID)
				}
				if want := rowIDs(rowsOf(rows, chat)); !slices.Equal(got, want) {
					t.Errorf("chat %s delivered %v; want %v", chat, got, want)
				}
			}
		})
	}
}

func TestDispatcherRetriesTransientErrors(t *testing.T) {
	boom := errors.New("boom: connection reset")
	for _, tc := range []struct {
		name         string
		failures     int // calls of the first row that fail before success
		wantStatus   string
		wantAttempts int
		wantCalls    int
		wantError    string
	}{
		{"FailTwiceThenSucceed", 2, models.StatusSent, 2, 3, ""},
		{"AlwaysFails", 1 << 30, models.StatusFailed, 3, 3, boom.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDispEnv(t)
			rows := e.queue(t, []string{"c1"}, 2, nil)
			first, second := rows[0], rows[1]
			f := newDispFake(func(m *Outbound, attempt int) (string, error) {
				if m.ID == first.ID && attempt <= tc.failures {
					return "", boom
				}
				return fmt.Sprintf("p-%d", m.ID), nil
			})
			o := e.opts()
			o.MaxAttempts = 3
			d := NewDispatcher(o)
			d.AddChannel(f, "")
			runDispatcher(t, d)

			e.waitStatus(t, rows[:1], tc.wantStatus)
			e.waitStatus(t, rows[1:], models.StatusSent)
			m := e.msg(t, first.ID)
			if m.Attempts != tc.wantAttempts {
				t.Errorf("Attempts = %d; want %d", m.Attempts, tc.wantAttempts)
			}
			if m.Error != tc.wantError {
				t.Errorf("Error = %q; want %q", m.Error, tc.wantError)
			}
			time.Sleep(60 * time.Millisecond) // no further attempts after settling
			if n := f.calls(first.ID); n != tc.wantCalls {
				t.Errorf("calls of first row = %d; want %d", n, tc.wantCalls)
			}

			// Each retry waited its backoff (5ms, then 10ms) after the failure,
			// and the chat's next row went out only after the first settled.
			log := f.log()
			var prevEnd time.Time
			wait := o.InitialBackoff
			for _, s := range log {
				if s.Msg.ID != first.ID {
					continue
				}
				if !prevEnd.IsZero() {
					if gap := s.Start.Sub(prevEnd); gap < wait {
						t.Errorf("attempt %d started %s after the failure; want >= %s", s.Attempt, gap, wait)
					}
					wait *= 2
				}
				prevEnd = s.End
			}
			for _, s := range log {
				if s.Msg.ID == second.ID && s.Start.Before(prevEnd) {
					t.Errorf("second row started %s before the first row's last attempt ended", prevEnd.Sub(s.Start))
				}
			}
		})
	}
}

func TestDispatcherHonoursRetryAfter(t *testing.T) {
	const after = 50 * time.Millisecond
	for _, tc := range []struct {
		name    string
		global  bool
		workers int
	}{
		// Global with one worker: the other chat is already waiting for the
		// worker when the pause begins and must still wait it out.
		{"Chat", false, 4},
		{"Global", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDispEnv(t)
			rows := e.queue(t, []string{"a", "b"}, 3, nil)
			limited := rows[0] // chat a's first row
			f := newDispFake(func(m *Outbound, attempt int) (string, error) {
				if m.ID == limited.ID && attempt == 1 {
					return "", &RetryAfterError{After: after, Global: tc.global}
				}
				return fmt.Sprintf("p-%d", m.ID), nil
			})
			o := e.opts()
			o.Workers = tc.workers
			d := NewDispatcher(o)
			d.AddChannel(f, "")
			runDispatcher(t, d)
			e.waitStatus(t, rows, models.StatusSent)

			log := f.log()
			var limitedAt time.Time // when the 429 answer was given
			for _, s := range log {
				if s.Err != nil {
					limitedAt = s.End
				}
			}
			if limitedAt.IsZero() {
				t.Fatal("the rate-limited answer was never given")
			}
			if m := e.msg(t, limited.ID); m.Attempts != 0 {
				t.Errorf("Attempts after a RetryAfter = %d; want 0 (not a failed attempt)", m.Attempts)
			}
			var retryAt time.Time
			for _, s := range log {
				if !s.Start.After(limitedAt) {
					continue // began before the answer: nothing to wait for yet
				}
				paused := s.Msg.ChatID == "a" || tc.global
				if gap := s.Start.Sub(limitedAt); paused && gap < after {
					t.Errorf("row %d (chat %s) started %s after the RetryAfter; want >= %s", s.Msg.ID, s.Msg.ChatID, gap, after)
				}
				if s.Msg.ID == limited.ID && retryAt.IsZero() {
					retryAt = s.Start
				}
			}
			if !tc.global {
				// The other chat did not wait for chat a's pause.
				if b := f.deliveredTo("b"); len(b) == 0 || !b[0].Start.Before(retryAt) {
					t.Errorf("chat b's first send did not precede chat a's retry; a chat-only RetryAfter paused other chats")
				}
			}
		})
	}
}

func TestDispatcherTerminalErrors(t *testing.T) {
	for _, tc := range []struct {
		name            string
		fail            func(bad *models.Message, m *Outbound) error // error for a send to chat "bad"
		wantFailed      int                                          // of chat bad's 4 rows, the first wantFailed fail
		wantUnreachable bool
		wantError       string
		wantBadCalls    int
	}{
		{
			name: "Permanent",
			fail: func(bad *models.Message, m *Outbound) error {
				if m.ID == bad.ID {
					return &PermanentError{Err: errors.New("bad request: message too long")}
				}
				return nil
			},
			wantFailed: 1, wantError: "permanent: bad request: message too long", wantBadCalls: 4,
		},
		{
			name:       "Unreachable",
			fail:       func(*models.Message, *Outbound) error { return fmt.Errorf("403 blocked by user: %w", ErrUnreachable) },
			wantFailed: 4, wantUnreachable: true, wantError: "unreachable: 403 blocked by user: chat unreachable", wantBadCalls: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDispEnv(t)
			badCust, okCust := e.identity(t, "bad"), e.identity(t, "ok")
			rows := e.queue(t, []string{"bad", "ok"}, 4, nil)
			bad, ok := rowsOf(rows, "bad"), rowsOf(rows, "ok")
			f := newDispFake(func(m *Outbound, attempt int) (string, error) {
				if m.ChatID == "bad" {
					if err := tc.fail(bad[0], m); err != nil {
						return "", err
					}
				}
				return fmt.Sprintf("p-%d", m.ID), nil
			})
			d := NewDispatcher(e.opts())
			d.AddChannel(f, "")
			runDispatcher(t, d) // rows were queued first: the start sweep holds them all

			e.waitStatus(t, bad[:tc.wantFailed], models.StatusFailed)
			e.waitStatus(t, bad[tc.wantFailed:], models.StatusSent)
			e.waitStatus(t, ok, models.StatusSent)
			for _, r := range bad[:tc.wantFailed] {
				m := e.msg(t, r.ID)
				if m.Error != tc.wantError || m.Attempts != 1 || m.SentAt != nil {
					t.Errorf("row %d: Error %q, Attempts %d, SentAt %v; want %q, 1, nil", r.ID, m.Error, m.Attempts, m.SentAt, tc.wantError)
				}
			}
			time.Sleep(60 * time.Millisecond) // no retries after settling
			calls := 0
			for _, r := range bad {
				calls += f.calls(r.ID)
			}
			if calls != tc.wantBadCalls {
				t.Errorf("calls to chat bad = %d; want %d", calls, tc.wantBadCalls)
			}
			if got := e.unreachable(t, badCust); got != tc.wantUnreachable {
				t.Errorf("identity bad Unreachable = %v; want %v", got, tc.wantUnreachable)
			}
			if e.unreachable(t, okCust) {
				t.Error("identity ok Unreachable = true; want false")
			}
		})
	}
}

// A row that reaches the chat's queue while its unreachable rows are being
// recorded stays queued: it is tried, and fails, instead of being dropped
// from memory while still pending in the database.
func TestDispatcherUnreachableKeepsRowsAddedDuringRecord(t *testing.T) {
	e := newDispEnv(t)
	rows := e.queue(t, []string{"gone"}, 1, nil)
	gate, blocking := make(chan struct{}), make(chan struct{})
	lateCh := make(chan []*models.Message, 1)
	f := newDispFake(func(m *Outbound, attempt int) (string, error) {
		if m.ID == rows[0].ID {
			// Another turn queues a reply to the chat (committed, not yet
			// notified), and the writer is busy with something slow.
			late, err := e.queueRows([]string{"gone"}, 1, nil)
			if err != nil {
				return "", err
			}
			lateCh <- late
			go e.w.Do(context.Background(), func(*models.Store) error { close(blocking); <-gate; return nil })
			<-blocking
		}
		return "", ErrUnreachable
	})
	o := e.opts()
	o.SweepInterval = time.Hour
	d := NewDispatcher(o)
	d.AddChannel(f, "")
	runDispatcher(t, d)
	// The dispatcher's record of the unreachable chat waits behind the slow
	// write; the late row is notified meanwhile.
	pollUntil(t, 5*time.Second, func() string {
		if len(e.w.reqs) == 0 {
			return "the unreachable record is not queued in the writer"
		}
		return ""
	})
	var late []*models.Message
	select {
	case late = <-lateCh:
	case <-time.After(5 * time.Second):
		t.Fatal("the late row was never queued")
	}
	d.Notify(late)
	close(gate)
	e.waitStatus(t, append(rows, late...), models.StatusFailed)
	if q := d.Queued()[dispChannel]; q != 0 {
		t.Errorf("Queued = %d; want 0", q)
	}
}

func TestDispatcherResumesAfterRestart(t *testing.T) {
	e := newDispEnv(t)
	ctx := context.Background()
	f := newDispFake(nil)

	// Written while no dispatcher runs: two pending chats, a row already
	// sent, and a row whose retry is due only later.
	first := e.queue(t, []string{"a", "b"}, 3, nil)
	done := e.queue(t, []string{"a"}, 1, nil)[0]
	if err := e.db.Write(ctx, func(s *models.Store) error {
		return s.MarkSent(ctx, done.ID, "p-old", time.Now().UTC())
	}); err != nil {
		t.Fatal(err)
	}
	dueAt := time.Now().Add(300 * time.Millisecond)
	later := e.queue(t, []string{"later"}, 2, func(i int, m *models.Message) {
		if i == 0 {
			m.Attempts, m.NextAttemptAt = 1, dueAt.UTC()
		}
	})

	d1 := NewDispatcher(e.opts())
	d1.AddChannel(f, "")
	stop1 := runDispatcher(t, d1)
	e.waitStatus(t, first, models.StatusSent)
	stop1()

	// More rows while it is down, then a new process.
	second := e.queue(t, []string{"a", "c"}, 3, nil)
	d2 := NewDispatcher(e.opts())
	d2.AddChannel(f, "")
	runDispatcher(t, d2)
	all := slices.Concat(first, second, later)
	e.waitStatus(t, all, models.StatusSent)
	time.Sleep(60 * time.Millisecond) // let sweeps find anything they wrongly think pending

	got := f.delivered()
	for _, r := range all {
		if got[r.ID] != 1 {
			t.Errorf("row %d (%s) delivered %d times; want 1", r.ID, r.ChatID, got[r.ID])
		}
	}
	if n := f.calls(done.ID); n != 0 {
		t.Errorf("row sent before the restart was sent again %d times", n)
	}
	if m := e.msg(t, done.ID); m.PlatformID != "p-old" {
		t.Errorf("already-sent row PlatformID = %q; want %q", m.PlatformID, "p-old")
	}
	ls := f.deliveredTo("later")
	if len(ls) != 2 || ls[0].Msg.ID != later[0].ID {
		t.Fatalf("chat later delivered %+v; want its 2 rows in order", ls)
	}
	if ls[0].Start.Before(dueAt) {
		t.Errorf("row due at %v was sent %s early", dueAt, dueAt.Sub(ls[0].Start))
	}
}

func TestDispatcherOnlyChat(t *testing.T) {
	e := newDispEnv(t)
	f := newDispFake(nil)
	d := NewDispatcher(e.opts())
	d.AddChannel(f, "chatA")
	early := e.queue(t, []string{"chatA", "chatB"}, 3, nil) // found by the start sweep
	runDispatcher(t, d)
	late := e.queue(t, []string{"chatA", "chatB"}, 3, nil) // handed to Notify
	d.Notify(late)
	all := append(early, late...)

	e.waitStatus(t, rowsOf(all, "chatA"), models.StatusSent)
	time.Sleep(100 * time.Millisecond) // several sweeps
	for _, r := range rowsOf(all, "chatB") {
		if m := e.msg(t, r.ID); m.Status != models.StatusPending || m.Attempts != 0 {
			t.Errorf("chatB row %d: status %q, attempts %d; want pending, 0", r.ID, m.Status, m.Attempts)
		}
	}
	for _, s := range f.log() {
		if s.Msg.ChatID != "chatA" {
			t.Errorf("sent %d to chat %q; want only chatA", s.Msg.ID, s.Msg.ChatID)
		}
	}
	if q := d.Queued()[dispChannel]; q != 0 {
		t.Errorf("Queued = %d; want 0 (chatB rows are not held)", q)
	}
}

func TestDispatcherChatRateLimit(t *testing.T) {
	const n, minGap = 5, 45 * time.Millisecond // 20/s is one per 50ms
	for _, tc := range []struct {
		name     string
		trickled bool // each row is queued only after the previous one was sent
	}{
		{"QueuedTogether", false},
		{"OneAtATime", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDispEnv(t)
			f := newDispFake(nil)
			ch := dispLimited{dispFake: f, chat: Limit{PerSecond: 20, Burst: 1}, global: Limit{PerSecond: 1000, Burst: 100}}
			d := NewDispatcher(e.opts())
			d.AddChannel(ch, "")
			runDispatcher(t, d)
			var rows []*models.Message
			if tc.trickled {
				for range n {
					r := e.queue(t, []string{"c1"}, 1, nil)
					d.Notify(r)
					e.waitStatus(t, r, models.StatusSent)
					rows = append(rows, r...)
				}
			} else {
				rows = e.queue(t, []string{"c1"}, n, nil)
				d.Notify(rows)
				e.waitStatus(t, rows, models.StatusSent)
			}
			sends := f.deliveredTo("c1")
			if len(sends) != n {
				t.Fatalf("sends = %d; want %d", len(sends), n)
			}
			for i := 1; i < n; i++ {
				if gap := sends[i].Start.Sub(sends[i-1].Start); gap < minGap {
					t.Errorf("send %d came %s after send %d; want >= %s", i, gap, i-1, minGap)
				}
			}
		})
	}
}

func TestDispatcherBurstDeliversEachOnce(t *testing.T) {
	const chats, perChat = 100, 10
	for _, tc := range []struct {
		name      string
		maxQueued int // 0: the default, all in memory
	}{
		{"AllInMemory", 0},
		{"MaxQueued64", 64}, // the rest waits in the database for the sweep
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDispEnv(t)
			f := newDispFake(nil)
			ch := dispLimited{dispFake: f, chat: Limit{PerSecond: 1000, Burst: 10}, global: Limit{PerSecond: 50000, Burst: 500}}
			o := e.opts()
			o.Workers, o.MaxQueued = 8, tc.maxQueued
			d := NewDispatcher(o)
			d.AddChannel(ch, "")
			runDispatcher(t, d)
			names := make([]string, chats)
			for i := range names {
				names[i] = fmt.Sprintf("chat%03d", i)
			}
			rows := e.queue(t, names, perChat, nil)
			d.Notify(rows)
			e.waitStatus(t, rows, models.StatusSent)
			time.Sleep(60 * time.Millisecond)

			got := f.delivered()
			if len(got) != len(rows) {
				t.Errorf("distinct rows delivered = %d; want %d", len(got), len(rows))
			}
			for _, r := range rows {
				if got[r.ID] != 1 {
					t.Errorf("row %d delivered %d times; want 1", r.ID, got[r.ID])
				}
			}
			if n := f.started(); n != len(rows) {
				t.Errorf("calls = %d; want %d", n, len(rows))
			}
			for _, chat := range names[:3] {
				var ids []uint64
				for _, s := range f.deliveredTo(chat) {
					ids = append(ids, s.Msg.ID)
				}
				if want := rowIDs(rowsOf(rows, chat)); !slices.Equal(ids, want) {
					t.Errorf("chat %s delivered %v; want %v", chat, ids, want)
				}
			}
		})
	}
}

// When MaxQueued leaves rows in the database, a newer row handed to Notify
// must not overtake them in their chat.
func TestDispatcherOverflowKeepsOrder(t *testing.T) {
	e := newDispEnv(t)
	f := newDispFake(nil)
	o := e.opts()
	o.MaxQueued, o.SweepInterval = 1, 30*time.Millisecond
	// Rows 2-4 come from another process; this one notifies only row 5.
	rows := e.queue(t, []string{"x"}, 5, nil)
	d := NewDispatcher(o)
	d.AddChannel(f, "")
	runDispatcher(t, d)
	e.waitStatus(t, rows[:1], models.StatusSent)
	d.Notify(rows[4:])
	e.waitStatus(t, rows, models.StatusSent)
	var got []uint64
	for _, s := range f.deliveredTo("x") {
		got = append(got, s.Msg.ID)
	}
	if want := rowIDs(rows); !slices.Equal(got, want) {
		t.Errorf("delivered %v; want %v", got, want)
	}
}

func TestDispatcherShutdownWaitsForInFlightSends(t *testing.T) {
	e := newDispEnv(t)
	f := newDispFake(func(m *Outbound, attempt int) (string, error) {
		time.Sleep(10 * time.Millisecond) // a slow platform
		return fmt.Sprintf("p-%d", m.ID), nil
	})
	chats := []string{"s1", "s2", "s3", "s4", "s5", "s6"}
	rows := e.queue(t, chats, 10, nil)
	o := e.opts()
	o.Workers = 4
	d1 := NewDispatcher(o)
	d1.AddChannel(f, "")
	stop := runDispatcher(t, d1)
	pollUntil(t, 5*time.Second, func() string {
		if f.started() < 8 || f.inFlight() == 0 {
			return fmt.Sprintf("%d calls started, %d in flight; want >= 8 with some in flight", f.started(), f.inFlight())
		}
		return ""
	})
	stop() // cancel while sends are in flight; returns once Run did
	if n := f.inFlight(); n != 0 {
		t.Fatalf("Run returned with %d sends in flight", n)
	}

	got := f.delivered()
	sent := 0
	for _, r := range rows {
		m := e.msg(t, r.ID)
		switch {
		case m.Status == models.StatusSent && got[r.ID] == 1:
			sent++
		case m.Status == models.StatusPending && got[r.ID] == 0:
		default:
			t.Errorf("row %d after shutdown: status %q, delivered %d times; want sent once and marked, or pending and unsent", r.ID, m.Status, got[r.ID])
		}
	}
	if sent == 0 || sent == len(rows) {
		t.Logf("sent %d of %d at shutdown; the test wants a partial delivery", sent, len(rows))
	}

	d2 := NewDispatcher(o)
	d2.AddChannel(f, "")
	runDispatcher(t, d2)
	e.waitStatus(t, rows, models.StatusSent)
	time.Sleep(60 * time.Millisecond)
	got = f.delivered()
	for _, r := range rows {
		if got[r.ID] != 1 {
			t.Errorf("row %d delivered %d times over both runs; want 1", r.ID, got[r.ID])
		}
	}
	for _, chat := range chats {
		var ids []uint64
		for _, s := range f.deliveredTo(chat) {
			ids = append(ids, s.Msg.ID)
		}
		if want := rowIDs(rowsOf(rows, chat)); !slices.Equal(ids, want) {
			t.Errorf("chat %s delivered %v over both runs; want %v", chat, ids, want)
		}
	}
}

// A slow commit must not throttle delivery: workers bound the sends in
// flight, not the wait for their outcome to be recorded. With the Writer
// held, every chat still gets its first message; before this held, two
// workers stopped at two sends until the commit came back.
func TestDispatcherSendsWhileRecordsWait(t *testing.T) {
	e := newDispEnv(t)
	f := newDispFake(nil)
	chats := make([]string, 12)
	for i := range chats {
		chats[i] = fmt.Sprintf("w%d", i)
	}
	rows := e.queue(t, chats, 2, nil)

	hold, held := make(chan struct{}), make(chan struct{})
	go e.w.Do(context.Background(), func(*models.Store) error {
		close(held)
		<-hold
		return nil
	})
	<-held
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release) // registered after the writer's stop, so it runs first
	o := e.opts()
	o.Workers = 2
	d := NewDispatcher(o)
	d.AddChannel(f, "")
	runDispatcher(t, d)
	pollUntil(t, 5*time.Second, func() string {
		if n := f.started(); n < len(chats) {
			return fmt.Sprintf("%d sends started while the writer was held; want one per chat (%d)", n, len(chats))
		}
		return ""
	})
	if n := f.started(); n != len(chats) {
		t.Errorf("%d sends with the writer held; want %d (a chat's next message waits for its previous to be recorded)", n, len(chats))
	}
	release()
	e.waitStatus(t, rows, models.StatusSent)
	for id, n := range f.delivered() {
		if n != 1 {
			t.Errorf("row %d delivered %d times; want 1", id, n)
		}
	}
}

// A backlog larger than the lane's memory comes in by sweeps as room frees
// up, not one MaxQueued-full per SweepInterval: with an hour between
// ticks, every row still goes out, each once.
func TestDispatcherRefillsABacklogWithoutWaitingForTheTick(t *testing.T) {
	e := newDispEnv(t)
	f := newDispFake(nil)
	chats := []string{"b1", "b2", "b3", "b4", "b5"}
	rows := e.queue(t, chats, 20, nil) // 100 rows
	o := e.opts()
	o.MaxQueued, o.SweepInterval = 10, time.Hour
	d := NewDispatcher(o)
	d.AddChannel(f, "")
	runDispatcher(t, d)
	e.waitStatus(t, rows, models.StatusSent)
	for _, r := range rows {
		if n := f.delivered()[r.ID]; n != 1 {
			t.Errorf("row %d delivered %d times; want 1", r.ID, n)
		}
	}
	for _, chat := range chats {
		var ids []uint64
		for _, s := range f.deliveredTo(chat) {
			ids = append(ids, s.Msg.ID)
		}
		if want := rowIDs(rowsOf(rows, chat)); !slices.Equal(ids, want) {
			t.Errorf("chat %s got %v; want %v in order", chat, ids, want)
		}
	}
}

// namedFake is a dispFake under another channel name.
type namedFake struct {
	*dispFake
	name string
}

func (n namedFake) Name() string { return n.name }

// A platform that hangs, or a chat whose sends keep failing, never holds
// up another channel or another chat: lanes are per channel, and a chat
// waiting on a retry stands aside for the others.
func TestDispatcherSlowOrFailingChannelBlocksNoOne(t *testing.T) {
	e := newDispEnv(t)
	ctx := context.Background()
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	hung := namedFake{newDispFake(func(m *Outbound, attempt int) (string, error) {
		<-release // the platform does not answer
		return fmt.Sprintf("p-%d", m.ID), nil
	}), "hung"}
	// On the healthy channel, chat "bad" fails with 5xx and 429 storms.
	fast := newDispFake(func(m *Outbound, attempt int) (string, error) {
		if m.ChatID == "bad" {
			if attempt%2 == 0 {
				return "", &RetryAfterError{After: 20 * time.Millisecond}
			}
			return "", errors.New("502 bad gateway")
		}
		return fmt.Sprintf("p-%d", m.ID), nil
	})
	var hungRows []*models.Message
	err := e.db.Write(ctx, func(s *models.Store) error {
		c, err := s.Conversation(ctx, "hung", "h1", models.KindCustomer, nil)
		if err != nil {
			return err
		}
		for i := range 5 {
			hungRows = append(hungRows, &models.Message{ConversationID: c.ID, Channel: "hung", ChatID: "h1", Text: fmt.Sprint("h", i)})
		}
		return s.QueueOutbound(ctx, hungRows)
	})
	if err != nil {
		t.Fatal(err)
	}
	good := e.queue(t, []string{"g1", "g2", "g3", "bad"}, 10, nil)
	o := e.opts()
	o.Workers, o.MaxAttempts = 2, 1000
	d := NewDispatcher(o)
	d.AddChannel(hung, "")
	d.AddChannel(fast, "")
	stop := runDispatcher(t, d)
	var healthy []*models.Message
	for _, r := range good {
		if r.ChatID != "bad" {
			healthy = append(healthy, r)
		}
	}
	e.waitStatus(t, healthy, models.StatusSent)
	if n := hung.started(); n != 1 {
		t.Errorf("hung channel: %d sends started; want 1 (its chat waits for the first)", n)
	}
	for _, r := range hungRows {
		if m := e.msg(t, r.ID); m.Status != models.StatusPending {
			t.Errorf("hung row %d is %s; want pending", r.ID, m.Status)
		}
	}
	once.Do(func() { close(release) })
	e.waitStatus(t, hungRows, models.StatusSent)
	stop()
}

// TestDispatcherForgetsSettledRowsAfterASweep: the ids of settled rows are
// kept only while stale news of them can arrive — for a row Notify
// brought in, until the next sweep starts. At thousands of replies a
// second, keeping each for minutes had held over a million ids.
func TestDispatcherForgetsSettledRowsAfterASweep(t *testing.T) {
	e := newDispEnv(t)
	f := newDispFake(nil)
	d := NewDispatcher(e.opts())
	d.AddChannel(f, "")
	runDispatcher(t, d)
	rows := e.queue(t, []string{"a", "b"}, 50, nil)
	d.Notify(rows)
	e.waitStatus(t, rows, models.StatusSent)
	d.mu.Lock()
	l := d.lanes[f.Name()]
	d.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		n := len(l.finished)
		l.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d settled rows still remembered after the sweeps that followed", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := f.delivered(); len(got) != len(rows) {
		t.Errorf("delivered %d rows; want %d", len(got), len(rows))
	}
}
