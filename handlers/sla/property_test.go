package sla

import (
	"math/rand/v2"
	"testing"
	"time"
)

// propertyCalendars are the calendars the property tests run on: both
// zones, holidays, make-up days, lunch breaks, midnight spans and DST gaps.
var propertyCalendars = map[string]Calendar{
	"office":            office,
	"split":             split,
	"cn2026":            cn2026,
	"nyOffice":          nyOffice,
	"nyAllDays":         nyAllDays,
	"always":            always,
	"alwaysButNational": alwaysButNational,
	"nightShift":        nightShift,
	"nyOddHours":        nyOddHours,
	"nyHolidays": MustParseCalendar(newYork, "mon-fri 08:30-12:00,13:00-17:30; sun 00:00-24:00",
		[]string{"2026-03-08", "2026-11-26", "2026-12-25"}, []string{"2026-03-07"}),
}

// randomInstant is a nanosecond-precise instant between Jan 2026 and Mar
// 2027, in a random one of the test zones.
func randomInstant(r *rand.Rand) time.Time {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	t := time.Unix(0, from+r.Int64N(int64(430*24*time.Hour)))
	return t.In([]*time.Location{time.UTC, shanghai, newYork}[r.IntN(3)])
}

// randomDuration mixes a few nanoseconds, round minutes and long stretches
// of up to 400 business hours.
func randomDuration(r *rand.Rand) time.Duration {
	switch r.IntN(3) {
	case 0:
		return time.Duration(1 + r.Int64N(1000))
	case 1:
		return time.Duration(1+r.Int64N(600)) * time.Minute
	default:
		return time.Duration(1 + r.Int64N(int64(400*time.Hour)))
	}
}

// TestAddElapsedProperties: for random start and d > 0,
// Elapsed(start, Add(start, d)) == d; Add is monotonic in d; the instant
// just before Add's result is open; Elapsed is additive; NextOpen is open
// and no business time passes before it.
func TestAddElapsedProperties(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	for name, c := range propertyCalendars {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(20261001, uint64(len(name))))
			for range n {
				start, d1, d2 := randomInstant(r), randomDuration(r), randomDuration(r)
				if d1 > d2 {
					d1, d2 = d2, d1
				}
				end1, end2 := c.Add(start, d1), c.Add(start, d2)
				if got := c.Elapsed(start, end1); got != d1 {
					t.Fatalf("Elapsed(%s, Add(.., %v) = %s) = %v", fmtT(start), d1, fmtT(end1), got)
				}
				if got := c.Elapsed(start, end2); got != d2 {
					t.Fatalf("Elapsed(%s, Add(.., %v) = %s) = %v", fmtT(start), d2, fmtT(end2), got)
				}
				if end2.Before(end1) {
					t.Fatalf("Add(%s, %v) = %s before Add(.., %v) = %s", fmtT(start), d2, fmtT(end2), d1, fmtT(end1))
				}
				if d1 < d2 && !end1.Before(end2) {
					t.Fatalf("Add(%s, %v) = Add(.., %v) = %s", fmtT(start), d1, d2, fmtT(end1))
				}
				if !c.IsOpen(end1.Add(-time.Nanosecond)) {
					t.Fatalf("Add(%s, %v) = %s but the instant before is closed", fmtT(start), d1, fmtT(end1))
				}
				// Additivity over a random split point b.
				b := randomInstant(r)
				if b.Before(start) || b.After(end2) {
					b = start.Add(time.Duration(r.Int64N(int64(end2.Sub(start)) + 1)))
				}
				if sum := c.Elapsed(start, b) + c.Elapsed(b, end2); sum != d2 {
					t.Fatalf("Elapsed(%s, %s) + Elapsed(.., %s) = %v, want %v", fmtT(start), fmtT(b), fmtT(end2), sum, d2)
				}
				// NextOpen: open, and nothing elapses before it.
				next := c.NextOpen(start)
				if !c.IsOpen(next) || c.Elapsed(start, next) != 0 || next.Before(start) {
					t.Fatalf("NextOpen(%s) = %s: open %v, elapsed %v", fmtT(start), fmtT(next), c.IsOpen(next), c.Elapsed(start, next))
				}
				if c.IsOpen(start) != next.Equal(start) {
					t.Fatalf("IsOpen(%s) = %v but NextOpen = %s", fmtT(start), c.IsOpen(start), fmtT(next))
				}
			}
		})
	}
}

// TestClockProperties: for random pauses, Used never exceeds real business
// time, and once no pause is open the clock reads Target at Due.
func TestClockProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 24))
	for name, c := range propertyCalendars {
		for range 300 {
			start := randomInstant(r)
			k := Clock{Calendar: c, Start: start, Target: randomDuration(r)}
			at := start.Add(-48 * time.Hour)
			for range r.IntN(4) {
				s := at.Add(time.Duration(r.Int64N(int64(96 * time.Hour))))
				e := s.Add(time.Duration(r.Int64N(int64(72 * time.Hour))))
				k.Pauses = append(k.Pauses, Interval{s, e})
				at = s
			}
			now := start.Add(time.Duration(r.Int64N(int64(500 * time.Hour))))
			for _, p := range k.Pauses {
				if p.End.After(now) {
					now = p.End // all pauses over, so Due is final
				}
			}
			if used := k.Used(now); used < 0 || used > c.Elapsed(start, now) {
				t.Fatalf("%s: Used = %v, business time %v", name, used, c.Elapsed(start, now))
			}
			due := k.Due(now)
			if got := k.Used(due); got != k.Target {
				t.Fatalf("%s: %+v: Used(Due = %s) = %v, want %v", name, k, fmtT(due), got, k.Target)
			}
		}
	}
}
