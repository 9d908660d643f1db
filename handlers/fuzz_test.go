package handlers_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
)

// errorLog fails the fuzz run on any error-level log line: a handler that
// fails or panics is caught by the engine (the customer gets an apology),
// so only the log tells.
type errorLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	l.seen = append(l.seen, msg)
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }
func (l *errorLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.seen
	l.seen = nil
	return s
}

// FuzzHandlers drives the real handlers with arbitrary text and forged
// button data, as a customer and as staff: nothing may fail or panic, and
// a customer's forged staff button does nothing.
func FuzzHandlers(f *testing.F) {
	for _, s := range []struct{ text, data string }{
		{"I want to complain", ""}, {"", "cg:logistics"}, {"", "cc:logistics.damaged"}, {"", "cp:done"},
		{"", "st:claim:T-1001"}, {"", "st:priority:T-1001:P9"}, {"", "st:resolve:"}, {"", "fu:yes"}, {"", "lang:xx"},
		{"/reply T-1001 hi", ""}, {"/priority T-1001 P0", ""}, {"/compensate T-1001 points -5", ""}, {"/transfer", ""},
		{"转人工", ""}, {"", "handoff:cancel"}, {"", "menu:nope"}, {"/resolve T-99999999999999999999", ""},
		{"where is my order 20261101001", ""}, {"", "ord:s:20261101001"}, {"", "ord:r:x"}, {"", "rt:i:99"}, {"", "rt:r:nope"},
		{"", "rt:done"}, {"/approve T-1001 ok", ""}, {"/reject T-1001", ""}, {"/return 123456789", ""}, {"/orders", ""},
		{"", "sv:a:1:0:5"}, {"", "sv:a:1:0:99"}, {"", "sv:s:1:0"}, {"", "sv:d:1:7"}, {"", "sv:stop"}, {"", "sv:a:x:-1"}, {"/nosurvey", ""},
	} {
		f.Add(s.text, s.data, false)
		f.Add(s.text, s.data, true)
	}
	ctx := context.Background()
	logs := &errorLog{}
	e, db := newEngine(f, setup{Log: slog.New(logs)})
	// A ticket to act on, so staff buttons and commands reach real code.
	if _, err := e.Handle(ctx, bot.Inbound{Channel: "console", ChatID: "c:ann", UserID: "ann", MessageID: "seed", Text: "转人工"}); err != nil {
		f.Fatal(err)
	}
	var n int
	f.Fuzz(func(t *testing.T, text, data string, staff bool) {
		n++
		in := bot.Inbound{Channel: "console", ChatID: "c:ann", UserID: "ann", MessageID: fmt.Sprint("f", n, time.Now().UnixNano()),
			Text: text, Data: data}
		if staff {
			in.ChatID, in.UserID, in.Staff, in.Room = "staff", "mei", true, true
		}
		before, _ := db.Read().AuditLogs(ctx, 1)
		if _, err := e.Handle(ctx, in); err != nil {
			t.Fatalf("Handle(%q, %q, staff=%v): %v", text, data, staff, err)
		}
		if errs := logs.take(); len(errs) > 0 {
			t.Fatalf("Handle(%q, %q, staff=%v) logged errors: %s", text, data, staff, strings.Join(errs, "; "))
		}
		if !staff && strings.HasPrefix(data, "st:") {
			after, _ := db.Read().AuditLogs(ctx, 1)
			if len(after) != len(before) || len(after) > 0 && after[0].ID != before[0].ID {
				t.Fatalf("a customer's forged staff button %q changed the audit log", data)
			}
		}
	})
}
