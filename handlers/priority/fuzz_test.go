package priority

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzGrade checks that Grade never panics and keeps its contract on any
// input: a priority P1..P4 consistent with the score and thresholds, a
// known severity, signals of known kinds with valid UTF-8 that add up to
// the score, and monotonicity in the repeat count and high-value flag.
func FuzzGrade(f *testing.F) {
	for _, seed := range []struct {
		cat, text, tier string
		repeat          int
		high            bool
	}{
		{"", "", "", 0, false},
		{LogisticsDelay, "the parcel is a bit late", "", 0, false},
		{ProductCounterfeit, "收到的是假货！！！骗子，我要打12315投诉", "", 0, false},
		{LogisticsDamaged, "盒子又被壓壞了", "骨灰", 2, false},
		{SystemPayment, "charged twice. REFUND NOW!!!", "VIP 3", 1, true},
		{"bogus", "not angry, 不生气, 没有差评 ？？？", "Ｇｏｌｄ", -5, false},
		{ServiceSlowReply, "\xff\xfe骗\u200b子 I WILL SUE YOU", "", 1 << 40, true},
	} {
		f.Add(seed.cat, seed.text, seed.tier, seed.repeat, seed.high)
	}
	r := DefaultRules()
	kinds := []string{KindCategory, KindThreat, KindAnger, KindUrgency, KindRepeat, KindValue}
	severities := []string{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
	f.Fuzz(func(t *testing.T, cat, text, tier string, repeat int, high bool) {
		in := Input{Category: cat, Text: text, RepeatCount: repeat, CustomerTier: tier, HighValue: high}
		got := r.Grade(in)

		want := P4
		switch {
		case got.Score >= r.Thresholds[0]:
			want = P1
		case got.Score >= r.Thresholds[1]:
			want = P2
		case got.Score >= r.Thresholds[2]:
			want = P3
		}
		if got.Priority != want {
			t.Fatalf("Grade(%+v).Priority = %q with score %d; want %q", in, got.Priority, got.Score, want)
		}
		if !slices.Contains(severities, got.Severity) {
			t.Fatalf("Grade(%+v).Severity = %q; want one of %q", in, got.Severity, severities)
		}
		sum := 0
		for _, s := range got.Signals {
			sum += s.Points
			if !slices.Contains(kinds, s.Kind) {
				t.Fatalf("Grade(%+v) has a signal of kind %q", in, s.Kind)
			}
			if s.Kind != KindCategory && s.Kind != KindValue && !utf8.ValidString(s.Match) {
				t.Fatalf("Grade(%+v) signal %+v: invalid UTF-8 in Match", in, s)
			}
		}
		if sum != got.Score || got.Score < 0 {
			t.Fatalf("Grade(%+v): score %d, signals add up to %d", in, got.Score, sum)
		}
		if len(got.Signals) == 0 || got.Signals[0].Kind != KindCategory {
			t.Fatalf("Grade(%+v).Signals = %+v; want the category first", in, got.Signals)
		}

		// More history or value never lowers the score.
		more := in
		more.HighValue = true
		if repeat < 1<<30 && repeat > -(1<<30) {
			more.RepeatCount = repeat + 1
		}
		if g := r.Grade(more); g.Score < got.Score {
			t.Fatalf("Grade(%+v).Score = %d < Grade(%+v).Score = %d", more, g.Score, in, got.Score)
		}
		// Grading is deterministic.
		if again := r.Grade(in); again.Score != got.Score || !slices.Equal(again.Signals, got.Signals) {
			t.Fatalf("Grade(%+v) is not deterministic: %+v then %+v", in, got, again)
		}
		// Case does not change the words found.
		if isASCIILetters(text) {
			lower, upper := r.Grade(Input{Text: text}), r.Grade(Input{Text: strings.ToUpper(text)})
			for _, k := range []string{KindThreat, KindUrgency} {
				if countKind(lower, k) != countKind(upper, k) {
					t.Fatalf("%s detection in %q depends on case", k, text)
				}
			}
		}
	})
}

func countKind(r Result, kind string) int {
	n := 0
	for _, s := range r.Signals {
		if s.Kind == kind {
			n++
		}
	}
	return n
}

func isASCIILetters(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == ' ') {
			return false
		}
	}
	return true
}
