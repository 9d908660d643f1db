package priority

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// signalStrings renders signals as "kind:match=points" for compact tables.
func signalStrings(sig []Signal) []string {
	out := make([]string, len(sig))
	for i, s := range sig {
		out[i] = fmt.Sprintf("%s:%s=%d", s.Kind, s.Match, s.Points)
	}
	return out
}

func TestGrade(t *testing.T) {
	r := DefaultRules()
	tests := []struct {
		name     string
		in       Input
		priority string
		score    int
		severity string
		signals  []string // nil: not checked
	}{
		// The cases the defaults were designed around.
		{
			name:     "en calm delay from a new customer",
			in:       Input{Category: LogisticsDelay, Text: "Hi, the parcel is a bit late. Any update?"},
			priority: P4, score: 10, severity: SeverityLow,
			signals: []string{"category:logistics.delay=10"},
		},
		{
			name:     "zh-Hans calm delay",
			in:       Input{Category: LogisticsDelay, Text: "快递有点慢，麻烦帮我查一下，谢谢"},
			priority: P4, score: 10, severity: SeverityLow,
		},
		{
			name:     "zh-Hans counterfeit, scam, 12315 and shouting",
			in:       Input{Category: ProductCounterfeit, Text: "收到的是假货！！！骗子，我要打12315投诉"},
			priority: P1, score: 120, severity: SeverityCritical,
			signals: []string{"category:product.counterfeit=40", "threat:骗子, 12315=55", "anger:投诉=15", "anger:!!!=10"},
		},
		{
			name:     "zh-Hant counterfeit, scam, 12315 and shouting",
			in:       Input{Category: ProductCounterfeit, Text: "收到的是假貨！！！騙子，我要打12315投訴"},
			priority: P1, score: 120, severity: SeverityCritical,
			signals: []string{"category:product.counterfeit=40", "threat:騙子, 12315=55", "anger:投訴=15", "anger:!!!=10"},
		},
		{
			name:     "third damaged complaint from a 骨灰 customer",
			in:       Input{Category: LogisticsDamaged, Text: "箱子压坏了，里面的杯子碎了", RepeatCount: 2, CustomerTier: "骨灰"},
			priority: P1, score: 60, severity: SeverityLow,
			signals: []string{"category:logistics.damaged=25", "repeat:2=20", "value:骨灰=15"},
		},
		{
			name:     "third damaged complaint from a 資深 customer, zh-Hant",
			in:       Input{Category: LogisticsDamaged, Text: "盒子又被壓壞了", RepeatCount: 2, CustomerTier: "資深"},
			priority: P1, score: 60, severity: SeverityLow,
		},
		{
			name:     "en uncategorised calm handoff",
			in:       Input{Text: "Can I talk to a person please?"},
			priority: P4, score: 10, severity: SeverityLow,
			signals: []string{"category:=10"},
		},
		{
			name:     "zh-Hans uncategorised handoff from a VIP",
			in:       Input{Text: "转人工", CustomerTier: "VIP"},
			priority: P3, score: 25, severity: SeverityLow,
		},
		{
			name:     "en payment double charge, refund now!!!",
			in:       Input{Category: SystemPayment, Text: "I was charged twice for order 88231. Refund now!!!"},
			priority: P1, score: 60, severity: SeverityHigh,
			signals: []string{"category:system.payment=40", "anger:!!!=10", "urgency:refund now, now!=10"},
		},
		{
			name:     "zh-Hans payment double charge, 马上退款！",
			in:       Input{Category: SystemPayment, Text: "扣了两次款，马上退款！"},
			priority: P2, score: 50, severity: SeverityMedium,
			signals: []string{"category:system.payment=40", "urgency:马上, 退款!=10"},
		},

		// Threats: any threat makes P1, whatever the category.
		{
			name:     "en lawyer threat on a slow reply",
			in:       Input{Category: ServiceSlowReply, Text: "Nobody answers. I will sue you and report you to the BBB."},
			priority: P1, score: 60, severity: SeverityCritical,
			signals: []string{"category:service.slow_reply=5", "threat:sue, report you, bbb=55"},
		},
		{
			name:     "zh-Hant lawyer threat",
			in:       Input{Category: ServiceAfterSales, Text: "再不處理我就找律師"},
			priority: P1, score: 75, severity: SeverityCritical,
		},
		{
			name:     "bad-review threat: the longest phrase wins, no double count as anger",
			in:       Input{Category: ServiceAttitude, Text: "我要给你差评"},
			priority: P1, score: 75, severity: SeverityCritical,
			signals: []string{"category:service.attitude=20", "threat:给你差评=55"},
		},

		// Negation.
		{
			name:     "en negated anger",
			in:       Input{Category: ServiceAttitude, Text: "I'm not angry, I just want it fixed"},
			priority: P3, score: 20, severity: SeverityLow,
		},
		{
			name:     "en negated anger through a bridge word",
			in:       Input{Category: ServiceAttitude, Text: "I am not very angry, it’s not the worst"},
			priority: P3, score: 20, severity: SeverityLow,
		},
		{
			name:     "zh-Hans 没有差评, 不生气",
			in:       Input{Category: ProductQuality, Text: "我没有差评，也不生气，只是想换一个"},
			priority: P3, score: 25, severity: SeverityLow,
			signals: []string{"category:product.quality=25"},
		},
		{
			name:     "zh-Hant 沒有生氣, 不會給差評",
			in:       Input{Category: ProductQuality, Text: "我沒有生氣，也不會給差評"},
			priority: P3, score: 25, severity: SeverityLow,
		},
		{
			name:     "zh-Hans 不急",
			in:       Input{Category: LogisticsDelay, Text: "不急，慢慢来"},
			priority: P4, score: 10, severity: SeverityLow,
		},
		{
			name:     "a prohibition is not a negation: 别坑我",
			in:       Input{Category: ProductNotAsDescribed, Text: "别坑我，图片和实物不一样"},
			priority: P2, score: 35, severity: SeverityMedium,
			signals: []string{"category:product.not_as_described=20", "anger:坑=15"},
		},
		{
			name:     "zh-Hant an A-not-A question is not a negation: 是不是騙子",
			in:       Input{Category: ServiceAfterSales, Text: "申請退貨一個禮拜都沒人理，你們是不是騙子？"},
			priority: P1, score: 75, severity: SeverityCritical,
			signals: []string{"category:service.after_sales=20", "threat:騙子=55"},
		},
		{
			name:     "negation only cancels the occurrence it precedes",
			in:       Input{Category: ServiceAttitude, Text: "not angry at first, now I am angry"},
			priority: P2, score: 35, severity: SeverityMedium,
		},

		// Shouting.
		{
			name:     "en ALL CAPS run",
			in:       Input{Category: ProductNotAsDescribed, Text: "WHERE IS MY REFUND"},
			priority: P3, score: 30, severity: SeverityMedium,
			signals: []string{"category:product.not_as_described=20", "anger:WHERE IS MY REFUND=10"},
		},
		{
			name:     "zh full-width ？？？",
			in:       Input{Category: LogisticsLost, Text: "我的包裹呢？？？"},
			priority: P2, score: 40, severity: SeverityMedium,
			signals: []string{"category:logistics.lost=30", "anger:???=10"},
		},
		{
			name:     "not shouting: two marks, two caps words, a product code",
			in:       Input{Category: ProductQuality, Text: "The USB cable from DHL broke!! Is it OK?"},
			priority: P3, score: 25, severity: SeverityLow,
		},

		// Repeats and value.
		{
			name:     "one earlier complaint",
			in:       Input{Category: LogisticsDelay, Text: "still not here", RepeatCount: 1},
			priority: P3, score: 20, severity: SeverityLow,
		},
		{
			name:     "repeat points are capped",
			in:       Input{Category: LogisticsDelay, Text: "still not here", RepeatCount: 12},
			priority: P2, score: 40, severity: SeverityLow,
			signals: []string{"category:logistics.delay=10", "repeat:12=30"},
		},
		{
			name:     "negative repeat count is ignored",
			in:       Input{Category: LogisticsDelay, RepeatCount: -3},
			priority: P4, score: 10, severity: SeverityLow,
			signals: []string{"category:logistics.delay=10"},
		},
		{
			name:     "high value from segmentation",
			in:       Input{Category: LogisticsDelay, Text: "late", HighValue: true},
			priority: P3, score: 25, severity: SeverityLow,
			signals: []string{"category:logistics.delay=10", "value:high_value=15"},
		},
		{
			name:     "tier with level number and other case",
			in:       Input{Category: LogisticsDelay, Text: "late", CustomerTier: "Vip 3", HighValue: true},
			priority: P3, score: 25, severity: SeverityLow,
			signals: []string{"category:logistics.delay=10", "value:Vip 3=15"},
		},
		{
			name:     "ordinary tier",
			in:       Input{Category: LogisticsDelay, Text: "late", CustomerTier: "新手"},
			priority: P4, score: 10, severity: SeverityLow,
		},

		// Mixed language and normalisation.
		{
			name:     "mixed zh/en with anger, shouting and urgency",
			in:       Input{Category: LogisticsDelay, Text: "我的order到现在还没到, this is ridiculous!!! 马上给我退款"},
			priority: P2, score: 45, severity: SeverityCritical,
			signals: []string{"category:logistics.delay=10", "anger:ridiculous=15", "anger:!!!=10", "urgency:马上=10"},
		},
		{
			name:     "full-width capitals still match a threat word",
			in:       Input{Category: SystemSiteApp, Text: "this site is a ＳＣＡＭ"},
			priority: P1, score: 65, severity: SeverityCritical,
		},
		{
			name:     "zero-width space inside a word",
			in:       Input{Category: SystemSiteApp, Text: "骗\u200b子"},
			priority: P1, score: 65, severity: SeverityCritical,
		},
		{
			name:     "whole words only: sue is not in issue",
			in:       Input{Category: SystemSiteApp, Text: "There is an issue with the app, it is now closing by itself"},
			priority: P4, score: 10, severity: SeverityLow,
		},
		{
			name:     "exception: 工商银行 is a bank, not the regulator",
			in:       Input{Category: SystemPayment, Text: "用工商银行卡付款一直失败"},
			priority: P2, score: 40, severity: SeverityLow,
		},
		{
			name:     "exception: 垃圾袋 is a product",
			in:       Input{Category: ProductQuality, Text: "垃圾袋一拉就破"},
			priority: P3, score: 25, severity: SeverityLow,
		},
		{
			name:     "unknown category counts as uncategorised",
			in:       Input{Category: "logistics.teleport", Text: "hello"},
			priority: P4, score: 10, severity: SeverityLow,
			signals: []string{"category:logistics.teleport=10"},
		},
		{
			name:     "empty input",
			in:       Input{},
			priority: P4, score: 10, severity: SeverityLow,
			signals: []string{"category:=10"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Grade(tt.in)
			if got.Priority != tt.priority || got.Score != tt.score || got.Severity != tt.severity {
				t.Errorf("Grade(%+v) = %s score %d severity %s; want %s score %d severity %s\nsignals: %q",
					tt.in, got.Priority, got.Score, got.Severity, tt.priority, tt.score, tt.severity, signalStrings(got.Signals))
			}
			if tt.signals != nil && !slices.Equal(signalStrings(got.Signals), tt.signals) {
				t.Errorf("Grade(%+v).Signals = %q; want %q", tt.in, signalStrings(got.Signals), tt.signals)
			}
		})
	}
}

