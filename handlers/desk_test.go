package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/models"
)

// TestConcurrentClaims has two staff, in two staff rooms (so their turns
// really run side by side), claim the same ticket at once, many times:
// exactly one wins each time and the other is told who has it.
func TestConcurrentClaims(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var rows []*models.Message
	e, _ := newEngine(t, setup{Notify: func(m []*models.Message) { mu.Lock(); rows = append(rows, m...); mu.Unlock() }})
	seq := 0
	in := func(user, chat, text string, staff bool) bot.Inbound {
		seq++
		return bot.Inbound{Channel: "console", ChatID: chat, UserID: user, UserName: user, MessageID: fmt.Sprint(seq),
			Text: text, Staff: staff, Room: staff}
	}
	for round := 1; round <= 10; round++ {
		cust := fmt.Sprint("cust", round)
		if _, err := e.Handle(ctx, in(cust, "customer:"+cust, "I want to talk to a person", false)); err != nil {
			t.Fatal(err)
		}
		ref := models.TicketRef(uint64(round))
		mu.Lock()
		rows = nil
		mu.Unlock()
		var wg sync.WaitGroup
		for _, staff := range []struct{ name, room string }{{"mei", "staff"}, {"jun", "staff-2"}} {
			m := in(staff.name, staff.room, "/claim "+ref, true)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.Handle(ctx, m); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		var won, told int
		mu.Lock()
		for _, m := range rows {
			switch {
			case strings.HasPrefix(m.Text, "You have claimed "+ref):
				won++
			case strings.Contains(m.Text, ref+" is already claimed by console:"):
				told++
			}
		}
		mu.Unlock()
		if won != 1 || told != 1 {
			t.Fatalf("round %d: %d won, %d told; want exactly one of each", round, won, told)
		}
	}
}

// TestTicketReport checks the report against figures worked out by hand.
func TestTicketReport(t *testing.T) {
	now := time.Date(2026, 11, 11, 12, 0, 0, 0, time.UTC)
	at := func(h float64) *time.Time { v := now.Add(time.Duration(h * float64(time.Hour))); return &v }
	ts := []models.Ticket{
		// P2 targets: first response 2h, resolution 24h (always open).
		// Answered after 1h (met), resolved after 10h (met).
		{ID: 1, Category: "logistics.delay", Priority: "P2", Status: models.TicketResolved, CreatedAt: *at(-48),
			FirstResponseAt: at(-47), ResolvedAt: at(-38)},
		// Answered after 3h (missed). Resolved after 30h, 10h of them waiting
		// on the customer: 20h of clock (met).
		{ID: 2, Category: "logistics.delay", Priority: "P2", Status: models.TicketClosed, CreatedAt: *at(-48),
			FirstResponseAt: at(-45), ResolvedAt: at(-18), Pauses: []models.Pause{{Start: *at(-46), End: *at(-36)}}},
		// P1, 30m first-response target: unanswered for 1h, so already
		// missed; the 4h resolution clock is still running (not judged).
		{ID: 3, Category: "product.counterfeit", Priority: "P1", Status: models.TicketNew, CreatedAt: *at(-1)},
		// P3 handoff, 1h old: nothing to judge yet.
		{ID: 4, Priority: "P3", Status: models.TicketOpen, CreatedAt: *at(-1)},
	}
	r := handlers.BuildTicketReport(handlers.Deps{}, ts, now.Add(-720*time.Hour), now)
	type row struct {
		cat, prio                     string
		total, open, resolved         int
		medFR, medRes                 time.Duration
		frMet, frMeas, resMet, resMes int
		attain                        float64
	}
	got := func(s handlers.TicketStats) row {
		return row{s.Category, s.Priority, s.Total, s.Open, s.Resolved, s.MedianFirstResponse, s.MedianResolution,
			s.FirstResponseMet, s.FirstResponseMeasured, s.ResolutionMet, s.ResolutionMeasured, s.SLAAttainment}
	}
	want := []row{
		{"-", "P3", 1, 1, 0, 0, 0, 0, 0, 0, 0, -1},
		// medians: (1h+3h)/2 and (10h+30h)/2; attainment (1+2)/(2+2)
		{"logistics.delay", "P2", 2, 0, 2, 2 * time.Hour, 20 * time.Hour, 1, 2, 2, 2, 0.75},
		{"product.counterfeit", "P1", 1, 1, 0, 0, 0, 0, 1, 0, 0, 0},
	}
	if len(r.Rows) != len(want) {
		t.Fatalf("rows = %d; want %d", len(r.Rows), len(want))
	}
	for i := range want {
		if g := got(r.Rows[i]); g != want[i] {
			t.Errorf("row %d = %+v; want %+v", i, g, want[i])
		}
	}
	// all: 4 tickets, first response 1 met of 3 judged, resolution 2 of 2: 3/5
	if g, w := got(r.Total), (row{"all", "all", 4, 2, 2, 2 * time.Hour, 20 * time.Hour, 1, 3, 2, 2, 0.6}); g != w {
		t.Errorf("total = %+v; want %+v", g, w)
	}
}
