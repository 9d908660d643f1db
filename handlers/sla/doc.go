// Package sla is business-time arithmetic for ticket SLAs: when staff work,
// how much working time lies between two instants, when a deadline falls,
// and how far an SLA clock with pauses has run.
//
// It is pure and stdlib-only: it imports no kefu package, keeps no global
// mutable state and never reads the system clock — every call takes the
// instants it needs (pass now explicitly).
//
// # Calendar rules
//
// A [Calendar] is weekly opening spans in a time zone, written like
// "mon-fri 09:00-12:00,13:30-18:00; sat 10:00-16:00" (see [ParseCalendar]),
// plus dated exceptions:
//
//   - Spans are wall-clock times in the calendar's zone, so 09:00-18:00 is
//     nine hours every day, daylight saving or not, while mon-sun
//     00:00-24:00 is 23 hours on a spring-forward day and 25 on a fall-back
//     day. A span may end at 24:00 but not run past midnight. A wall time
//     skipped by a spring-forward jump means the instant of the jump.
//   - "24/7" means always open: business time is real time.
//   - A public holiday is closed all day, whatever its weekday and hours,
//     "24/7" included.
//   - A make-up workday (调休, e.g. a Saturday worked to bridge 国庆) is open
//     with Monday's hours, whatever its weekday.
//
// Business time is counted on half-open spans [open, close): an instant at
// closing time is closed, and [Calendar.Add] returns the closing time when
// the duration runs out exactly then. Add and [Calendar.Elapsed] walk the
// calendar a day at a time and are exact to the nanosecond, so
// Elapsed(t, Add(t, d)) == d for any d > 0 on a calendar that opens.
//
// # Clocks and policies
//
// A [Clock] is one SLA timer: a business-time Target from Start, stopped
// during pauses (waiting on the customer). [Policy] holds the targets per
// priority; [DefaultPolicy] is P1 30m/4h, P2 2h/24h, P3 8h/72h and P4
// 24h/168h (first response/resolution, business time).
package sla