// TestGradeThreatIsP1 checks the promise of the default table that a
// threat alone makes any category P1.
func TestGradeThreatIsP1(t *testing.T) {
	r := DefaultRules()
	for _, cat := range Categories() {
		for _, text := range []string{"我要打12315", "我要找律師", "I'll call my lawyer"} {
			if got := r.Grade(Input{Category: cat, Text: text}); got.Priority != P1 {
				t.Errorf("Grade(%q, %q) = %s score %d; want P1", cat, text, got.Priority, got.Score)
			}
		}
	}
}

// TestGradeWordListsCountOnce checks that many words of one list add the
// list's points once, and that Match lists every word found.
func TestGradeWordListsCountOnce(t *testing.T) {
	r := DefaultRules()
	got := r.Grade(Input{Category: ServiceAttitude, Text: "垃圾客服，恶心，气死了，太差了，无语，terrible, worst, disgusting"})
	var anger []Signal
	for _, s := range got.Signals {
		if s.Kind == KindAnger {
			anger = append(anger, s)
		}
	}
	want := Signal{Kind: KindAnger, Match: "垃圾, 恶心, 气死, 太差, 无语, terrible, worst, disgusting", Points: 15}
	if len(anger) != 1 || anger[0] != want {
		t.Errorf("anger signals = %+v; want [%+v]", anger, want)
	}
	if got.Score != 35 {
		t.Errorf("score = %d; want 35", got.Score)
	}
}

