package sla

import (
	"testing"
	"time"
)

func TestDefaultPolicy(t *testing.T) {
	h := time.Hour
	want := map[string]Target{
		"P1": {30 * time.Minute, 4 * h},
		"P2": {2 * h, 24 * h},
		"P3": {8 * h, 72 * h},
		"P4": {24 * h, 168 * h},
	}
	p := DefaultPolicy()
	if len(p) != len(want) {
		t.Errorf("DefaultPolicy has %d priorities, want %d", len(p), len(want))
	}
	for prio, w := range want {
		if got := p[prio]; got != w {
			t.Errorf("DefaultPolicy()[%q] = %+v, want %+v", prio, got, w)
		}
	}
	// Each call is a fresh map.
	p["P1"] = Target{}
	if DefaultPolicy()["P1"] != want["P1"] {
		t.Error("changing one DefaultPolicy() changed the next")
	}
}

func TestPolicyLookup(t *testing.T) {
	p := DefaultPolicy()
	for _, prio := range []string{"P2", "p2", " P2 "} {
		if got, ok := p.Lookup(prio); !ok || got.Resolution != 24*time.Hour {
			t.Errorf("Lookup(%q) = %+v, %v; want P2", prio, got, ok)
		}
	}
	if _, ok := p.Lookup("P9"); ok {
		t.Error(`Lookup("P9") found a target`)
	}
}

// TestPolicyWithCalendar: the P1 resolution target of a ticket opened
// Friday 16:00 in office hours: 2h Friday (16-18) + 2h Monday = Mon 11:00.
func TestPolicyWithCalendar(t *testing.T) {
	tgt, _ := DefaultPolicy().Lookup("P1")
	k := Clock{Calendar: office, Start: tm(shanghai, "2026-03-06 16:00"), Target: tgt.Resolution}
	if got, want := k.Due(k.Start), tm(shanghai, "2026-03-09 11:00"); !got.Equal(want) {
		t.Errorf("P1 resolution due %s, want %s", fmtT(got), fmtT(want))
	}
}
