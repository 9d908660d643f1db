package insight

import (
	"reflect"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func daysAgo(d int) time.Time { return now.AddDate(0, 0, -d) }

// buyer is a customer with one order d days ago per spend figure.
func spenders(spends ...int64) []Facts {
	var fs []Facts
	for i, s := range spends {
		fs = append(fs, Facts{Customer: uint64(i + 1), Orders: 1, Spend: s, FirstOrder: daysAgo(40), LastOrder: daysAgo(40)})
	}
	return fs
}

func TestComputeMonetaryAndValue(t *testing.T) {
	tests := []struct {
		name   string
		facts  []Facts
		wantM  []int
		wantHi []uint64
	}{
		// 5 buyers, distinct: one per quintile; ceil(5·0.2)=1 high-value.
		{"five distinct", spenders(300, 100, 500, 200, 400), []int{3, 1, 5, 2, 4}, []uint64{3}},
		// 10 buyers: two per quintile; ceil(10·0.2)=2 high-value.
		{"ten distinct", spenders(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), []int{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}, []uint64{9, 10}},
		// Ties share the score of the lowest rank: 50 has 0 below (1),
		// each 100 has 1 below of 4 → 1+5·1/4 = 2. The boundary tie makes
		// all three 100s high-value although ceil(4·0.2)=1.
		{"ties", spenders(100, 100, 50, 100), []int{2, 2, 1, 2}, []uint64{1, 2, 4}},
		// One buyer is the top 20% of one; a zero spend is never high.
		{"one buyer", spenders(70), []int{1}, []uint64{1}},
		{"zero spend", spenders(0, 0), []int{1, 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs := Compute(tt.facts, now, DefaultThresholds())
			var m []int
			var hi []uint64
			for _, s := range segs {
				m = append(m, s.M)
				if s.Value == ValueHigh {
					hi = append(hi, s.Customer)
				}
			}
			if !reflect.DeepEqual(m, tt.wantM) {
				t.Errorf("M = %v; want %v", m, tt.wantM)
			}
			if !reflect.DeepEqual(hi, tt.wantHi) {
				t.Errorf("high value = %v; want %v", hi, tt.wantHi)
			}
		})
	}
}

func TestComputeRFM(t *testing.T) {
	facts := []Facts{
		{Customer: 1, Orders: 1, Spend: 100, FirstOrder: daysAgo(300), LastOrder: daysAgo(300)},
		{Customer: 2, Orders: 3, Spend: 900, FirstOrder: daysAgo(200), LastOrder: daysAgo(5)},
		{Customer: 3, Orders: 2, Spend: 400, FirstOrder: daysAgo(120), LastOrder: daysAgo(100)},
		{Customer: 4, Orders: 6, Spend: 2000, FirstOrder: daysAgo(400), LastOrder: daysAgo(20)},
		{Customer: 5, Orders: 1, Spend: 50, FirstOrder: daysAgo(10), LastOrder: daysAgo(10)},
		{Customer: 6}, // chatted, never bought
	}
	// Recency ranks (oldest first): 1(300d) 3(100d) 4(20d) 5(10d) 2(5d)
	// → below 0,1,2,3,4 of 5 → R 1,2,3,4,5.
	// Frequency: 1 and 5 have 1 order (0 below → 1), 3 has 2 (2 below →
	// 1+10/5=3), 2 has 3 (3 below → 4), 4 has 6 (4 below → 5).
	// Monetary: 50,100,400,900,2000 → 5:1 1:2 3:3 2:4 4:5.
	want := []Segment{
		{Customer: 1, R: 1, F: 1, M: 2, Value: ValueOrdinary, Stage: StageChurned},
		{Customer: 2, R: 5, F: 4, M: 4, Value: ValueOrdinary, Stage: StageActive},
		{Customer: 3, R: 2, F: 3, M: 3, Value: ValueOrdinary, Stage: StageAtRisk},
		{Customer: 4, R: 3, F: 5, M: 5, Value: ValueHigh, Stage: StageActive},
		{Customer: 5, R: 4, F: 1, M: 1, Value: ValueOrdinary, Stage: StageNew},
		{Customer: 6, Value: ValuePotential, Stage: StagePotential},
	}
	got := Compute(facts, now, DefaultThresholds())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Compute =\n%+v\nwant\n%+v", got, want)
	}
	if got[3].RFM() != "355" || got[5].RFM() != "000" {
		t.Errorf("RFM codes %q %q; want 355 000", got[3].RFM(), got[5].RFM())
	}
	r := ComputeRates(facts, got)
	// 5 buyers; 3 with two orders or more; 1 churned.
	if r.Buyers != 5 || r.Repeat != 0.6 || r.Churn != 0.2 {
		t.Errorf("rates = %+v; want 5 buyers, repeat 0.6, churn 0.2", r)
	}
}

func TestStageBoundaries(t *testing.T) {
	th := Thresholds{New: 7 * 24 * time.Hour, AtRisk: 30 * 24 * time.Hour, Churned: 60 * 24 * time.Hour}
	tests := []struct {
		first, last int // days ago
		want        string
	}{
		{7, 7, StageNew},      // exactly New: still new
		{8, 1, StageActive},   // first order a day past New
		{40, 30, StageActive}, // exactly AtRisk: still active
		{40, 31, StageAtRisk},
		{90, 60, StageAtRisk}, // exactly Churned: still at risk
		{90, 61, StageChurned},
		{3, 3, StageNew},
	}
	for _, tt := range tests {
		f := Facts{Customer: 1, Orders: 1, Spend: 1, FirstOrder: daysAgo(tt.first), LastOrder: daysAgo(tt.last)}
		if got := Compute([]Facts{f}, now, th)[0].Stage; got != tt.want {
			t.Errorf("stage(first %dd, last %dd) = %s; want %s", tt.first, tt.last, got, tt.want)
		}
	}
}

func TestThresholdsValidate(t *testing.T) {
	if err := DefaultThresholds().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	bad := []Thresholds{{}, {New: 1, AtRisk: 5, Churned: 5}, {New: 1, AtRisk: 9, Churned: 5}}
	for _, th := range bad {
		if err := th.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil; want an error", th)
		}
	}
}

func TestComputeRatesEmpty(t *testing.T) {
	if r := ComputeRates(nil, nil); r != (Rates{}) {
		t.Errorf("rates of nobody = %+v; want zero", r)
	}
}