func TestGradeCustomRules(t *testing.T) {
	r := DefaultRules()
	r.AngerWords = append(r.AngerWords, "ＳＬＯＷ ＰＯＫＥ") // added in any width and case
	r.HighValueTiers = []string{"Platinum"}
	r.Thresholds = [3]int{100, 50, 20}
	got := r.Grade(Input{Category: LogisticsDelay, Text: "what a slow   poke", CustomerTier: "PLATINUM"})
	if want := []string{"category:logistics.delay=10", "anger:ＳＬＯＷ ＰＯＫＥ=15", "value:PLATINUM=15"}; !slices.Equal(signalStrings(got.Signals), want) {
		t.Errorf("Signals = %q; want %q", signalStrings(got.Signals), want)
	}
	if got.Priority != P3 || got.Score != 40 {
		t.Errorf("Grade = %s score %d; want P3 score 40", got.Priority, got.Score)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Rules)
		want   []string // substrings of the error; nil means no error
	}{
		{"defaults", func(*Rules) {}, nil},
		{"zero thresholds", func(r *Rules) { r.Thresholds = [3]int{} }, []string{"thresholds [0 0 0]"}},
		{"thresholds not descending", func(r *Rules) { r.Thresholds = [3]int{60, 60, 15} }, []string{"must descend"}},
		{"thresholds ascending", func(r *Rules) { r.Thresholds = [3]int{15, 35, 60} }, []string{"must descend"}},
		{"unknown category", func(r *Rules) { r.CategoryPoints["logistic.delay"] = 10 }, []string{`unknown category "logistic.delay"`}},
		{"negative category points", func(r *Rules) { r.CategoryPoints[SystemPayment] = -1 }, []string{`"system.payment" has negative points -1`}},
		{"negative anger points", func(r *Rules) { r.AngerPoints = -5 }, []string{"anger points: -5 is negative"}},
		{"negative repeat cap", func(r *Rules) { r.RepeatCap = -1 }, []string{"repeat cap: -1 is negative"}},
		{"empty threat word", func(r *Rules) { r.ThreatWords = append(r.ThreatWords, " ") }, []string{"threat words: entry", "is empty"}},
		{"invisible exception", func(r *Rules) { r.Exceptions = []string{"\u200b"} }, []string{"exceptions: entry 0"}},
		{"empty tier", func(r *Rules) { r.HighValueTiers = []string{""} }, []string{"high-value tiers: entry 0"}},
		{"every problem at once", func(r *Rules) {
			r.Thresholds = [3]int{1, 2, 3}
			r.UrgencyPoints = -1
			r.CategoryPoints["nope"] = 1
		}, []string{"must descend", "urgency points", `unknown category "nope"`}},
		{"missing categories are allowed", func(r *Rules) { r.CategoryPoints = map[string]int{"": 5} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DefaultRules()
			tt.change(&r)
			err := r.Validate()
			if tt.want == nil {
				if err != nil {
					t.Errorf("Validate() = %v; want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil; want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestZeroRulesValidate(t *testing.T) {
	if err := (Rules{}).Validate(); err == nil {
		t.Error("Rules{}.Validate() = nil; want an error")
	}
}

func TestDefaultRulesAreFresh(t *testing.T) {
	a := DefaultRules()
	a.CategoryPoints[LogisticsDelay] = 99
	a.ThreatWords[0] = "changed"
	b := DefaultRules()
	if got := b.CategoryPoints[LogisticsDelay]; got != 10 {
		t.Errorf("second DefaultRules().CategoryPoints[delay] = %d; want 10", got)
	}
	if got := b.ThreatWords[0]; got != "12315" {
		t.Errorf("second DefaultRules().ThreatWords[0] = %q; want 12315", got)
	}
}

func TestDefaultRulesCoverCategories(t *testing.T) {
	r := DefaultRules()
	for _, c := range Categories() {
		if _, ok := r.CategoryPoints[c]; !ok {
			t.Errorf("DefaultRules().CategoryPoints has no %q", c)
		}
	}
	if got, want := len(r.CategoryPoints), len(Categories()); got != want {
		t.Errorf("len(CategoryPoints) = %d; want %d", got, want)
	}
}

// TestDefaultWordsNormalised keeps the default lists free of entries that
// could never match or that repeat another entry.
func TestDefaultWordsNormalised(t *testing.T) {
	r := DefaultRules()
	for name, words := range map[string][]string{
		"threat": r.ThreatWords, "anger": r.AngerWords, "urgency": r.UrgencyWords, "exceptions": r.Exceptions,
	} {
		seen := map[string]bool{}
		for _, w := range words {
			n := normalize(w)
			if seen[n] {
				t.Errorf("%s words: %q is listed twice", name, w)
			}
			seen[n] = true
		}
	}
}

func TestGradeDuplicateWords(t *testing.T) {
	r := DefaultRules()
	r.AngerWords = append(r.AngerWords, "差评", "差評", "ＷＯＲＳＴ")
	got := r.Grade(Input{Category: ServiceAttitude, Text: "差评，worst"})
	if want := []string{"category:service.attitude=20", "anger:差评, worst=15"}; !slices.Equal(signalStrings(got.Signals), want) {
		t.Errorf("Signals = %q; want %q", signalStrings(got.Signals), want)
	}
}
