package sla

import (
	"slices"
	"testing"
	"time"
)

func TestParseCalendar(t *testing.T) {
	mon, sat, sun := time.Monday, time.Saturday, time.Sunday
	tests := []struct {
		hours string
		day   time.Weekday
		want  []span // in minutes after midnight
	}{
		// 09:00 = 9*60 = 540, 18:00 = 1080.
		{"mon-fri 09:00-18:00", mon, []span{{540, 1080}}},
		{"mon-fri 09:00-18:00", sat, nil},
		// Two spans: 09:00-12:00 = 540-720, 13:30-18:00 = 810-1080.
		{"mon-fri 09:00-12:00,13:30-18:00; sat 10:00-16:00", mon, []span{{540, 720}, {810, 1080}}},
		// Spaces after commas and upper-case day names are fine; 10:00-16:00 = 600-960.
		{"MON-Fri 09:00-12:00, 13:30-18:00 ; Sat 10:00-16:00;", sat, []span{{600, 960}}},
		// Day lists: sat,sun both get 10:00-16:00.
		{"sat,sun 10:00-16:00", sun, []span{{600, 960}}},
		// 24:00 is 1440, the end of the day.
		{"mon-sun 00:00-24:00", sun, []span{{0, 1440}}},
		{"24/7", mon, []span{{0, 1440}}},
		// Overlapping or touching spans merge: 09-12 + 11-14 + 14-15 = 09-15 (540-900).
		{"mon 09:00-12:00; mon 11:00-14:00,14:00-15:00", mon, []span{{540, 900}}},
		// Out-of-order spans are sorted: 13:00-14:00 (780-840) after 08:00-09:00 (480-540).
		{"mon 13:00-14:00,08:00-09:00", mon, []span{{480, 540}, {780, 840}}},
	}
	for _, tt := range tests {
		c, err := ParseCalendar(shanghai, tt.hours, nil, nil)
		if err != nil {
			t.Errorf("ParseCalendar(%q): %v", tt.hours, err)
			continue
		}
		if got := c.week[tt.day]; !slices.Equal(got, tt.want) {
			t.Errorf("ParseCalendar(%q) %v = %v, want %v", tt.hours, tt.day, got, tt.want)
		}
		if c.String() != tt.hours || c.Location() != shanghai {
			t.Errorf("ParseCalendar(%q): String %q, Location %v", tt.hours, c.String(), c.Location())
		}
	}
}

func TestParseCalendarErrors(t *testing.T) {
	tests := []struct {
		hours              string
		holidays, workdays []string
		want               string
	}{
		{"mon-fri 9-18", nil, nil, `sla: hours "mon-fri 9-18": time "9" is not HH:MM`},
		{"mon-fri 09:00-6pm", nil, nil, `sla: hours "mon-fri 09:00-6pm": time "6pm" is not HH:MM`},
		{"", nil, nil, `sla: hours "": no opening hours`},
		{" ; ", nil, nil, `sla: hours " ; ": no opening hours`},
		{"mon-fri", nil, nil, `sla: hours "mon-fri": clause "mon-fri" has no opening times (want e.g. "mon-fri 09:00-18:00")`},
		{"monday 09:00-18:00", nil, nil, `sla: hours "monday 09:00-18:00": day "monday" is not one of mon, tue, wed, thu, fri, sat, sun`},
		{"fri-mon 09:00-18:00", nil, nil, `sla: hours "fri-mon 09:00-18:00": day range "fri-mon" wraps around the week; split it: "fri-sun; mon"`},
		{"sat-tue 09:00-18:00", nil, nil, `sla: hours "sat-tue 09:00-18:00": day range "sat-tue" wraps around the week; split it: "sat-sun; mon-tue"`},
		{"mon 22:00-06:00", nil, nil, `sla: hours "mon 22:00-06:00": span "22:00-06:00" ends before it starts; spans may not run past midnight: split it at 24:00`},
		{"mon 09:00-09:00", nil, nil, `sla: hours "mon 09:00-09:00": span "09:00-09:00" is empty`},
		{"mon 09:00", nil, nil, `sla: hours "mon 09:00": span "09:00" is not HH:MM-HH:MM`},
		{"mon 09:00-24:30", nil, nil, `sla: hours "mon 09:00-24:30": time "24:30" is out of range 00:00-24:00`},
		{"mon 09:60-10:00", nil, nil, `sla: hours "mon 09:60-10:00": time "09:60" is out of range 00:00-24:00`},
		{"mon-fri 09:00-18:00", []string{"2026-13-01"}, nil, `sla: holiday "2026-13-01" is not a date YYYY-MM-DD`},
		{"mon-fri 09:00-18:00", nil, []string{"10/10/2026"}, `sla: workday "10/10/2026" is not a date YYYY-MM-DD`},
		{"mon-fri 09:00-18:00", []string{"2026-10-01"}, []string{" 2026-10-01"}, `sla: date "2026-10-01" is both a holiday and a workday`},
		{"sat 10:00-16:00", nil, []string{"2026-10-10"}, `sla: workday "2026-10-10": make-up workdays use Monday's hours, but hours "sat 10:00-16:00" leave Monday closed`},
	}
	for _, tt := range tests {
		c, err := ParseCalendar(shanghai, tt.hours, tt.holidays, tt.workdays)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseCalendar(%q, %q, %q) error\n got %v\nwant %s", tt.hours, tt.holidays, tt.workdays, err, tt.want)
		}
		if c.open || c.loc != nil {
			t.Errorf("ParseCalendar(%q) returned a non-zero Calendar with its error", tt.hours)
		}
	}
}

func TestMustParseCalendarPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParseCalendar did not panic on a bad spec")
		}
	}()
	MustParseCalendar(nil, "mon-fri 9-18", nil, nil)
}

func TestIsOpen(t *testing.T) {
	tests := []struct {
		name string
		c    Calendar
		t    time.Time
		want bool
	}{
		// Spans are half-open [open, close).
		{"office opens at 09:00", office, tm(shanghai, "2026-03-02 09:00"), true},
		{"office before opening", office, tm(shanghai, "2026-03-02 08:59:59"), false},
		{"office last second", office, tm(shanghai, "2026-03-02 17:59:59"), true},
		{"office closes at 18:00", office, tm(shanghai, "2026-03-02 18:00"), false},
		{"office Saturday", office, tm(shanghai, "2026-03-07 12:00"), false},
		// 01:00 UTC is 09:00 in Shanghai (UTC+8): the input's zone does not matter.
		{"office instant given in UTC", office, tm(time.UTC, "2026-03-02 01:00"), true},
		{"split lunch starts 12:00", split, tm(shanghai, "2026-03-02 12:00"), false},
		{"split afternoon 13:30", split, tm(shanghai, "2026-03-02 13:30"), true},
		{"split Saturday 10:00", split, tm(shanghai, "2026-03-07 10:00"), true},
		{"split Saturday 16:00", split, tm(shanghai, "2026-03-07 16:00"), false},
		{"split Sunday", split, tm(shanghai, "2026-03-08 11:00"), false},
		// Thu 2026-10-01 is a holiday though Thursday has hours.
		{"cn2026 National Day", cn2026, tm(shanghai, "2026-10-01 10:00"), false},
		// Sat 2026-10-10 is a make-up day with Monday's 09:00-18:00.
		{"cn2026 make-up Saturday", cn2026, tm(shanghai, "2026-10-10 10:00"), true},
		{"cn2026 make-up Saturday early", cn2026, tm(shanghai, "2026-10-10 08:30"), false},
		{"cn2026 ordinary Saturday", cn2026, tm(shanghai, "2026-10-17 10:00"), false},
		{"24/7 Sunday night", always, tm(shanghai, "2026-03-08 23:59"), true},
		{"24/7 holiday closed", alwaysButNational, tm(shanghai, "2026-10-01 12:00"), false},
		{"24/7 day after holiday", alwaysButNational, tm(shanghai, "2026-10-02 00:00"), true},
		// Midnight between two 00:00-24:00 days is open (it starts Monday's span).
		{"all days midnight", nyAllDays, tm(newYork, "2026-03-09 00:00"), true},
		{"night shift Friday 23:59", nightShift, tm(shanghai, "2026-03-06 23:59"), true},
		{"night shift Saturday midnight", nightShift, tm(shanghai, "2026-03-07 00:00"), true},
		{"night shift Saturday 06:00", nightShift, tm(shanghai, "2026-03-07 06:00"), false},
		// 09:30 EDT on the first Monday after the spring-forward jump.
		{"NY after spring forward", nyOffice, tm(newYork, "2026-03-09 09:30"), true},
		// 14:00 UTC is 09:00 EST (UTC-5) after Nov 1 but 10:00 EDT before: open both ways.
		{"NY 14:00 UTC in EST", nyOffice, tm(time.UTC, "2026-11-02 14:00"), true},
		// 13:30 UTC is 08:30 EST: closed, though it would be 09:30 in EDT.
		{"NY 13:30 UTC in EST", nyOffice, tm(time.UTC, "2026-11-02 13:30"), false},
		// 02:30-05:00 on Sun Mar 8: 02:30 does not exist, the span opens at the jump, 03:00 EDT.
		{"NY span in the gap, 01:59 EST", nyOddHours, tm(newYork, "2026-03-08 01:59"), false},
		{"NY span in the gap, 03:00 EDT", nyOddHours, tm(newYork, "2026-03-08 03:00"), true},
		{"zero Calendar", Calendar{}, tm(time.UTC, "2026-03-02 12:00"), false},
	}
	for _, tt := range tests {
		if got := tt.c.IsOpen(tt.t); got != tt.want {
			t.Errorf("%s: IsOpen(%s) = %v, want %v", tt.name, fmtT(tt.t), got, tt.want)
		}
	}
}

