package loyalty

import (
	"testing"
	"time"
)

func TestActionFor(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   Action
	}{
		{"delivered", Earn}, {"Delivered ", Earn}, {"paid", Nothing}, {"shipped", Nothing},
		{"cancelled", Reverse}, {"canceled", Reverse}, {"returned", Reverse}, {"refunded", Reverse}, {"", Nothing},
	} {
		if got := ActionFor(tc.status); got != tc.want {
			t.Errorf("ActionFor(%q) = %v, want %v", tc.status, got, tc.want)
		}
	}
}

func TestPoints(t *testing.T) {
	r := DefaultRules()
	r.CategoryMultipliers = map[string]float64{"fresh": 2, "gift-card": 0}
	for _, tc := range []struct {
		name string
		o    Order
		tier string
		want int64
	}{
		{"total only", Order{Total: 12999, Currency: "CNY"}, "", 129},
		{"items", Order{Total: 1, Currency: "CNY", Items: []Item{{Qty: 2, Price: 5000}}}, "新手", 100},
		{"category double", Order{Currency: "CNY", Items: []Item{{Category: "fresh", Qty: 1, Price: 1000}}}, "", 20},
		{"category zero", Order{Currency: "CNY", Items: []Item{{Category: "gift-card", Qty: 1, Price: 10000}}}, "", 0},
		{"tier 1.2 exact", Order{Total: 50000, Currency: "CNY"}, "中等", 600},
		{"tier by english name", Order{Total: 10000, Currency: "CNY"}, "Veteran", 200},
		{"unknown tier", Order{Total: 10000, Currency: "CNY"}, "gold", 100},
		{"yen has no minor unit", Order{Total: 1500, Currency: "JPY"}, "", 1500},
		{"under one unit", Order{Total: 99, Currency: "USD"}, "", 0},
		{"negative total", Order{Total: -500, Currency: "CNY"}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Points(tc.o, tc.tier); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestBonuses(t *testing.T) {
	r := DefaultRules()
	shanghai := time.FixedZone("CST", 8*3600)
	// 2026-03-31 20:00 UTC is already 1 April in Shanghai.
	late := time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		o     Order
		month int
		want  []string
	}{
		{"none", Order{DeliveredAt: late}, 0, nil},
		{"first", Order{First: true, DeliveredAt: late}, 0, []string{"first"}},
		{"birthday in shop zone", Order{DeliveredAt: late}, 4, []string{"birthday:2026"}},
		{"not birthday", Order{DeliveredAt: late}, 3, nil},
		{"both", Order{First: true, PlacedAt: late}, 4, []string{"first", "birthday:2026"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Bonuses(tc.o, tc.month, shanghai)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i].Key != tc.want[i] {
					t.Errorf("bonus %d: got %s, want %s", i, got[i].Key, tc.want[i])
				}
			}
		})
	}
}

func TestTiers(t *testing.T) {
	r := DefaultRules()
	for _, tc := range []struct {
		value   int64
		want    string
		next    string
		missing int64
	}{
		{0, "新手", "初级", 500}, {499, "新手", "初级", 1}, {500, "初级", "中等", 1500},
		{4999, "中等", "资深", 1}, {5000, "资深", "骨灰", 15000}, {1 << 40, "骨灰", "", 0},
	} {
		cur, next, missing, _ := r.Progress(tc.value)
		if cur.Name != tc.want || next.Name != tc.next || missing != tc.missing {
			t.Errorf("Progress(%d) = %s, %s, %d; want %s, %s, %d", tc.value, cur.Name, next.Name, missing, tc.want, tc.next, tc.missing)
		}
	}
	if r.Rank("资深") <= r.Rank("中等") || r.Rank("nope") != -1 {
		t.Error("ranks out of order")
	}
}

func TestParseTiersRoundTrip(t *testing.T) {
	got, err := ParseTiers(FormatTiers(DefaultTiers()))
	if err != nil {
		t.Fatal(err)
	}
	for i, tier := range DefaultTiers() {
		if got[i] != tier {
			t.Errorf("tier %d: got %+v, want %+v", i, got[i], tier)
		}
	}
	for _, bad := range []string{"x", "a/b:x:1", "a/b:1:y"} {
		if _, err := ParseTiers([]string{bad}); err == nil {
			t.Errorf("ParseTiers(%q) accepted", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultRules().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Rules){
		"first tier not zero": func(r *Rules) { r.Tiers[0].Threshold = 1 },
		"thresholds fall":     func(r *Rules) { r.Tiers[2].Threshold = 1 },
		"bad basis":           func(r *Rules) { r.Basis = "vibes" },
		"reminder too long":   func(r *Rules) { r.ExpiryReminder = r.Validity },
		"negative bonus":      func(r *Rules) { r.SurveyBonus = -1 },
		"negative multiplier": func(r *Rules) { r.CategoryMultipliers["x"] = -1 },
	} {
		r := DefaultRules()
		mut(&r)
		if r.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseMultipliers(t *testing.T) {
	m, err := ParseMultipliers([]string{"fresh=2", " books = 0.5"})
	if err != nil || m["fresh"] != 2 || m["books"] != 0.5 {
		t.Fatalf("got %v, %v", m, err)
	}
	if _, err := ParseMultipliers([]string{"=2"}); err == nil {
		t.Error("empty category accepted")
	}
}
