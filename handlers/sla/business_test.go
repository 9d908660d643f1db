package sla

import (
	"testing"
	"time"
)

func TestAdd(t *testing.T) {
	h, m := time.Hour, time.Minute
	tests := []struct {
		name  string
		c     Calendar
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		// Closed Fri 20:00 → Mon 09:00; then 1h.
		{"Friday 20:00 + 1h", office, tm(shanghai, "2026-03-06 20:00"), h, tm(shanghai, "2026-03-09 10:00")},
		// 09:00 + 9h is exactly closing time: Add returns 18:00, not Tuesday 09:00.
		{"full day ends at closing", office, tm(shanghai, "2026-03-02 09:00"), 9 * h, tm(shanghai, "2026-03-02 18:00")},
		// 9h fills Monday; the extra minute is Tuesday 09:00-09:01.
		{"one minute past a day", office, tm(shanghai, "2026-03-02 09:00"), 9*h + m, tm(shanghai, "2026-03-03 09:01")},
		// 17:30-18:00 is 30m; the other 30m is Tuesday 09:00-09:30.
		{"across the night", office, tm(shanghai, "2026-03-02 17:30"), h, tm(shanghai, "2026-03-03 09:30")},
		// Friday 17:00-18:00 is 1h; weekend closed; Monday 09:00 + 1h.
		{"across the weekend", office, tm(shanghai, "2026-03-06 17:00"), 2 * h, tm(shanghai, "2026-03-09 10:00")},
		{"from Saturday", office, tm(shanghai, "2026-03-07 12:00"), 30 * m, tm(shanghai, "2026-03-09 09:30")},
		// Zero or negative durations return start, even outside hours.
		{"zero duration", office, tm(shanghai, "2026-03-02 07:00"), 0, tm(shanghai, "2026-03-02 07:00")},
		{"negative duration", office, tm(shanghai, "2026-03-02 10:00"), -h, tm(shanghai, "2026-03-02 10:00")},
		// 12:00 UTC is Fri 20:00 Shanghai: same as the first case.
		{"start given in UTC", office, tm(time.UTC, "2026-03-06 12:00"), h, tm(shanghai, "2026-03-09 10:00")},
		// 168h = 18 days of 9h + 6h. Working days from Mon Mar 2: Mar 2-6, 9-13,
		// 16-20 (15 days), 23-25 (18 days) end Wed Mar 25 18:00; + 6h is Thu Mar 26 15:00.
		{"P4 resolution, 168h over four weeks", office, tm(shanghai, "2026-03-02 09:00"), 168 * h, tm(shanghai, "2026-03-26 15:00")},
		// 11:30-12:00 is 30m; lunch; 13:30 + 30m.
		{"split over lunch", split, tm(shanghai, "2026-03-02 11:30"), h, tm(shanghai, "2026-03-02 14:00")},
		// Friday 17:00-18:00 is 1h; Saturday opens 10:00, + 1h.
		{"split into Saturday", split, tm(shanghai, "2026-03-06 17:00"), 2 * h, tm(shanghai, "2026-03-07 11:00")},
		// Wed Sep 30 17:00-18:00 is 1h; Oct 1-7 holidays; Thu Oct 8 09:00 + 1h.
		{"over National Day", cn2026, tm(shanghai, "2026-09-30 17:00"), 2 * h, tm(shanghai, "2026-10-08 10:00")},
		// Fri Oct 9 17:00-18:00 is 1h; Sat Oct 10 is a make-up day from 09:00, + 1h.
		{"into make-up Saturday", cn2026, tm(shanghai, "2026-10-09 17:00"), 2 * h, tm(shanghai, "2026-10-10 10:00")},
		// Saturday Sep 19 closed; make-up Sunday Sep 20 09:00 + 9h = 18:00.
		{"make-up Sunday", cn2026, tm(shanghai, "2026-09-19 10:00"), 9 * h, tm(shanghai, "2026-09-20 18:00")},
		// 72h = 8 days of 9h from Mon Sep 28: Sep 28, 29, 30 (3), Oct 1-7 off,
		// Oct 8, 9 (5), Sat Oct 10 make-up (6), Sun off, Oct 12, 13 (8): Tue Oct 13 18:00.
		{"P3 resolution over National Day", cn2026, tm(shanghai, "2026-09-28 09:00"), 72 * h, tm(shanghai, "2026-10-13 18:00")},
		// Sunday 23:00-24:00 is 1h, Monday 00:00 + 1h.
		{"span ending at 24:00", MustParseCalendar(shanghai, "mon-sun 00:00-24:00", nil, nil), tm(shanghai, "2026-03-08 23:00"), 2 * h, tm(shanghai, "2026-03-09 01:00")},
		// Friday 23:00-24:00 is 1h, Saturday 00:00-06:00 continues: 01:00.
		{"night shift over midnight", nightShift, tm(shanghai, "2026-03-06 23:00"), 2 * h, tm(shanghai, "2026-03-07 01:00")},
		// Saturday 05:00-06:00 is 1h; next opening Friday 18:00, + 1h.
		{"night shift to next week", nightShift, tm(shanghai, "2026-03-07 05:00"), 2 * h, tm(shanghai, "2026-03-13 19:00")},
		{"24/7 is real time", always, tm(shanghai, "2026-03-06 20:00"), 36 * h, tm(shanghai, "2026-03-08 08:00")},
		// Wed Sep 30 23:00-24:00 is 1h; Oct 1 closed; Oct 2 00:00 + 1h.
		{"24/7 closed on a holiday", alwaysButNational, tm(shanghai, "2026-09-30 23:00"), 2 * h, tm(shanghai, "2026-10-02 01:00")},
		{"zero Calendar returns start", Calendar{}, tm(time.UTC, "2026-03-02 12:00"), h, tm(time.UTC, "2026-03-02 12:00")},
	}
	for _, tt := range tests {
		got := tt.c.Add(tt.start, tt.d)
		if !got.Equal(tt.want) {
			t.Errorf("%s: Add(%s, %v) = %s, want %s", tt.name, fmtT(tt.start), tt.d, fmtT(got), fmtT(tt.want))
		}
		if got.Location() != tt.c.Location() {
			t.Errorf("%s: Add result in %v, want the calendar's %v", tt.name, got.Location(), tt.c.Location())
		}
	}
}

