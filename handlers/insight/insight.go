package insight

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Value segments.
const (
	ValueHigh      = "high"      // top 20% of buyers by spend
	ValueOrdinary  = "ordinary"  // bought, not in the top 20%
	ValuePotential = "potential" // no order yet
)

// Lifecycle stages.
const (
	StagePotential = "potential" // no order yet
	StageNew       = "new"       // first order within Thresholds.New
	StageActive    = "active"    // last order within Thresholds.AtRisk
	StageAtRisk    = "at_risk"   // last order older than AtRisk, within Churned
	StageChurned   = "churned"   // last order older than Churned
)

// Stages and Values list the names in report order.
var (
	Stages = []string{StagePotential, StageNew, StageActive, StageAtRisk, StageChurned}
	Values = []string{ValueHigh, ValueOrdinary, ValuePotential}
)

// Thresholds are the lifecycle's day boundaries, measured from now.
type Thresholds struct {
	New     time.Duration // first order at most this long ago: new
	AtRisk  time.Duration // last order longer ago than this: at risk
	Churned time.Duration // last order longer ago than this: churned
}

// DefaultThresholds: new for 30 days after the first order, at risk after
// 90 days without one, churned after 180.
func DefaultThresholds() Thresholds {
	return Thresholds{New: 30 * 24 * time.Hour, AtRisk: 90 * 24 * time.Hour, Churned: 180 * 24 * time.Hour}
}

// Validate reports thresholds that cannot order the stages.
func (t Thresholds) Validate() error {
	if t.New <= 0 || t.AtRisk <= 0 || t.Churned <= 0 {
		return fmt.Errorf("lifecycle thresholds must be positive (new %s, at risk %s, churned %s)", t.New, t.AtRisk, t.Churned)
	}
	if t.AtRisk >= t.Churned {
		return fmt.Errorf("lifecycle: at risk (%s) must come before churned (%s)", t.AtRisk, t.Churned)
	}
	return nil
}

// Facts are what segmentation needs to know of one customer. Orders and
// Spend count only orders that were paid for (not pending, cancelled,
// returned or refunded); the caller decides which.
type Facts struct {
	Customer   uint64
	Orders     int
	Spend      int64 // minor units
	FirstOrder time.Time
	LastOrder  time.Time
}

// Segment is a customer's place: R, F and M are 1–5 (5 best: most
// recent, most orders, most spend) and 0 for customers without orders.
type Segment struct {
	Customer uint64
	R, F, M  int
	Value    string
	Stage    string
}

// RFM is the three scores as one code, "545"; "000" without orders.
func (s Segment) RFM() string { return fmt.Sprintf("%d%d%d", s.R, s.F, s.M) }

// Compute segments every customer in facts, in the order given.
//
// Scores are quintiles over the customers with orders: a customer's score
// is 1 + 5·(how many buyers rank strictly below them)/(buyers), so equal
// values share a score and the scale does not depend on input order.
// High-value are the ceil(20%) biggest spenders; a tie at the boundary
// takes everyone who spent as much as the last one in.
func Compute(facts []Facts, now time.Time, th Thresholds) []Segment {
	out := make([]Segment, len(facts))
	var buyers []int
	for i, f := range facts {
		out[i] = Segment{Customer: f.Customer, Value: ValuePotential, Stage: StagePotential}
		if f.Orders > 0 {
			buyers = append(buyers, i)
			out[i].Value = ValueOrdinary
			out[i].Stage = stage(f, now, th)
		}
	}
	n := len(buyers)
	if n == 0 {
		return out
	}
	score := func(key func(Facts) float64, set func(*Segment, int)) {
		vals := make([]float64, n)
		for k, i := range buyers {
			vals[k] = key(facts[i])
		}
		sorted := append([]float64(nil), vals...)
		sort.Float64s(sorted)
		for k, i := range buyers {
			below := sort.SearchFloat64s(sorted, vals[k]) // strictly smaller values
			set(&out[i], 1+5*below/n)
		}
	}
	score(func(f Facts) float64 { return float64(f.LastOrder.Unix()) }, func(s *Segment, v int) { s.R = v })
	score(func(f Facts) float64 { return float64(f.Orders) }, func(s *Segment, v int) { s.F = v })
	score(func(f Facts) float64 { return float64(f.Spend) }, func(s *Segment, v int) { s.M = v })

	spends := make([]int64, n)
	for k, i := range buyers {
		spends[k] = facts[i].Spend
	}
	sort.Slice(spends, func(a, b int) bool { return spends[a] > spends[b] })
	top := int(math.Ceil(float64(n) * 0.2))
	cut := spends[top-1]
	for _, i := range buyers {
		if facts[i].Spend > 0 && facts[i].Spend >= cut {
			out[i].Value = ValueHigh
		}
	}
	return out
}

// stage is the lifecycle stage of a customer with orders.
func stage(f Facts, now time.Time, th Thresholds) string {
	since := now.Sub(f.LastOrder)
	switch {
	case since > th.Churned:
		return StageChurned
	case since > th.AtRisk:
		return StageAtRisk
	case now.Sub(f.FirstOrder) <= th.New:
		return StageNew
	default:
		return StageActive
	}
}

// Rates are the shop-wide figures of a set of segments.
type Rates struct {
	Buyers int `json:"buyers"` // customers with at least one order
	// Repeat is the share of buyers with two orders or more; Churn the
	// share of buyers who are churned. Both 0–1, 0 without buyers.
	Repeat float64 `json:"repeat_purchase_rate"`
	Churn  float64 `json:"churn_rate"`
}

// ComputeRates returns the repeat purchase and churn rates; segs must be
// Compute's result for facts.
func ComputeRates(facts []Facts, segs []Segment) Rates {
	var r Rates
	var repeat, churned int
	for i, f := range facts {
		if f.Orders == 0 {
			continue
		}
		r.Buyers++
		if f.Orders >= 2 {
			repeat++
		}
		if i < len(segs) && segs[i].Stage == StageChurned {
			churned++
		}
	}
	if r.Buyers > 0 {
		r.Repeat = float64(repeat) / float64(r.Buyers)
		r.Churn = float64(churned) / float64(r.Buyers)
	}
	return r
}
