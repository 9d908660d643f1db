package sla

import (
	"strings"
	"time"
)

// Target is what a priority promises, in business time: the first staff
// reply within FirstResponse and the ticket solved within Resolution.
type Target struct{ FirstResponse, Resolution time.Duration }

// Policy maps priorities "P1" (most urgent) to "P4" to their targets.
type Policy map[string]Target

// DefaultPolicy returns the stock targets, all in business time (hours the
// Calendar is open, not wall-clock time):
//
//	P1  first response 30m   resolution 4h
//	P2  first response 2h    resolution 24h
//	P3  first response 8h    resolution 72h
//	P4  first response 24h   resolution 168h
//
// On a 9-hour working day 24h of business time is about 2⅔ working days.
// Each call returns a new map, free for the caller to change.
func DefaultPolicy() Policy {
	return Policy{
		"P1": {FirstResponse: 30 * time.Minute, Resolution: 4 * time.Hour},
		"P2": {FirstResponse: 2 * time.Hour, Resolution: 24 * time.Hour},
		"P3": {FirstResponse: 8 * time.Hour, Resolution: 72 * time.Hour},
		"P4": {FirstResponse: 24 * time.Hour, Resolution: 168 * time.Hour},
	}
}

// Lookup returns the target of a priority, matching "p1", " P1 " and "P1"
// alike.
func (p Policy) Lookup(priority string) (Target, bool) {
	t, ok := p[strings.ToUpper(strings.TrimSpace(priority))]
	return t, ok
}
