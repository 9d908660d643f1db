package loyalty

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Order statuses that matter to loyalty. Every other status earns nothing
// yet and takes nothing back.
const (
	StatusDelivered = "delivered"
	StatusCancelled = "cancelled"
	StatusReturned  = "returned"
	StatusRefunded  = "refunded"
)

// Item is one line of an order. Price is per unit, in minor units.
type Item struct {
	SKU      string
	Category string
	Qty      int
	Price    int64
}

// Order is what loyalty needs to know of a shop order. Total and prices are
// in minor units (fen, cents). First marks the customer's first order.
type Order struct {
	Ref         string
	CustomerID  uint64
	Status      string
	Total       int64
	Currency    string
	Items       []Item
	PlacedAt    time.Time
	DeliveredAt time.Time
	First       bool
}

// Action is what an order's status means for its points.
type Action int

// Actions.
const (
	Nothing Action = iota // not delivered yet: wait
	Earn                  // delivered: earn once
	Reverse               // cancelled, returned or refunded: take back what it earned
)

// ActionFor maps an order status to its Action.
func ActionFor(status string) Action {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case StatusDelivered, "completed", "received":
		return Earn
	case StatusCancelled, "canceled", StatusReturned, StatusRefunded:
		return Reverse
	}
	return Nothing
}

// Tier is one level of the programme. Threshold is in whole currency units
// of rolling 12-month spend, or in points earned over 12 months, depending
// on Rules.Basis.
type Tier struct {
	Name       string  // stored on the customer; Chinese by default ("资深")
	NameEN     string  // shown to English speakers
	Threshold  int64   // minimum to reach the tier
	Multiplier float64 // earning multiplier of the tier's members
}

// Label is the tier's name in lang.
func (t Tier) Label(lang string) string {
	if lang != "zh" && t.NameEN != "" {
		return t.NameEN
	}
	return t.Name
}

// Tier bases.
const (
	BasisSpend  = "spend"
	BasisPoints = "points"
)

// Rules are the programme's settings.
type Rules struct {
	// PointsPerUnit is earned per whole currency unit delivered.
	PointsPerUnit float64
	// CategoryMultipliers scale the points of items in a category.
	CategoryMultipliers map[string]float64
	// Tiers, lowest threshold first; the first must have threshold 0.
	Tiers []Tier
	Basis string
	// Validity is how long earned points last.
	Validity time.Duration
	// ExpiryReminder is how long before expiry the customer is reminded.
	ExpiryReminder  time.Duration
	FirstOrderBonus int64
	SurveyBonus     int64
	BirthdayBonus   int64
}

// DefaultTiers are the five Taobao buyer levels, by rolling 12-month spend
// in yuan: anyone starts as 新手; ¥500 a year is a regular (初级), ¥2,000
// an engaged buyer (中等), ¥5,000 the top few percent (资深), ¥20,000 the
// whales (骨灰). Higher tiers earn faster.
func DefaultTiers() []Tier {
	return []Tier{
		{Name: "新手", NameEN: "Newcomer", Threshold: 0, Multiplier: 1},
		{Name: "初级", NameEN: "Junior", Threshold: 500, Multiplier: 1},
		{Name: "中等", NameEN: "Intermediate", Threshold: 2000, Multiplier: 1.2},
		{Name: "资深", NameEN: "Senior", Threshold: 5000, Multiplier: 1.5},
		{Name: "骨灰", NameEN: "Veteran", Threshold: 20000, Multiplier: 2},
	}
}

// DefaultRules are the built-in settings: 1 point per yuan, points last a
// year, reminders 30 days before, 100 points for a first order, 20 for a
// survey, 200 in the birthday month.
func DefaultRules() Rules {
	return Rules{PointsPerUnit: 1, CategoryMultipliers: map[string]float64{}, Tiers: DefaultTiers(), Basis: BasisSpend,
		Validity: 365 * 24 * time.Hour, ExpiryReminder: 30 * 24 * time.Hour,
		FirstOrderBonus: 100, SurveyBonus: 20, BirthdayBonus: 200}
}

// Validate reports every problem with r.
func (r Rules) Validate() error {
	var errs []error
	if r.PointsPerUnit < 0 || math.IsNaN(r.PointsPerUnit) {
		errs = append(errs, fmt.Errorf("points per unit %v is negative", r.PointsPerUnit))
	}
	for c, m := range r.CategoryMultipliers {
		if m < 0 || math.IsNaN(m) {
			errs = append(errs, fmt.Errorf("category %q multiplier %v is negative", c, m))
		}
	}
	if len(r.Tiers) == 0 || r.Tiers[0].Threshold != 0 {
		errs = append(errs, errors.New("the first tier must have threshold 0"))
	}
	for i, t := range r.Tiers {
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("tier %d has no name", i+1))
		}
		if i > 0 && t.Threshold <= r.Tiers[i-1].Threshold {
			errs = append(errs, fmt.Errorf("tier %s: thresholds must rise", t.Name))
		}
		if t.Multiplier <= 0 {
			errs = append(errs, fmt.Errorf("tier %s: multiplier must be > 0", t.Name))
		}
	}
	if r.Basis != BasisSpend && r.Basis != BasisPoints {
		errs = append(errs, fmt.Errorf("basis %q is not spend or points", r.Basis))
	}
	if r.Validity <= 0 {
		errs = append(errs, errors.New("validity must be > 0"))
	}
	if r.ExpiryReminder < 0 || r.ExpiryReminder >= r.Validity && r.Validity > 0 {
		errs = append(errs, errors.New("expiry reminder must be >= 0 and shorter than validity"))
	}
	if r.FirstOrderBonus < 0 || r.SurveyBonus < 0 || r.BirthdayBonus < 0 {
		errs = append(errs, errors.New("bonuses must be >= 0"))
	}
	return errors.Join(errs...)
}

