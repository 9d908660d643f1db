package insight

import (
	"testing"
	"time"
)

// BenchmarkCompute segments 100,000 customers, four in five with orders.
func BenchmarkCompute(b *testing.B) {
	facts := make([]Facts, 100_000)
	for i := range facts {
		facts[i] = Facts{Customer: uint64(i + 1)}
		if i%5 != 0 {
			facts[i].Orders = 1 + i%7
			facts[i].Spend = int64((i * 7919) % 500_000)
			facts[i].FirstOrder = now.AddDate(0, 0, -(i % 700))
			facts[i].LastOrder = facts[i].FirstOrder.Add(time.Duration(i%30) * 24 * time.Hour)
		}
	}
	b.ResetTimer()
	for range b.N {
		Compute(facts, now, DefaultThresholds())
	}
}