func TestElapsed(t *testing.T) {
	h, m := time.Hour, time.Minute
	tests := []struct {
		name string
		c    Calendar
		a, b time.Time
		want time.Duration
	}{
		{"empty interval", office, tm(shanghai, "2026-03-02 10:00"), tm(shanghai, "2026-03-02 10:00"), 0},
		{"b before a", office, tm(shanghai, "2026-03-02 12:00"), tm(shanghai, "2026-03-02 10:00"), 0},
		{"one working day", office, tm(shanghai, "2026-03-02 09:00"), tm(shanghai, "2026-03-02 18:00"), 9 * h},
		// Only Mon 09:00-10:00 is open.
		{"Friday night to Monday", office, tm(shanghai, "2026-03-06 20:00"), tm(shanghai, "2026-03-09 10:00"), h},
		// Mon-Fri, 5 × 9h; the hours outside are not counted.
		{"whole week", office, tm(shanghai, "2026-03-02 08:00"), tm(shanghai, "2026-03-06 20:00"), 45 * h},
		{"closed throughout", office, tm(shanghai, "2026-03-07 00:00"), tm(shanghai, "2026-03-08 23:59"), 0},
		// 3h morning + 4h30m afternoon.
		{"split day", split, tm(shanghai, "2026-03-02 00:00"), tm(shanghai, "2026-03-03 00:00"), 7*h + 30*m},
		// 11:00-12:00 is 1h, 13:30-14:00 is 30m.
		{"split across lunch", split, tm(shanghai, "2026-03-02 11:00"), tm(shanghai, "2026-03-02 14:00"), h + 30*m},
		// 5 × 7h30m + Saturday 6h = 43h30m.
		{"split week", split, tm(shanghai, "2026-03-02 00:00"), tm(shanghai, "2026-03-09 00:00"), 43*h + 30*m},
		// Working days Mon Sep 28 - Sun Oct 11: Sep 28, 29, 30, Oct 8, 9 and the
		// make-up Sat Oct 10; Oct 1-7 are holidays: 6 × 9h.
		{"two weeks over National Day", cn2026, tm(shanghai, "2026-09-28 00:00"), tm(shanghai, "2026-10-12 00:00"), 54 * h},
		// Sep 14-18 (5), make-up Sun Sep 20 (6), Sep 21-25 (11), Sep 28-30 (14),
		// Oct 8-9 (16), make-up Sat Oct 10 (17): 17 × 9h = 153h.
		{"four weeks over National Day", cn2026, tm(shanghai, "2026-09-14 00:00"), tm(shanghai, "2026-10-12 00:00"), 153 * h},
		{"24/7 is real time", always, tm(shanghai, "2026-03-02 10:00"), tm(shanghai, "2026-03-05 12:30"), 74*h + 30*m},
		// 48h minus the 24h of Oct 1.
		{"24/7 minus a holiday", alwaysButNational, tm(shanghai, "2026-09-30 12:00"), tm(shanghai, "2026-10-02 12:00"), 24 * h},
		// Fri 23:00-24:00 and Sat 00:00-01:00: two spans meeting at midnight.
		{"over midnight", nightShift, tm(shanghai, "2026-03-06 23:00"), tm(shanghai, "2026-03-07 01:00"), 2 * h},
		// The a and b zones are irrelevant: 01:00-10:00 UTC is 09:00-18:00 Shanghai.
		{"instants in UTC", office, tm(time.UTC, "2026-03-02 01:00"), tm(time.UTC, "2026-03-02 10:00"), 9 * h},
		{"zero Calendar", Calendar{}, tm(time.UTC, "2026-03-02 00:00"), tm(time.UTC, "2026-03-09 00:00"), 0},
	}
	for _, tt := range tests {
		if got := tt.c.Elapsed(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: Elapsed(%s, %s) = %v, want %v", tt.name, fmtT(tt.a), fmtT(tt.b), got, tt.want)
		}
	}
}

