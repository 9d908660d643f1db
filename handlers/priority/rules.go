package priority

import (
	"errors"
	"fmt"
	"slices"
)

// The complaint categories, by key. "" is an uncategorised handoff.
const (
	ProductQuality        = "product.quality"
	ProductNotAsDescribed = "product.not_as_described"
	ProductCounterfeit    = "product.counterfeit"
	LogisticsDelay        = "logistics.delay"
	LogisticsDamaged      = "logistics.damaged"
	LogisticsLost         = "logistics.lost"
	ServiceSlowReply      = "service.slow_reply"
	ServiceAttitude       = "service.attitude"
	ServiceAfterSales     = "service.after_sales"
	SystemSiteApp         = "system.site_app"
	SystemPayment         = "system.payment"
	SystemAccount         = "system.account"
	Uncategorised         = ""
)

// Categories returns the known category keys, "" (uncategorised) last.
func Categories() []string {
	return []string{
		ProductQuality, ProductNotAsDescribed, ProductCounterfeit,
		LogisticsDelay, LogisticsDamaged, LogisticsLost,
		ServiceSlowReply, ServiceAttitude, ServiceAfterSales,
		SystemSiteApp, SystemPayment, SystemAccount,
		Uncategorised,
	}
}

// Rules are the grading table. The zero value grades everything P1; start
// from [DefaultRules] and change what the shop needs, then call
// [Rules.Validate]. Words are matched normalised (NFKC, width folded, lower
// case), so they may be written in any case or width.
type Rules struct {
	CategoryPoints map[string]int // base points per category key; a missing or unknown key gets the "" entry

	ThreatWords  []string // regulators, media, lawyers, scam accusations, bad-review threats
	AngerWords   []string // insults, disgust, 差评, 投诉 …
	UrgencyWords []string // 急, 马上, asap, right now …
	// Exceptions are phrases inside which a word of the lists above does
	// not count: 工商银行 (a bank) contains 工商, 垃圾袋 (a product) 垃圾.
	Exceptions []string

	ThreatPoints  int // once, if any threat word is found
	AngerPoints   int // once, if any anger word is found
	UrgencyPoints int // once, if any urgency word is found
	ShoutPoints   int // once, for "!!!", "？？？" or a run of 3+ ALL-CAPS words

	RepeatPoints int // per earlier complaint in the last 30 days …
	RepeatCap    int // … and at most this many points in all

	HighValueTiers  []string // tier names that count as high value
	HighValuePoints int      // once, for a high-value tier or Input.HighValue

	// Thresholds are the scores at or above which a complaint is P1, P2
	// and P3; below Thresholds[2] it is P4.
	Thresholds [3]int
}

