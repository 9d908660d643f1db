package priority

import (
	"slices"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"差评", "差评"},
		{"Refund NOW", "refund now"},
		{"ＲＥＦＵＮＤ　ＮＯＷ！！", "refund now!!"},
		{"  退款\t\n！  ", "退款 !"},
		{"don’t", "don't"},
		{"ｶﾀｶﾅ", "カタカナ"},
		{"骗\u200b子", "骗子"},
		{"①２３", "123"},
		{"bad\xffbyte", "bad\ufffdbyte"},
	}
	for _, tt := range tests {
		if got := normalize(tt.in); got != tt.want {
			t.Errorf("normalize(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsNormal(t *testing.T) {
	// isNormal is a fast path: whenever it says yes, the slow path must
	// agree.
	for _, s := range []string{"", "abc", "refund now", "now!", "差评", "12315", "a  b", " a", "Abc", "ａ", "退款！", "`x"} {
		if isNormal(s) && strings.ToLower(fold(s)) != s {
			t.Errorf("isNormal(%q) = true but normalize changes it to %q", s, strings.ToLower(fold(s)))
		}
	}
}

func TestFindWords(t *testing.T) {
	lists := [][]string{{"sue", "12315", "给差评"}, {"差评", "angry", "坑"}, {"急", "着急", "now!"}}
	exceptions := []string{"坑位"}
	tests := []struct {
		text string
		want [3][]string
	}{
		{"", [3][]string{}},
		{"i will sue", [3][]string{{"sue"}}},
		{"pursue the issue", [3][]string{}},
		{"打12315投诉", [3][]string{{"12315"}}},
		{"电话0123155", [3][]string{}},
		{"not angry", [3][]string{}},
		{"no, angry", [3][]string{nil, {"angry"}}},
		{"piano angry", [3][]string{nil, {"angry"}}},
		{"没有差评", [3][]string{}},
		{"没有给差评", [3][]string{}},
		{"要给差评", [3][]string{{"给差评"}}},
		{"差评！差评！", [3][]string{nil, {"差评"}}},
		{"不着急", [3][]string{}},
		{"很着急", [3][]string{nil, nil, {"着急"}}},
		{"坑位不够", [3][]string{}},
		{"坑位不够，坑人", [3][]string{nil, {"坑"}}},
		{"now!!! angry 急", [3][]string{nil, {"angry"}, {"now!", "急"}}},
		{"sue sue sue", [3][]string{{"sue"}}},
	}
	for _, tt := range tests {
		got := findWords(tt.text, lists, exceptions)
		for i := range got {
			if !slices.Equal(got[i], tt.want[i]) {
				t.Errorf("findWords(%q)[%d] = %q; want %q", tt.text, i, got[i], tt.want[i])
			}
		}
	}
}

func TestNegated(t *testing.T) {
	tests := []struct {
		before, word string
		want         bool
	}{
		{"", "angry", false},
		{"i am not ", "angry", true},
		{"i am not", "angry", true},
		{"not very ", "angry", true},
		{"i'm not going to ", "sue", true},
		{"i won't ", "sue", true},
		{"i dont want to ", "sue", true},
		{"don't ", "scam", false}, // a prohibition: "don't scam people"
		{"piano ", "angry", false},
		{"not only ", "terrible", false},
		{"不", "生气", true},
		{"没有", "差评", true},
		{"不是很", "生气", true},
		{"不会给", "差评", true},
		{"别", "坑我", false},   // a prohibition
		{"不要", "坑我", false},  // a prohibition
		{"还不如", "垃圾", false}, // worse than garbage
		{"没想到这么", "垃圾", false},
		{"不, ", "生气", false}, // punctuation ends the reach of a cue
		// A-not-A questions are not negations.
		{"你们是不是", "骗子", false},
		{"有没有", "差评", false},
		{"你们", "急不急", false},
		{"急不", "急", false},
		{"他们不是", "骗子", true},
	}
	for _, tt := range tests {
		if got := negated(tt.before+tt.word, len(tt.before)); got != tt.want {
			t.Errorf("negated(%q before %q) = %v; want %v", tt.before, tt.word, got, tt.want)
		}
	}
}

func TestShouting(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"where is my order", nil},
		{"where is my order!!", nil},
		{"where is my order!!!", []string{"!!!"}},
		{"what?!?", []string{"?!?"}},
		{"???", []string{"???"}},
		{"WHERE IS MY ORDER", []string{"WHERE IS MY ORDER"}},
		{"I AM ANGRY", []string{"I AM ANGRY"}},
		{"I AM", nil},
		{"A B C", nil},
		{"ORDER 12345 NOT HERE", []string{"ORDER 12345 NOT HERE"}},
		{"WHERE 是 MY ORDER", nil},
		{"I bought a USB cable via DHL", nil},
		{"DON'T DO THAT", []string{"DON'T DO THAT"}},
		{"!!! and again !!!", []string{"!!!"}},
		{"1!!!2???3!!!!4?!?5!!!!!6!?!?", []string{"!!!", "???", "!!!!", "?!?", "!!!!!"}},
		{strings.Repeat("LOUD ", 40), []string{strings.TrimSpace(strings.Repeat("LOUD ", 12))}},
	}
	for _, tt := range tests {
		if got := shouting(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("shouting(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 2, "ab"},
		{"差评", 4, "差"},
		{"差评", 3, "差"},
		{"差评", 2, ""},
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q; want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestHighValueTier(t *testing.T) {
	r := DefaultRules()
	tests := []struct {
		tier string
		want bool
	}{
		{"", false},
		{"资深", true},
		{"資深", true},
		{"骨灰", true},
		{"新手", false},
		{"中等", false},
		{"VIP", true},
		{"vip", true},
		{"ＶＩＰ", true},
		{"VIP 3", true},
		{"88VIP", true},
		{"Gold", true},
		{"gold member", false},
		{"3", false},
	}
	for _, tt := range tests {
		if got := r.highValueTier(tt.tier); got != tt.want {
			t.Errorf("highValueTier(%q) = %v; want %v", tt.tier, got, tt.want)
		}
	}
}

func TestRepeatPoints(t *testing.T) {
	tests := []struct{ count, per, limit, want int }{
		{0, 10, 30, 0},
		{-1, 10, 30, 0},
		{1, 10, 30, 10},
		{3, 10, 30, 30},
		{4, 10, 30, 30},
		{1 << 62, 10, 30, 30},
		{2, 7, 30, 14},
		{5, 7, 30, 30},
		{5, 0, 30, 0},
		{5, 10, 0, 0},
	}
	for _, tt := range tests {
		if got := repeatPoints(tt.count, tt.per, tt.limit); got != tt.want {
			t.Errorf("repeatPoints(%d, %d, %d) = %d; want %d", tt.count, tt.per, tt.limit, got, tt.want)
		}
	}
}
