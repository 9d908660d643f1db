package sla

import (
	"math"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	h, m := time.Hour, time.Minute
	at := func(s string) time.Time { return tm(shanghai, s) }
	monday10 := at("2026-03-02 10:00") // office: mon-fri 09:00-18:00 Shanghai
	tests := []struct {
		name     string
		k        Clock
		now      time.Time
		used     time.Duration
		due      time.Time
		paused   bool
		fraction float64
	}{
		{
			// 10:00-12:00 used; 4h target runs out at 14:00.
			name: "running", now: at("2026-03-02 12:00"),
			k:    Clock{Calendar: office, Start: monday10, Target: 4 * h},
			used: 2 * h, due: at("2026-03-02 14:00"), fraction: 0.5,
		},
		{
			// 10-11 and 12-13 count (2h); the 1h pause pushes 14:00 to 15:00.
			name: "one pause", now: at("2026-03-02 13:00"),
			k: Clock{Calendar: office, Start: monday10, Target: 4 * h,
				Pauses: []Interval{{at("2026-03-02 11:00"), at("2026-03-02 12:00")}}},
			used: 2 * h, due: at("2026-03-02 15:00"), fraction: 0.5,
		},
		{
			// The pause Mon 17:00 - Tue 10:00 covers only 2h of business time
			// (Mon 17-18, Tue 09-10). Used: Mon 10-17 (7h) + Tue 10-11 (1h) = 8h
			// = Target, so Due is now and Fraction exactly 1: breached.
			name: "pause over closed hours", now: at("2026-03-03 11:00"),
			k: Clock{Calendar: office, Start: monday10, Target: 8 * h,
				Pauses: []Interval{{at("2026-03-02 17:00"), at("2026-03-03 10:00")}}},
			used: 8 * h, due: at("2026-03-03 11:00"), fraction: 1,
		},
		{
			// Pauses unsorted and overlapping: 11:00-12:00 and 11:30-12:30 merge
			// to 11:00-12:30; plus 14:00-15:00. Running: 10-11 (1h), 12:30-14
			// (1h30m), 15-18 (3h), Tue 09-12 (3h) = 8h30m by Tue 12:00.
			// Due: 8h - 1h - 1h30m = 5h30m left at 15:00 → 3h Monday + 2h30m
			// Tuesday = Tue 11:30, already past.
			name: "multiple pauses, breached", now: at("2026-03-03 12:00"),
			k: Clock{Calendar: office, Start: monday10, Target: 8 * h, Pauses: []Interval{
				{at("2026-03-02 14:00"), at("2026-03-02 15:00")},
				{at("2026-03-02 11:00"), at("2026-03-02 12:00")},
				{at("2026-03-02 11:30"), at("2026-03-02 12:30")},
			}},
			used: 8*h + 30*m, due: at("2026-03-03 11:30"), fraction: 8.5 / 8,
		},
		{
			// Paused since 11:00 with no end: 1h used. Due as if resumed now
			// (15:00): 3h left → 18:00.
			name: "still paused", now: at("2026-03-02 15:00"),
			k: Clock{Calendar: office, Start: monday10, Target: 4 * h,
				Pauses: []Interval{{Start: at("2026-03-02 11:00")}}},
			used: h, due: at("2026-03-02 18:00"), paused: true, fraction: 0.25,
		},
		{
			// Same clock two hours later: Due moves to 1h Monday (17-18) +
			// 2h Tuesday = Tue 11:00.
			name: "still paused, later", now: at("2026-03-02 17:00"),
			k: Clock{Calendar: office, Start: monday10, Target: 4 * h,
				Pauses: []Interval{{Start: at("2026-03-02 11:00")}}},
			used: h, due: at("2026-03-03 11:00"), paused: true, fraction: 0.25,
		},
		{
			// A pause from before Start counts only from Start (10:00-10:30);
			// a pause ending before it starts is ignored. Used 10:30-12:00 =
			// 1h30m; Due 10:30 + 4h = 14:30.
			name: "pause before start, backwards pause", now: at("2026-03-02 12:00"),
			k: Clock{Calendar: office, Start: monday10, Target: 4 * h, Pauses: []Interval{
				{at("2026-03-02 08:00"), at("2026-03-02 10:30")},
				{at("2026-03-02 11:30"), at("2026-03-02 11:00")},
			}},
			used: h + 30*m, due: at("2026-03-02 14:30"), fraction: 1.5 / 4,
		},
		{
			// A pause with a known future end: only 11:00-12:00 of it is past.
			// Used 10-11 = 1h. Due: 1h, then from 13:00 3h left → 16:00.
			name: "pause ending after now", now: at("2026-03-02 12:00"),
			k: Clock{Calendar: office, Start: monday10, Target: 4 * h,
				Pauses: []Interval{{at("2026-03-02 11:00"), at("2026-03-02 13:00")}}},
			used: h, due: at("2026-03-02 16:00"), paused: true, fraction: 0.25,
		},
		{
			// Ticket opened Friday 20:00: nothing used over the weekend; 30m
			// first response is due Monday 09:30.
			name: "opened after hours", now: at("2026-03-08 12:00"),
			k:    Clock{Calendar: office, Start: at("2026-03-06 20:00"), Target: 30 * m},
			used: 0, due: at("2026-03-09 09:30"), fraction: 0,
		},
		{
			name: "now before start", now: at("2026-03-02 09:00"),
			k:    Clock{Calendar: office, Start: monday10, Target: 4 * h},
			used: 0, due: at("2026-03-02 14:00"), fraction: 0,
		},
		{
			// A zero target is due at Start and counts as breached.
			name: "zero target", now: at("2026-03-02 10:00"),
			k:    Clock{Calendar: office, Start: monday10},
			used: 0, due: monday10, fraction: 1,
		},
		{
			// P2 resolution (24h) from Wed Sep 30 16:00, customer away Sep 30
			// 17:00 - Oct 8 10:00. Runs Sep 30 16-17 (1h, 23h left), then from
			// Oct 8 10:00: Oct 8 10-18 (8h, 15h left), Oct 9 (9h, 6h left), make-up
			// Sat Oct 10 09:00 + 6h = 15:00.
			name: "pause over National Day", now: at("2026-10-08 12:00"),
			k: Clock{Calendar: cn2026, Start: at("2026-09-30 16:00"), Target: 24 * h,
				Pauses: []Interval{{at("2026-09-30 17:00"), at("2026-10-08 10:00")}}},
			used: 3 * h, due: at("2026-10-10 15:00"), fraction: 3.0 / 24,
		},
	}
	for _, tt := range tests {
		if got := tt.k.Used(tt.now); got != tt.used {
			t.Errorf("%s: Used = %v, want %v", tt.name, got, tt.used)
		}
		if got := tt.k.Due(tt.now); !got.Equal(tt.due) {
			t.Errorf("%s: Due = %s, want %s", tt.name, fmtT(got), fmtT(tt.due))
		}
		if got := tt.k.Fraction(tt.now); math.Abs(got-tt.fraction) > 1e-12 {
			t.Errorf("%s: Fraction = %v, want %v", tt.name, got, tt.fraction)
		}
		if got := tt.k.Paused(tt.now); got != tt.paused {
			t.Errorf("%s: Paused = %v, want %v", tt.name, got, tt.paused)
		}
		if got, want := tt.k.Remaining(tt.now), tt.k.Target-tt.used; got != want {
			t.Errorf("%s: Remaining = %v, want %v", tt.name, got, want)
		}
	}
}

// TestClockDueMatchesUsed: when no pause is open, the clock reads exactly
// Target at Due, whatever the pauses.
func TestClockDueMatchesUsed(t *testing.T) {
	at := func(s string) time.Time { return tm(newYork, s) }
	k := Clock{Calendar: nyOffice, Start: at("2026-03-05 16:00"), Target: 20 * time.Hour, Pauses: []Interval{
		{at("2026-03-05 17:00"), at("2026-03-09 11:00")}, // over the weekend and the DST jump
		{at("2026-03-10 08:00"), at("2026-03-10 09:30")},
	}}
	now := at("2026-03-10 12:00")
	due := k.Due(now)
	if got := k.Used(due); got != k.Target {
		t.Errorf("Used(Due) = %v, want Target %v (Due %s)", got, k.Target, fmtT(due))
	}
	if got := k.Used(due.Add(-time.Nanosecond)); got != k.Target-time.Nanosecond {
		t.Errorf("Used(Due-1ns) = %v, want %v", got, k.Target-time.Nanosecond)
	}
}