// DefaultRules returns the default table documented in the package
// documentation. Each call builds fresh maps and slices, so the caller may
// change them.
func DefaultRules() Rules {
	return Rules{
		CategoryPoints: map[string]int{
			ProductCounterfeit:    40,
			SystemPayment:         40,
			LogisticsLost:         30,
			ProductQuality:        25,
			LogisticsDamaged:      25,
			SystemAccount:         25,
			ProductNotAsDescribed: 20,
			ServiceAfterSales:     20,
			ServiceAttitude:       20,
			LogisticsDelay:        10,
			SystemSiteApp:         10,
			Uncategorised:         10,
			ServiceSlowReply:      5,
		},
		ThreatWords: []string{
			// Regulators and the police.
			"12315", "12345热线", "12345熱線", "市长热线", "市長熱線", "315晚会", "315晚會",
			"投诉到", "投訴到", "举报", "舉報", "工商", "市场监管", "市場監管", "市监局", "市監局",
			"消协", "消協", "消费者协会", "消費者協會", "消委会", "消委會", "消基会", "消基會", "消保官",
			"报警", "報警", "警察",
			// Media.
			"曝光", "媒体", "媒體", "记者", "記者", "上热搜", "上熱搜", "发微博", "發微博", "发到网上", "發到網上",
			// Lawyers and courts.
			"律师", "律師", "起诉", "起訴", "法院", "告你", "打官司", "法律途径", "法律途徑",
			// Calling the shop a scam.
			"骗子", "騙子", "诈骗", "詐騙", "骗钱", "騙錢", "黑店",
			// Bad-review threats (差评 alone is anger).
			"给差评", "給差評", "给你差评", "給你差評", "给你们差评", "給你們差評", "打差评", "打差評",
			"差评警告", "差評警告", "等着差评", "等著差評",
			// English.
			"lawyer", "lawyers", "attorney", "legal action", "sue", "sued", "suing",
			"to court", "in court", "court case", "small claims",
			"report you", "reporting you", "chargeback", "charge back", "dispute",
			"bbb", "better business bureau", "ftc", "trading standards", "consumer protection",
			"consumer council", "ombudsman", "police", "the press", "journalist", "social media",
			"scam", "scams", "scammer", "scammers", "scammed", "scamming",
			"fraud", "frauds", "fraudulent",
			"bad review", "negative review", "1 star", "1-star", "one star", "one-star",
		},
		AngerWords: []string{
			"差评", "差評", "垃圾", "气死", "氣死", "太差", "恶心", "噁心", "惡心", "坑", "无语", "無語",
			"投诉", "投訴", "失望", "生气", "生氣", "愤怒", "憤怒", "火大", "受够", "受夠", "受不了",
			"忍无可忍", "忍無可忍", "过分", "過分", "离谱", "離譜", "骗人", "騙人", "欺骗", "欺騙",
			"什么玩意", "什麼玩意", "什么鬼", "什麼鬼", "破东西", "破東西", "烂透", "爛透", "烂货", "爛貨",
			"黑心", "恶劣", "惡劣", "差劲", "差勁", "很差", "这么差", "這麼差", "有没有搞错", "有沒有搞錯",
			"妈的", "媽的", "他妈", "他媽", "傻逼", "tmd",
			"worst", "terrible", "horrible", "awful", "disgusting", "disgusted", "ridiculous",
			"angry", "furious", "pissed", "unacceptable", "useless", "garbage", "trash", "rubbish",
			"pathetic", "outrageous", "rude", "fed up", "sick of", "shame on you", "complain",
			"rip off", "rip-off", "ripoff", "a joke", "disappointed", "disappointing",
			"liar", "liars", "you lied", "wtf", "damn", "crap", "bullshit", "shit", "fuck", "fucking",
		},
		UrgencyWords: []string{
			"急", "着急", "著急", "马上", "馬上", "立刻", "立即", "赶紧", "趕緊", "赶快", "趕快",
			"尽快", "儘快", "盡快", "今天必须", "今天必須", "今天之内", "今天之內", "快点", "快點",
			"等不了", "等不及", "刻不容缓", "刻不容緩", "退款!", "退钱!", "退錢!",
			"asap", "urgent", "urgently", "immediately", "right now", "right away", "now!",
			"refund now", "emergency", "hurry", "today!",
		},
		Exceptions: []string{
			"工商银行", "工商銀行", "多媒体", "多媒體",
			"垃圾袋", "垃圾桶", "垃圾箱", "垃圾分类", "垃圾分類",
			"急救", "急性", "报警器", "報警器", "曝光度", "曝光补偿", "曝光補償", "曝光时间", "曝光時間",
			"坑洼", "坑窪", "坑位", "广告你", "廣告你",
			"trash bag", "trash bags", "trash can", "garbage bag", "garbage bags", "garbage can",
			"rubbish bag", "rubbish bags", "rubbish bin",
		},
		ThreatPoints:  55,
		AngerPoints:   15,
		UrgencyPoints: 10,
		ShoutPoints:   10,
		RepeatPoints:  10,
		RepeatCap:     30,
		HighValueTiers: []string{
			"资深", "資深", "骨灰", "VIP", "SVIP", "88VIP",
			"gold", "platinum", "diamond", "黄金", "黃金", "白金", "钻石", "鑽石",
		},
		HighValuePoints: 15,
		Thresholds:      [3]int{60, 35, 15},
	}
}

// Validate reports every problem with r at once: thresholds that do not
// descend (P1 > P2 > P3 > 0), negative points or caps, category keys other
// than those of [Categories], and empty words, exceptions or tiers (an
// empty word would match every text).
func (r Rules) Validate() error {
	var errs []error
	t := r.Thresholds
	if !(t[0] > t[1] && t[1] > t[2] && t[2] > 0) {
		errs = append(errs, fmt.Errorf("thresholds %v: must descend, P1 > P2 > P3 > 0", t))
	}
	known := Categories()
	keys := make([]string, 0, len(r.CategoryPoints))
	for k := range r.CategoryPoints {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch p := r.CategoryPoints[k]; {
		case !slices.Contains(known, k):
			errs = append(errs, fmt.Errorf("category points: unknown category %q", k))
		case p < 0:
			errs = append(errs, fmt.Errorf("category points: %q has negative points %d", k, p))
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"threat points", r.ThreatPoints}, {"anger points", r.AngerPoints},
		{"urgency points", r.UrgencyPoints}, {"shout points", r.ShoutPoints},
		{"repeat points", r.RepeatPoints}, {"repeat cap", r.RepeatCap},
		{"high-value points", r.HighValuePoints},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s: %d is negative", f.name, f.v))
		}
	}
	for _, l := range []struct {
		name  string
		words []string
	}{
		{"threat words", r.ThreatWords}, {"anger words", r.AngerWords},
		{"urgency words", r.UrgencyWords}, {"exceptions", r.Exceptions},
		{"high-value tiers", r.HighValueTiers},
	} {
		for i, w := range l.words {
			if tierKey(w) == "" {
				errs = append(errs, fmt.Errorf("%s: entry %d (%q) is empty", l.name, i, w))
			}
		}
	}
	return errors.Join(errs...)
}
