package discord

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot/discord/discordtest"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestReconnectLosesNothing cuts the gateway while customers and staff
// write, then lets it come back: either the session resumes (Discord
// replays) or Discord refuses the resume (INVALID_SESSION: only REST has
// the messages). Either way every message is answered exactly once.
func TestReconnectLosesNothing(t *testing.T) {
	for _, tc := range []struct {
		name       string
		invalidate bool
	}{
		{"resumed", false},
		{"invalid session", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := newEnv(t, nil, "")
			f := ev.f
			var users []discordtest.User
			for i := range 3 {
				u := user(f, fmt.Sprintf("c%d", i))
				users = append(users, u)
				f.Say(u, "", "/help")
			}
			ann, mei := user(f, "ann"), user(f, "mei")
			f.AddMember(mei.ID, ev.role)
			_, thread := openTicket(t, ev, ann)
			for _, u := range users {
				ev.waitBot(t, f.DMChannel(u.ID), 1)
			}
			annBefore := len(f.BotMessages(f.DMChannel(ann.ID)))
			// Let the cursors reach the database, as they would in a long run.
			time.Sleep(150 * time.Millisecond)

			f.Disconnect(tc.invalidate)
			for _, u := range users {
				f.Say(u, "", "/help")
				f.Say(u, "", "/language")
			}
			f.Say(mei, thread, "Sorry for the wait, a refund is on its way.")
			time.Sleep(300 * time.Millisecond)
			f.Up()

			for _, u := range users {
				ev.waitBot(t, f.DMChannel(u.ID), 3)
			}
			ev.waitBot(t, f.DMChannel(ann.ID), annBefore+1)
			// Exactly once: nothing more arrives.
			time.Sleep(700 * time.Millisecond)
			for _, u := range users {
				if got := texts(f.BotMessages(f.DMChannel(u.ID))); len(got) != 3 {
					t.Errorf("%s got %d answers, want 3: %q", u.Username, len(got), got)
				}
			}
			got := texts(f.BotMessages(f.DMChannel(ann.ID)))
			if len(got) != annBefore+1 || !contains(got[annBefore], "a refund is on its way") {
				t.Errorf("ann got %q, want the staff answer once", got[annBefore:])
			}
			identifies, resumes := f.Sessions()
			if resumes < 1 || tc.invalidate != (identifies == 2) {
				t.Errorf("identifies %d, resumes %d", identifies, resumes)
			}
			if tc.invalidate && !contains(ev.logs.String(), "caught up on missed messages") {
				t.Errorf("no catch-up logged:\n%s", ev.logs)
			}
		})
	}
}

// TestRestartCatchesUp stops kefu, lets customers write, and starts it
// again on the same database: the saved cursors bring those messages in.
func TestRestartCatchesUp(t *testing.T) {
	f := discordtest.New(testToken)
	defer f.Close()
	dbPath := modelstest.DSN(t)
	ev := newEnv(t, f, dbPath)
	ann := user(f, "ann")
	f.Say(ann, "", "/help")
	dm := f.DMChannel(ann.ID)
	ev.waitBot(t, dm, 1)
	ev.stop()

	cur, err := openCursors(t, dbPath)
	if err != nil || cur[dm] == "" {
		t.Fatalf("cursor of the DM not saved: %v %v", cur, err)
	}
	f.Say(ann, "", "/language")
	f.Say(ann, "", "/help")
	ev2 := newEnv(t, f, dbPath)
	ev2.waitBot(t, dm, 3)
	time.Sleep(300 * time.Millisecond)
	if got := texts(f.BotMessages(dm)); len(got) != 3 {
		t.Errorf("answers = %d, want 3: %q", len(got), got)
	}
}

func TestCursorOrder(t *testing.T) {
	for _, tc := range []struct {
		x, y string
		want bool
	}{
		{"2", "1", true}, {"10", "9", true}, {"9", "10", false}, {"1", "", true}, {"", "1", false},
		{"1300000000000000001", "1300000000000000001", false},
		{"1300000000000000002", "999999999999999999", true},
	} {
		if got := later(tc.x, tc.y); got != tc.want {
			t.Errorf("later(%q, %q) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}

func openCursors(t *testing.T, path string) (map[string]string, error) {
	t.Helper()
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.Read().Cursors(context.Background(), Name, time.Now().Add(-time.Hour))
}

// TestLongOutagePages: hundreds of messages missed in one channel are
// fetched page by page, handed over in order, each once.
func TestLongOutagePages(t *testing.T) {
	f := discordtest.New(testToken)
	defer f.Close()
	a, err := New(context.Background(), Options{Token: testToken, APIBase: f.URL})
	if err != nil {
		t.Fatal(err)
	}
	e := &fakeEngine{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx, e) }()
	defer func() { cancel(); <-done }()
	f.Wait(5*time.Second, f.Connected)
	ann := discordtest.User{ID: f.NewID(), Username: "ann"}
	f.Say(ann, "", "m000")
	if !f.Wait(5*time.Second, func() bool { _, d := e.texts(); return len(d) == 1 }) {
		t.Fatal("first message not handled")
	}
	f.Disconnect(true)
	const missed = 250
	for i := 1; i <= missed; i++ {
		f.Say(ann, "", fmt.Sprintf("m%03d", i))
	}
	f.Up()
	if !f.Wait(15*time.Second, func() bool { _, d := e.texts(); return len(d) >= missed+1 }) {
		_, d := e.texts()
		t.Fatalf("handled %d of %d", len(d), missed+1)
	}
	time.Sleep(200 * time.Millisecond)
	_, got := e.texts()
	if len(got) != missed+1 {
		t.Fatalf("handled %d messages, want %d", len(got), missed+1)
	}
	for i, s := range got {
		if want := fmt.Sprintf("m%03d", i); s != want {
			t.Fatalf("message %d = %s, want %s (out of order or repeated)", i, s, want)
		}
	}
	pages := 0
	for _, r := range f.Requests() {
		if strings.Contains(r, "/messages") && strings.HasPrefix(r, "GET") {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("fetched %d pages, want 3 for %d messages", pages, missed)
	}
}
