package sla

import (
	"testing"
	"time"
)

// BenchmarkAdd30Days: 198h of office time (22 days of 9h) runs about 30
// calendar days, walked a day at a time.
func BenchmarkAdd30Days(b *testing.B) {
	for _, bc := range []struct {
		name  string
		c     Calendar
		start time.Time
	}{
		{"shanghai", office, tm(shanghai, "2026-03-02 09:00")},
		{"cn2026-national-day", cn2026, tm(shanghai, "2026-09-21 09:00")},
		{"new-york-dst", nyOffice, tm(newYork, "2026-02-23 09:00")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.c.Add(bc.start, 198*time.Hour)
			}
		})
	}
}

func BenchmarkElapsed30Days(b *testing.B) {
	a, z := tm(shanghai, "2026-09-21 09:00"), tm(shanghai, "2026-10-21 09:00")
	b.ReportAllocs()
	for b.Loop() {
		cn2026.Elapsed(a, z)
	}
}