// MinorPerUnit is how many minor units make one currency unit.
func MinorPerUnit(currency string) int64 {
	switch strings.ToUpper(currency) {
	case "JPY", "KRW", "VND", "CLP", "ISK":
		return 1
	}
	return 100
}

// Points is what a delivered order earns before bonuses, for a member of
// tier (by name; unknown tiers earn ×1): each item's price × quantity ×
// its category's multiplier, or the total when the order lists no items,
// in whole currency units × PointsPerUnit × the tier's multiplier, rounded
// down — half points are never owed.
func (r Rules) Points(o Order, tier string) int64 {
	var value float64
	if len(o.Items) == 0 {
		value = float64(o.Total)
	}
	for _, it := range o.Items {
		m, ok := r.CategoryMultipliers[it.Category]
		if !ok {
			m = 1
		}
		value += float64(it.Price) * float64(it.Qty) * m
	}
	if value <= 0 {
		return 0
	}
	mult := 1.0
	if t, ok := r.TierNamed(tier); ok {
		mult = t.Multiplier
	}
	// The small epsilon keeps 1.2×500 from landing on 599.9999.
	return int64(math.Floor(value/float64(MinorPerUnit(o.Currency))*r.PointsPerUnit*mult + 1e-9))
}

// Bonus is extra points an order brings, with the suffix of its
// idempotency key.
type Bonus struct {
	Key    string // "first", "birthday:2026"
	Points int64
	Reason string
}

// Bonuses lists the bonuses of a delivered order: the first order, and
// the first delivered order in the customer's birth month (1–12; 0 is
// unknown) of each year, in loc.
func (r Rules) Bonuses(o Order, birthMonth int, loc *time.Location) []Bonus {
	var out []Bonus
	if o.First && r.FirstOrderBonus > 0 {
		out = append(out, Bonus{Key: "first", Points: r.FirstOrderBonus, Reason: "first order"})
	}
	at := o.DeliveredAt
	if at.IsZero() {
		at = o.PlacedAt
	}
	if loc == nil {
		loc = time.UTC
	}
	if birthMonth >= 1 && birthMonth <= 12 && r.BirthdayBonus > 0 && !at.IsZero() && int(at.In(loc).Month()) == birthMonth {
		out = append(out, Bonus{Key: "birthday:" + strconv.Itoa(at.In(loc).Year()), Points: r.BirthdayBonus, Reason: "birthday month"})
	}
	return out
}

// TierNamed finds a tier by its stored or English name.
func (r Rules) TierNamed(name string) (Tier, bool) {
	for _, t := range r.Tiers {
		if t.Name == name || strings.EqualFold(t.NameEN, name) && name != "" {
			return t, true
		}
	}
	return Tier{}, false
}

// TierIndex is the index of the highest tier value reaches; value is in
// whole currency units (spend basis) or points.
func (r Rules) TierIndex(value int64) int {
	i := 0
	for j, t := range r.Tiers {
		if value >= t.Threshold {
			i = j
		}
	}
	return i
}

// Rank is the position of a tier name in r.Tiers, -1 if unknown.
func (r Rules) Rank(name string) int {
	for i, t := range r.Tiers {
		if t.Name == name {
			return i
		}
	}
	return -1
}

// Progress says what tier value reaches and how much more reaches the next
// one (ok false at the top).
func (r Rules) Progress(value int64) (cur Tier, next Tier, missing int64, ok bool) {
	i := r.TierIndex(value)
	cur = r.Tiers[i]
	if i+1 >= len(r.Tiers) {
		return cur, Tier{}, 0, false
	}
	next = r.Tiers[i+1]
	return cur, next, next.Threshold - value, true
}

// ExpiresAt is when points earned at t lapse.
func (r Rules) ExpiresAt(t time.Time) time.Time { return t.Add(r.Validity) }

// ParseTiers reads tiers written "name/English name:threshold:multiplier",
// e.g. "资深/Senior:5000:1.5".
func ParseTiers(specs []string) ([]Tier, error) {
	var out []Tier
	for _, s := range specs {
		parts := strings.Split(s, ":")
		if len(parts) != 3 {
			return nil, fmt.Errorf("tier %q: want name/english:threshold:multiplier", s)
		}
		name, en, _ := strings.Cut(parts[0], "/")
		th, err := strconv.ParseInt(strings.TrimSpace(parts[1]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("tier %q: threshold: %w", s, err)
		}
		m, err := strconv.ParseFloat(strings.TrimSpace(parts[2]), 64)
		if err != nil {
			return nil, fmt.Errorf("tier %q: multiplier: %w", s, err)
		}
		out = append(out, Tier{Name: strings.TrimSpace(name), NameEN: strings.TrimSpace(en), Threshold: th, Multiplier: m})
	}
	return out, nil
}

// FormatTiers writes tiers in the form ParseTiers reads.
func FormatTiers(ts []Tier) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = fmt.Sprintf("%s/%s:%d:%s", t.Name, t.NameEN, t.Threshold, strconv.FormatFloat(t.Multiplier, 'f', -1, 64))
	}
	return out
}

// ParseMultipliers reads "category=factor" pairs, e.g. "fresh=2".
func ParseMultipliers(specs []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, s := range specs {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("multiplier %q: want category=factor", s)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("multiplier %q: %w", s, err)
		}
		out[strings.TrimSpace(k)] = f
	}
	return out, nil
}
