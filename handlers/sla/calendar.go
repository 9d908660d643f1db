package sla

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// minutesPerDay is the length of a wall-clock day; "24:00" is this many
// minutes after midnight.
const minutesPerDay = 24 * 60

// span is an opening span of one weekday in wall-clock minutes after local
// midnight: [from, to), 0 <= from < to <= 1440.
type span struct{ from, to int }

// Calendar is when staff work: weekly opening spans in a time zone, public
// holidays (closed all day) and make-up working days (调休: a weekend date
// that is worked with weekday hours — the hours of Monday).
//
// A Calendar is immutable once built and safe for concurrent use. The zero
// Calendar is never open and uses UTC.
type Calendar struct {
	loc      *time.Location
	hours    string       // the spec as given, for String
	week     [7][]span    // indexed by time.Weekday; sorted, merged
	holidays map[int]bool // yyyymmdd
	workdays map[int]bool // yyyymmdd
	open     bool         // some weekday has hours
	always   bool         // 24/7 without holidays: business time is real time
}

// ParseCalendar builds a Calendar in loc (nil means UTC).
//
// hours is a list of clauses separated by ";". A clause is a day list and
// a comma-separated list of spans:
//
//	mon-fri 09:00-18:00; sat 10:00-16:00
//	mon-fri 09:00-12:00,13:30-18:00
//	sat,sun 10:00-16:00
//	mon-sun 00:00-24:00
//	24/7
//
// Day names are mon, tue, wed, thu, fri, sat and sun, case-insensitive; a
// range runs forward from Monday to Sunday and may not wrap ("fri-mon" is
// an error: write "fri-sun; mon"). Times are HH:MM on the 24-hour clock; a
// span may end at 24:00 but not run past midnight. Spans given twice for a
// day are merged. Days not named are closed. "24/7" is shorthand for
// "mon-sun 00:00-24:00".
//
// holidays and workdays are dates "2006-01-02". A holiday is closed all
// day, whatever its weekday, even with "24/7". A make-up workday is open
// with the hours of Monday, whatever its weekday (so Monday must have
// hours); a date may not be both.
func ParseCalendar(loc *time.Location, hours string, holidays, workdays []string) (Calendar, error) {
	if loc == nil {
		loc = time.UTC
	}
	c := Calendar{loc: loc, hours: hours}
	if err := c.parseHours(hours); err != nil {
		return Calendar{}, fmt.Errorf("sla: hours %q: %w", hours, err)
	}
	var err error
	if c.holidays, err = parseDates("holiday", holidays); err != nil {
		return Calendar{}, err
	}
	if c.workdays, err = parseDates("workday", workdays); err != nil {
		return Calendar{}, err
	}
	for _, s := range workdays {
		k, _ := dateKeyOf(strings.TrimSpace(s))
		if c.holidays[k] {
			return Calendar{}, fmt.Errorf("sla: date %q is both a holiday and a workday", strings.TrimSpace(s))
		}
		if len(c.week[time.Monday]) == 0 {
			return Calendar{}, fmt.Errorf("sla: workday %q: make-up workdays use Monday's hours, but hours %q leave Monday closed", strings.TrimSpace(s), hours)
		}
	}
	for _, d := range c.week {
		c.open = c.open || len(d) > 0
	}
	c.always = c.always && len(c.holidays) == 0
	return c, nil
}

// MustParseCalendar is ParseCalendar for calendars known to be valid, such
// as those in tests and package-level defaults; it panics on error.
func MustParseCalendar(loc *time.Location, hours string, holidays, workdays []string) Calendar {
	c, err := ParseCalendar(loc, hours, holidays, workdays)
	if err != nil {
		panic(err)
	}
	return c
}

// Location is the calendar's time zone.
func (c Calendar) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// String returns the hours spec the calendar was parsed from.
func (c Calendar) String() string { return c.hours }