func TestNextOpen(t *testing.T) {
	// A 24/7 calendar with 450 days of holidays from 2026-01-01: closed
	// longer than NextOpen looks (400 days).
	var long []string
	for d := range 450 {
		long = append(long, time.Date(2026, 1, 1+d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
	}
	closedLong := MustParseCalendar(shanghai, "24/7", long, nil)

	tests := []struct {
		name    string
		c       Calendar
		t, want time.Time
	}{
		{"open: t itself", office, tm(shanghai, "2026-03-02 10:17"), tm(shanghai, "2026-03-02 10:17")},
		{"before opening", office, tm(shanghai, "2026-03-02 07:00"), tm(shanghai, "2026-03-02 09:00")},
		// Friday 20:00: Saturday and Sunday closed, Monday 09:00.
		{"Friday evening", office, tm(shanghai, "2026-03-06 20:00"), tm(shanghai, "2026-03-09 09:00")},
		// At closing time the span is over.
		{"at closing", office, tm(shanghai, "2026-03-06 18:00"), tm(shanghai, "2026-03-09 09:00")},
		{"lunch", split, tm(shanghai, "2026-03-02 12:30"), tm(shanghai, "2026-03-02 13:30")},
		{"Friday close to Saturday", split, tm(shanghai, "2026-03-06 18:00"), tm(shanghai, "2026-03-07 10:00")},
		// Wed Sep 30 18:00: Oct 1-7 holidays, Thu Oct 8 09:00.
		{"National Day", cn2026, tm(shanghai, "2026-09-30 18:00"), tm(shanghai, "2026-10-08 09:00")},
		// Sat Sep 19: Sunday Sep 20 is a make-up day.
		{"make-up Sunday", cn2026, tm(shanghai, "2026-09-19 12:00"), tm(shanghai, "2026-09-20 09:00")},
		// Fri Mar 6 20:00 EST: Monday 09:00 is EDT (UTC-4) after the jump.
		{"NY across spring forward", nyOffice, tm(newYork, "2026-03-06 20:00"), tm(newYork, "2026-03-09 09:00 -0400")},
		// The Sunday span 02:30-05:00 opens at the jump: 03:00 EDT = 07:00 UTC.
		{"NY span starting in the gap", nyOddHours, tm(newYork, "2026-03-08 00:00"), tm(time.UTC, "2026-03-08 07:00")},
		{"zero Calendar: t", Calendar{}, tm(time.UTC, "2026-03-02 12:00"), tm(time.UTC, "2026-03-02 12:00")},
		// Closed for 450 days from t: nothing within 400 days, so t.
		{"closed over 400 days: t", closedLong, tm(shanghai, "2026-01-01 00:00"), tm(shanghai, "2026-01-01 00:00")},
		// From day 60 the reopening (day 450 = 2027-03-27) is 390 days away: found.
		{"closed 390 more days", closedLong, tm(shanghai, "2026-03-02 00:00"), tm(shanghai, "2027-03-27 00:00")},
	}
	for _, tt := range tests {
		got := tt.c.NextOpen(tt.t)
		if !got.Equal(tt.want) {
			t.Errorf("%s: NextOpen(%s) = %s, want %s", tt.name, fmtT(tt.t), fmtT(got), fmtT(tt.want))
		}
		if tt.c.open && !got.Equal(tt.t) && !tt.c.IsOpen(got) {
			t.Errorf("%s: NextOpen(%s) = %s, which is closed", tt.name, fmtT(tt.t), fmtT(got))
		}
	}
	// Add does not give up where NextOpen does: 1h after the 450 days.
	if got, want := closedLong.Add(tm(shanghai, "2026-01-01 00:00"), time.Hour), tm(shanghai, "2027-03-27 01:00"); !got.Equal(want) {
		t.Errorf("Add over 450 holidays = %s, want %s", fmtT(got), fmtT(want))
	}
}