// TestDST checks America/New_York across the 2026 transitions (Sun Mar 8
// 02:00 EST → 03:00 EDT, Sun Nov 1 02:00 EDT → 01:00 EST) and Asia/Shanghai,
// which has none.
func TestDST(t *testing.T) {
	h := time.Hour
	shAllDays := MustParseCalendar(shanghai, "mon-sun 00:00-24:00", nil, nil)

	elapsed := []struct {
		name string
		c    Calendar
		a, b time.Time
		want time.Duration
	}{
		// Midnight to midnight on spring-forward day: 23 real hours.
		{"NY spring day is 23h", nyAllDays, tm(newYork, "2026-03-08 00:00"), tm(newYork, "2026-03-09 00:00"), 23 * h},
		// Midnight to midnight on fall-back day: 25 real hours.
		{"NY fall day is 25h", nyAllDays, tm(newYork, "2026-11-01 00:00"), tm(newYork, "2026-11-02 00:00"), 25 * h},
		// The week of Mar 2-9 minus the lost hour: 7 × 24 - 1.
		{"NY spring week", nyAllDays, tm(newYork, "2026-03-02 00:00"), tm(newYork, "2026-03-09 00:00"), 167 * h},
		{"Shanghai same day is 24h", shAllDays, tm(shanghai, "2026-03-08 00:00"), tm(shanghai, "2026-03-09 00:00"), 24 * h},
		// Office hours stay 9h on the first days of EDT and EST.
		{"NY office day in EDT", nyOffice, tm(newYork, "2026-03-09 00:00"), tm(newYork, "2026-03-10 00:00"), 9 * h},
		{"NY office day in EST", nyOffice, tm(newYork, "2026-11-02 00:00"), tm(newYork, "2026-11-03 00:00"), 9 * h},
		// Fri 17:00 EST to Mon 10:00 EDT: 1h Friday + 1h Monday (64 real hours apart).
		{"NY office over the jump", nyOffice, tm(newYork, "2026-03-06 17:00"), tm(newYork, "2026-03-09 10:00"), 2 * h},
		// Sun Mar 8 02:30-05:00: opens at the jump, 03:00 EDT, so 2h.
		{"NY span starting in the gap", nyOddHours, tm(newYork, "2026-03-08 00:00"), tm(newYork, "2026-03-09 00:00"), 2 * h},
		// Sat Mar 7 01:00-02:00 EST is an ordinary hour the day before.
		{"NY span the day before", nyOddHours, tm(newYork, "2026-03-07 00:00"), tm(newYork, "2026-03-08 00:00"), h},
		// Wed 00:00-03:00 is 3h; no transition on a Wednesday.
		{"NY span on a Wednesday", nyOddHours, tm(newYork, "2026-03-04 00:00"), tm(newYork, "2026-03-05 00:00"), 3 * h},
		// Sun Nov 1 02:30-05:00 EST: after fall-back 02:30 is unambiguous, 2h30m.
		{"NY span after fall back", nyOddHours, tm(newYork, "2026-11-01 00:00"), tm(newYork, "2026-11-02 00:00"), 2*h + 30*time.Minute},
		// From 01:30 EDT to 01:30 EST is one real hour inside the repeated hour.
		{"NY repeated hour", nyAllDays, tm(newYork, "2026-11-01 01:30 -0400"), tm(newYork, "2026-11-01 01:30 -0500"), h},
	}
	for _, tt := range elapsed {
		if got := tt.c.Elapsed(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: Elapsed(%s, %s) = %v, want %v", tt.name, fmtT(tt.a), fmtT(tt.b), got, tt.want)
		}
	}

	add := []struct {
		name  string
		c     Calendar
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		// Fri 17:00-18:00 EST is 1h; Mon opens 09:00 EDT, + 1h = 10:00 EDT.
		{"NY office over the spring jump", nyOffice, tm(newYork, "2026-03-06 17:00"), 2 * h, tm(newYork, "2026-03-09 10:00 -0400")},
		// Same over the fall-back: Mon 10:00 EST.
		{"NY office over fall back", nyOffice, tm(newYork, "2026-10-30 17:00"), 2 * h, tm(newYork, "2026-11-02 10:00 -0500")},
		// 24 real hours from Sat 12:00 EST is Sun 13:00 EDT (the clock skipped an hour).
		{"NY all days over spring", nyAllDays, tm(newYork, "2026-03-07 12:00"), 24 * h, tm(newYork, "2026-03-08 13:00 -0400")},
		// 24 real hours from Sat 12:00 EDT is Sun 11:00 EST (the clock repeated an hour).
		{"NY all days over fall", nyAllDays, tm(newYork, "2026-10-31 12:00"), 24 * h, tm(newYork, "2026-11-01 11:00 -0500")},
		// One real hour after the first 01:30 is the second 01:30.
		{"NY inside the repeated hour", nyAllDays, tm(newYork, "2026-11-01 01:30 -0400"), h, tm(newYork, "2026-11-01 01:30 -0500")},
		// Sun Mar 8 from 00:00: 02:30-05:00 opens at 03:00 EDT; + 1h = 04:00 EDT.
		{"NY span in the gap", nyOddHours, tm(newYork, "2026-03-08 00:00"), h, tm(newYork, "2026-03-08 04:00 -0400")},
		{"Shanghai all days", shAllDays, tm(shanghai, "2026-03-07 12:00"), 24 * h, tm(shanghai, "2026-03-08 12:00")},
	}
	for _, tt := range add {
		if got := tt.c.Add(tt.start, tt.d); !got.Equal(tt.want) {
			t.Errorf("%s: Add(%s, %v) = %s, want %s", tt.name, fmtT(tt.start), tt.d, fmtT(got), fmtT(tt.want))
		}
	}
}
