package priority

import (
	"strconv"
	"strings"
)

// Priorities, most urgent first.
const (
	P1 = "P1"
	P2 = "P2"
	P3 = "P3"
	P4 = "P4"
)

// Severities: the emotional intensity read from the text alone.
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// Kinds of [Signal]. Shouting is reported as a second anger signal whose
// Match is what was shouted ("!!!", "WHERE IS MY ORDER").
const (
	KindCategory = "category"
	KindThreat   = "threat"
	KindAnger    = "anger"
	KindUrgency  = "urgency"
	KindRepeat   = "repeat"
	KindValue    = "value"
)

// MatchHighValue is the Match of the value signal when it comes from
// Input.HighValue rather than from the customer's tier.
const MatchHighValue = "high_value"

// Input is what a complaint or escalation is graded on.
type Input struct {
	Category     string // one of Categories(), or "" for an uncategorised handoff
	Text         string // everything the customer wrote about it, any mix of EN, zh-Hans and zh-Hant
	RepeatCount  int    // earlier complaints by this customer in the last 30 days
	CustomerTier string // tier name as stored ("资深", "骨灰", "VIP", "gold"), matched against Rules.HighValueTiers
	HighValue    bool   // set by segmentation (top 20% by spend) when known
}

// Signal is one reason for a grade, shown to staff on the ticket card.
type Signal struct {
	Kind   string // KindCategory, KindThreat, KindAnger, KindUrgency, KindRepeat or KindValue
	Match  string // what matched: the category key, the words found (", "-separated), the shouting, the repeat count or the tier
	Points int    // what it added to the score
}

// Result is a grade. The Points of the Signals add up to Score.
type Result struct {
	Priority string   // P1 .. P4
	Score    int      // sum of the signals' points
	Severity string   // SeverityLow .. SeverityCritical, from the text alone
	Signals  []Signal // why, in a fixed order: category, threat, anger, shouting, urgency, repeat, value
}

// Grade scores a complaint and maps the score to a priority through
// r.Thresholds. It is pure and safe for concurrent use. Grade expects rules
// that pass [Rules.Validate]; with other rules it still returns P1..P4 but
// the grade may mean little.
//
// The text is normalised (NFKC, width folded, lower case) and each word
// list counts at most once however many of its words appear; the words
// found are all listed in the signal's Match. See the package
// documentation for the matching rules.
func (r Rules) Grade(in Input) Result {
	cased := fold(truncate(in.Text, maxTextBytes))
	text := strings.ToLower(cased)
	found := findWords(text, [][]string{r.ThreatWords, r.AngerWords, r.UrgencyWords}, r.Exceptions)
	threat, anger, urgency := found[0], found[1], found[2]
	shouts := shouting(cased)

	var res Result
	add := func(kind, match string, points int) {
		res.Signals = append(res.Signals, Signal{Kind: kind, Match: match, Points: points})
		res.Score += points
	}

	points, ok := r.CategoryPoints[in.Category]
	if !ok {
		// A category this table does not know is treated as uncategorised.
		points = r.CategoryPoints[""]
	}
	add(KindCategory, in.Category, points)
	if len(threat) > 0 {
		add(KindThreat, strings.Join(threat, ", "), r.ThreatPoints)
	}
	if len(anger) > 0 {
		add(KindAnger, strings.Join(anger, ", "), r.AngerPoints)
	}
	if len(shouts) > 0 {
		add(KindAnger, strings.Join(shouts, ", "), r.ShoutPoints)
	}
	if len(urgency) > 0 {
		add(KindUrgency, strings.Join(urgency, ", "), r.UrgencyPoints)
	}
	if in.RepeatCount > 0 {
		add(KindRepeat, strconv.Itoa(in.RepeatCount), repeatPoints(in.RepeatCount, r.RepeatPoints, r.RepeatCap))
	}
	switch {
	case r.highValueTier(in.CustomerTier):
		add(KindValue, in.CustomerTier, r.HighValuePoints)
	case in.HighValue:
		add(KindValue, MatchHighValue, r.HighValuePoints)
	}

	res.Severity = severity(len(threat) > 0, len(anger) > 0, len(shouts) > 0, len(urgency) > 0)
	switch {
	case res.Score >= r.Thresholds[0]:
		res.Priority = P1
	case res.Score >= r.Thresholds[1]:
		res.Priority = P2
	case res.Score >= r.Thresholds[2]:
		res.Priority = P3
	default:
		res.Priority = P4
	}
	return res
}

// severity grades emotional intensity: any threat is critical; otherwise
// it counts the kinds of emotion present (anger words, shouting, urgency).
func severity(threat, anger, shout, urgency bool) string {
	n := 0
	for _, b := range [...]bool{anger, shout, urgency} {
		if b {
			n++
		}
	}
	switch {
	case threat || n == 3:
		return SeverityCritical
	case n == 2:
		return SeverityHigh
	case n == 1:
		return SeverityMedium
	default:
		return SeverityLow
	}
}

// repeatPoints is per points for each of count earlier complaints, at most
// limit in all. It cannot overflow, whatever count is.
func repeatPoints(count, per, limit int) int {
	if count <= 0 || per <= 0 || limit <= 0 {
		return 0
	}
	if count >= limit/per+1 {
		return limit
	}
	return min(count*per, limit)
}

// highValueTier reports whether tier is one of r.HighValueTiers, compared
// normalised and without spaces; a trailing level number is ignored, so
// "VIP 3" and "vip3" match "VIP".
func (r Rules) highValueTier(tier string) bool {
	t := tierKey(tier)
	if t == "" {
		return false
	}
	base := strings.TrimRight(t, "0123456789")
	for _, h := range r.HighValueTiers {
		if k := tierKey(h); k != "" && (k == t || k == base) {
			return true
		}
	}
	return false
}

func tierKey(s string) string {
	return strings.ReplaceAll(normalize(s), " ", "")
}
