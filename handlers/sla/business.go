package sla

import "time"

// nextOpenDays is how far NextOpen searches for an opening.
const nextOpenDays = 400

// IsOpen reports whether staff work at instant t.
func (c Calendar) IsOpen(t time.Time) bool {
	if c.always {
		return true
	}
	t = t.Round(0)
	w := c.walk(t)
	w.stop = w.date.AddDate(0, 0, 3) // t's date + 1: spans of later days start after t
	for {
		s, e, ok := w.next()
		if !ok || s.After(t) {
			return false
		}
		if e.After(t) {
			return true
		}
	}
}

// NextOpen returns t if the calendar is open at t, else the start of the
// next open span. It searches at most 400 days ahead; if the calendar is not
// open at all in that time (the zero Calendar, or 400 days of holidays) it
// returns t.
func (c Calendar) NextOpen(t time.Time) time.Time {
	if c.always {
		return t
	}
	w := c.walk(t.Round(0))
	w.limit = nextOpenDays + 1 // +1: the walk starts the day before t
	for {
		s, e, ok := w.next()
		switch {
		case !ok:
			return t
		case !e.After(t):
			continue
		case !s.After(t):
			return t
		default:
			return s
		}
	}
}

// Add returns the instant when d of business time has passed after start.
// start itself may be outside hours: counting starts at the next opening.
// When the time runs out exactly at a closing time, Add returns that closing
// time, not the next opening.
//
// d <= 0 returns start. If the calendar is never open (the zero Calendar)
// Add returns start. The result is in the calendar's location.
func (c Calendar) Add(start time.Time, d time.Duration) time.Time {
	start = start.Round(0)
	loc := c.Location()
	switch {
	case d <= 0 || !c.open:
		return start.In(loc)
	case c.always:
		return start.Add(d).In(loc)
	}
	w := c.walk(start)
	// Holidays are finite and some weekday has hours, so an opening comes
	// within len(holidays)+7 days; the limit only guards against surprises.
	w.limit = nextOpenDays + len(c.holidays)
	for {
		s, e, ok := w.next()
		if !ok {
			return start.In(loc)
		}
		if !e.After(start) {
			continue
		}
		if s.Before(start) {
			s = start
		}
		if avail := e.Sub(s); d > avail {
			d -= avail
			continue
		}
		return s.Add(d).In(loc)
	}
}

// Elapsed is the business time between a and b: how long the calendar is
// open in [a, b). It is 0 if b <= a.
func (c Calendar) Elapsed(a, b time.Time) time.Duration {
	a, b = a.Round(0), b.Round(0)
	switch {
	case !b.After(a) || !c.open:
		return 0
	case c.always:
		return b.Sub(a)
	}
	w := c.walk(a)
	w.stop = c.date(b).AddDate(0, 0, 1)
	var sum time.Duration
	for {
		s, e, ok := w.next()
		if !ok || !s.Before(b) {
			return sum
		}
		if !e.After(a) {
			continue
		}
		if s.Before(a) {
			s = a
		}
		if e.After(b) {
			e = b
		}
		sum += e.Sub(s)
	}
}

// date is t's wall-clock date in the calendar's location, as midnight UTC.
func (c Calendar) date(t time.Time) time.Time {
	y, m, d := t.In(c.Location()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// hoursOn returns the opening spans of a date (midnight UTC): none on a
// holiday, Monday's on a make-up workday, else its weekday's.
func (c Calendar) hoursOn(date time.Time) []span {
	if c.holidays != nil || c.workdays != nil {
		k := dateKey(date)
		if c.holidays[k] {
			return nil
		}
		if c.workdays[k] {
			return c.week[time.Monday]
		}
	}
	return c.week[date.Weekday()]
}

// wall returns the instant of a wall-clock time on a date in the calendar's
// location; minutes may be 1440 (24:00, the next midnight). A time skipped
// by a daylight-saving jump (02:30 when clocks go from 02:00 to 03:00) is
// the instant of the jump; a time that occurs twice is resolved as by
// time.Date.
func (c Calendar) wall(date time.Time, minutes int) time.Time {
	y, m, d := date.Date()
	t := time.Date(y, m, d, 0, minutes, 0, 0, c.Location())
	want := time.Date(y, m, d, 0, minutes, 0, 0, time.UTC)
	ty, tm, td := t.Date()
	hh, mm, ss := t.Clock()
	got := time.Date(ty, tm, td, hh, mm, ss, t.Nanosecond(), time.UTC)
	switch {
	case got.Before(want): // placed before the jump: it ends t's zone period
		if _, end := t.ZoneBounds(); !end.IsZero() {
			return end
		}
	case got.After(want): // placed after the jump: it starts t's zone period
		if start, _ := t.ZoneBounds(); !start.IsZero() {
			return start
		}
	}
	return t
}

// walker yields the calendar's open spans as instants, in order and without
// overlap, day by day from the day before a given instant.
type walker struct {
	c     Calendar  // a copy: a pointer would move the caller's Calendar to the heap
	date  time.Time // the day whose spans are in hours, midnight UTC
	hours []span
	i     int
	last  time.Time // end of the span last yielded
	// closed counts days looked at since the last span yielded; next gives
	// up when it passes limit (0: no limit).
	closed, limit int
	stop          time.Time // last day to look at; zero: no end
}

// walk starts a walker at the day before t's date, so that no span
// containing t is missed even where midnight is ambiguous.
func (c Calendar) walk(t time.Time) walker {
	return walker{c: c, date: c.date(t).AddDate(0, 0, -2)}
}

// next returns the next open span [s, e), or ok false when the calendar is
// never open, the stop day is passed or limit closed days went by.
func (w *walker) next() (s, e time.Time, ok bool) {
	for {
		for w.i < len(w.hours) {
			sp := w.hours[w.i]
			w.i++
			s, e = w.c.wall(w.date, sp.from), w.c.wall(w.date, sp.to)
			if s.Before(w.last) {
				s = w.last
			}
			if !e.After(s) {
				continue
			}
			w.last, w.closed = e, 0
			return s, e, true
		}
		if !w.c.open || w.limit > 0 && w.closed >= w.limit {
			return time.Time{}, time.Time{}, false
		}
		w.date = w.date.AddDate(0, 0, 1)
		if !w.stop.IsZero() && w.date.After(w.stop) {
			return time.Time{}, time.Time{}, false
		}
		w.hours, w.i = w.c.hoursOn(w.date), 0
		w.closed++
	}
}