func (c *Calendar) parseHours(hours string) error {
	h := strings.TrimSpace(hours)
	if h == "" {
		return fmt.Errorf("no opening hours")
	}
	if strings.EqualFold(h, "24/7") {
		for d := range c.week {
			c.week[d] = []span{{0, minutesPerDay}}
		}
		c.always = true
		return nil
	}
	clauses := 0
	for clause := range strings.SplitSeq(h, ";") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		clauses++
		i := strings.IndexFunc(clause, unicode.IsSpace)
		if i < 0 {
			return fmt.Errorf("clause %q has no opening times (want e.g. \"mon-fri 09:00-18:00\")", clause)
		}
		days, err := parseDays(clause[:i])
		if err != nil {
			return err
		}
		var spans []span
		for s := range strings.SplitSeq(clause[i:], ",") {
			sp, err := parseSpan(strings.TrimSpace(s))
			if err != nil {
				return err
			}
			spans = append(spans, sp)
		}
		for _, d := range days {
			c.week[d] = append(c.week[d], spans...)
		}
	}
	if clauses == 0 {
		return fmt.Errorf("no opening hours")
	}
	for d := range c.week {
		c.week[d] = mergeSpans(c.week[d])
	}
	return nil
}

// parseDay returns the index of a day name in range order: a range runs
// forward from mon (0) to sun (6).
func parseDay(name string) (int, error) {
	for i, n := range [7]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		if strings.EqualFold(name, n) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("day %q is not one of mon, tue, wed, thu, fri, sat, sun", name)
}

// parseDays parses "mon-fri", "sat" or "sat,sun" into weekdays.
func parseDays(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	for part := range strings.SplitSeq(s, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, err := parseDay(from)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parseDay(to); err != nil {
				return nil, err
			}
			if b < a {
				first, second := strings.ToLower(from)+"-sun", "mon-"+strings.ToLower(to)
				if a == 6 {
					first = "sun"
				}
				if b == 0 {
					second = "mon"
				}
				return nil, fmt.Errorf("day range %q wraps around the week; split it: \"%s; %s\"", part, first, second)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, time.Weekday((i+1)%7)) // mon is index 0 but Weekday 1
		}
	}
	return out, nil
}

// parseSpan parses "09:00-18:00".
func parseSpan(s string) (span, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return span{}, fmt.Errorf("span %q is not HH:MM-HH:MM", s)
	}
	a, err := parseClock(strings.TrimSpace(from))
	if err != nil {
		return span{}, err
	}
	b, err := parseClock(strings.TrimSpace(to))
	if err != nil {
		return span{}, err
	}
	switch {
	case a == b:
		return span{}, fmt.Errorf("span %q is empty", s)
	case b < a:
		return span{}, fmt.Errorf("span %q ends before it starts; spans may not run past midnight: split it at 24:00", s)
	}
	return span{a, b}, nil
}

// parseClock parses "HH:MM" (00:00 to 24:00) into minutes after midnight.
func parseClock(s string) (int, error) {
	bad := fmt.Errorf("time %q is not HH:MM", s)
	if len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, bad
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 24 || m > 59 || h == 24 && m != 0 {
		return 0, fmt.Errorf("time %q is out of range 00:00-24:00", s)
	}
	return h*60 + m, nil
}

// mergeSpans sorts spans and joins those that overlap or touch.
func mergeSpans(spans []span) []span {
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(x, y span) int { return x.from - y.from })
	out := spans[:1]
	for _, s := range spans[1:] {
		last := &out[len(out)-1]
		if s.from <= last.to {
			last.to = max(last.to, s.to)
			continue
		}
		out = append(out, s)
	}
	return slices.Clip(out)
}

// parseDates parses dates "2006-01-02" into a set of date keys.
func parseDates(what string, dates []string) (map[int]bool, error) {
	if len(dates) == 0 {
		return nil, nil
	}
	set := make(map[int]bool, len(dates))
	for _, s := range dates {
		k, err := dateKeyOf(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("sla: %s %q is not a date YYYY-MM-DD", what, s)
		}
		set[k] = true
	}
	return set, nil
}

func dateKeyOf(s string) (int, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, err
	}
	return dateKey(t), nil
}

// dateKey is yyyymmdd of t's wall-clock date in its own location.
func dateKey(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}
