package sla

import (
	"slices"
	"time"
)

// Interval is a pause of the SLA clock, e.g. while waiting on the customer.
// A zero End means the clock is still paused.
type Interval struct{ Start, End time.Time }

// Clock computes an SLA timer: Target of business time on Calendar, started
// at Start, not counting while paused.
//
// Pauses may overlap each other, closed hours or the time before Start;
// only the business time they cover after Start is taken off. A pause with a
// zero End lasts until now; a pause whose End is before its Start is
// ignored.
type Clock struct {
	Calendar Calendar
	Start    time.Time
	Target   time.Duration
	Pauses   []Interval
}

// Used is the business time consumed by now, excluding pauses.
func (k Clock) Used(now time.Time) time.Duration {
	now = now.Round(0)
	var used time.Duration
	for _, r := range k.running(now) {
		if !r.Start.Before(now) {
			break
		}
		if r.End.IsZero() || r.End.After(now) {
			r.End = now
		}
		used += k.Calendar.Elapsed(r.Start, r.End)
	}
	return used
}

// Due is the deadline given the pauses so far: the instant the clock
// reaches Target. If the clock is paused now (a pause with a zero End), Due
// is computed as if it resumed at now, so while paused Due moves later as
// now does. A breached clock's Due is in the past: the instant of the
// breach. A Target <= 0 is due at Start.
func (k Clock) Due(now time.Time) time.Time {
	if k.Target <= 0 {
		return k.Start.Round(0).In(k.Calendar.Location())
	}
	left := k.Target
	for _, r := range k.running(now.Round(0)) {
		if r.End.IsZero() {
			return k.Calendar.Add(r.Start, left)
		}
		if e := k.Calendar.Elapsed(r.Start, r.End); e < left {
			left -= e
			continue
		}
		return k.Calendar.Add(r.Start, left)
	}
	panic("unreachable: running always ends with an open interval")
}

// Remaining is Target minus Used: negative once breached.
func (k Clock) Remaining(now time.Time) time.Duration { return k.Target - k.Used(now) }

// Paused reports whether a pause covers now.
func (k Clock) Paused(now time.Time) bool {
	for _, p := range k.Pauses {
		if !p.Start.After(now) && (p.End.IsZero() || p.End.After(now)) {
			return true
		}
	}
	return false
}

// Fraction is Used/Target: 0.8 is a good time to warn, >= 1 is a breach.
// With a Target <= 0 the clock is due at once and Fraction is 1.
func (k Clock) Fraction(now time.Time) float64 {
	if k.Target <= 0 {
		return 1
	}
	return float64(k.Used(now)) / float64(k.Target)
}

// running returns the intervals from Start when the clock runs, in order:
// the gaps between the pauses (open pauses ending at now), the last one
// with a zero End (it runs on).
func (k Clock) running(now time.Time) []Interval {
	start := k.Start.Round(0)
	pauses := make([]Interval, 0, len(k.Pauses))
	for _, p := range k.Pauses {
		s, e := p.Start.Round(0), p.End.Round(0)
		if e.IsZero() {
			e = now
		}
		if s.Before(start) {
			s = start
		}
		if e.After(s) {
			pauses = append(pauses, Interval{s, e})
		}
	}
	slices.SortFunc(pauses, func(x, y Interval) int { return x.Start.Compare(y.Start) })
	out := make([]Interval, 0, len(pauses)+1)
	at := start
	for _, p := range pauses {
		if p.Start.After(at) {
			out = append(out, Interval{at, p.Start})
		}
		if p.End.After(at) {
			at = p.End
		}
	}
	return append(out, Interval{Start: at})
}
