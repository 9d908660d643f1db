package sla

import (
	"fmt"
	"time"
	_ "time/tzdata" // the zones below, even where the system has no zoneinfo
)

var (
	shanghai = mustLoc("Asia/Shanghai")    // UTC+8 all year, no DST
	newYork  = mustLoc("America/New_York") // 2026: EDT from Sun Mar 8 02:00, EST from Sun Nov 1 02:00
)

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// tm parses "2006-01-02 15:04" in loc, or with an explicit offset
// ("2026-11-01 01:30 -0400") where the wall time is ambiguous.
func tm(loc *time.Location, s string) time.Time {
	for _, layout := range []string{"2006-01-02 15:04 -0700", "2006-01-02 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.In(loc)
		}
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t
		}
	}
	panic(fmt.Sprintf("bad test time %q", s))
}

// fmtT shows an instant with its offset, so DST mistakes are visible.
func fmtT(t time.Time) string { return t.Format("Mon 2006-01-02 15:04:05.999999999 -0700 MST") }

// 国庆 2026: Thu Oct 1 – Wed Oct 7 off; Sun Sep 20 and Sat Oct 10 worked.
var (
	guoqing2026 = []string{"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"}
	tiaoxiu2026 = []string{"2026-09-20", "2026-10-10"}
)

// Calendars shared by the tests.
var (
	// office: Shanghai, mon-fri 09:00-18:00, 9h a day.
	office = MustParseCalendar(shanghai, "mon-fri 09:00-18:00", nil, nil)
	// split: lunch break, 3h + 4.5h = 7.5h on weekdays, 6h on Saturday.
	split = MustParseCalendar(shanghai, "mon-fri 09:00-12:00,13:30-18:00; sat 10:00-16:00", nil, nil)
	// cn2026: office with the 2026 National Day holiday and its make-up days.
	cn2026 = MustParseCalendar(shanghai, "mon-fri 09:00-18:00", guoqing2026, tiaoxiu2026)
	// nyOffice: New York, mon-fri 09:00-18:00 local time whatever the offset.
	nyOffice = MustParseCalendar(newYork, "mon-fri 09:00-18:00", nil, nil)
	// nyAllDays: every day midnight to midnight, so 23h/25h on DST days.
	nyAllDays = MustParseCalendar(newYork, "mon-sun 00:00-24:00", nil, nil)
	// always: 24/7 in Shanghai.
	always = MustParseCalendar(shanghai, "24/7", nil, nil)
	// alwaysButNational: 24/7 closed on 2026-10-01.
	alwaysButNational = MustParseCalendar(shanghai, "24/7", []string{"2026-10-01"}, nil)
	// nightShift: Friday evening straight into Saturday morning.
	nightShift = MustParseCalendar(shanghai, "fri 18:00-24:00; sat 00:00-06:00", nil, nil)
	// nyOddHours: spans inside the DST jumps of Sun Mar 8 and Sun Nov 1 2026.
	nyOddHours = MustParseCalendar(newYork, "sun 02:30-05:00; sat 01:00-02:00; wed 00:00-03:00", nil, nil)
)
