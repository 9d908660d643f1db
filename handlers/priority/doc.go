// Package priority grades a complaint or an escalation P1 (most urgent) to
// P4 from its category, what the customer wrote, how often they have
// complained lately and how valuable they are, and says why in signals
// that staff see on the ticket card.
//
// It follows the shop's complaint practice: every complaint is graded by
// the customer's emotional intensity; customers threatening bad reviews,
// regulators (12315, 工商, 消协), the media (曝光), lawyers or courts, or
// calling the shop a scam are handled first; repeat complaints escalate;
// high-value customers come sooner; and categories differ in base
// severity.
//
// The package is pure logic: it imports the standard library and
// golang.org/x/text only, no kefu package; it keeps no global mutable
// state, and [Rules.Grade] is safe for concurrent use.
//
// # How a complaint is scored
//
// The score is a sum; each signal counts once, however often it appears:
//
//	score = category points
//	      + ThreatPoints     if any threat word is found
//	      + AngerPoints      if any anger word is found
//	      + ShoutPoints      if the customer shouts (!!!, ？？？, ALL CAPS)
//	      + UrgencyPoints    if any urgency word is found
//	      + RepeatPoints × earlier complaints in 30 days, at most RepeatCap
//	      + HighValuePoints  if the tier is in HighValueTiers or Input.HighValue
//
// The score at or above Thresholds[0] is P1, at or above Thresholds[1] P2,
// at or above Thresholds[2] P3, else P4. [Result.Signals] lists every part
// with its points (they add up to the score) and what matched: all the
// words found, so "anger: 垃圾, 气死, terrible" is one signal of 15 points,
// not three. Shouting is a second signal of kind "anger".
//
// # The default table
//
// [DefaultRules] returns these numbers. "Alone" is the grade of a calm
// message from a new, ordinary customer.
//
//	category                     points  alone
//	product.counterfeit              40  P2
//	system.payment                   40  P2
//	logistics.lost                   30  P3
//	product.quality                  25  P3
//	logistics.damaged                25  P3
//	system.account                   25  P3
//	product.not_as_described         20  P3
//	service.after_sales              20  P3
//	service.attitude                 20  P3
//	logistics.delay                  10  P4
//	system.site_app                  10  P4
//	"" (uncategorised handoff)       10  P4
//	service.slow_reply                5  P4
//
//	signal                       points
//	threat                           55  (with any category: P1)
//	anger                            15
//	shouting                         10
//	urgency                          10
//	repeat, per earlier complaint    10  (at most 30: three complaints)
//	high value                       15
//
//	thresholds                   P1 ≥ 60, P2 ≥ 35, P3 ≥ 15, else P4
//
// Roughly, 20 points move a complaint one priority. Some grades:
//
//	"the parcel is a bit late" (logistics.delay)                 10  P4
//	"转人工" (uncategorised) from a VIP                           25  P3
//	"别坑我，图片和实物不一样" (not_as_described)                   35  P2
//	"扣了两次款，马上退款！" (payment)                              50  P2
//	"charged twice. Refund now!!!" (payment)                     60  P1
//	damaged, third complaint in 30 days, tier 骨灰 or 资深         60  P1
//	"收到的是假货！！！骗子，我要打12315投诉" (counterfeit)          120  P1
//	"I will sue you" (service.slow_reply)                        60  P1
//
// # Severity
//
// [Result.Severity] is the emotional intensity of the text alone,
// whatever the category, history or points: "critical" for any threat or
// for anger, shouting and urgency together; "high" for two of those three;
// "medium" for one; "low" for none.
//
// # How words are matched
//
//   - The text and the words are normalised alike: NFKC, East Asian widths
//     folded (ＳＣＡＭ, ！ → SCAM, !), lower case, ’ as ', zero-width
//     characters dropped, runs of white space as one space. Only the first
//     64 KiB of the text is read.
//   - There is no Traditional-to-Simplified conversion here, so the
//     default lists carry both forms (差评 and 差評, 骗子 and 騙子).
//   - Words that begin or end with a Latin letter or a digit match whole:
//     "sue" is not found in "issue", nor 12315 inside a longer number.
//     Chinese words match anywhere. English inflections are listed
//     ("scam", "scammed", "scammer").
//   - The longest phrase wins: where one found word lies inside a longer
//     one, from any list, only the longer counts. "给差评" is a threat, and
//     the 差评 inside it is not also anger; "投诉到" is a threat, 投诉 alone
//     is anger.
//   - A word inside an exception phrase does not count: 工商银行 is a bank,
//     not the regulator 工商; 垃圾袋 is a product, not an insult.
//   - A negation cue right before a word cancels that occurrence: "not
//     angry", 不生气, 没有差评, 不急. One or two bridge words may stand
//     between ("not very angry", 不是很生气, 不会给差评). Prohibitions and
//     A-not-A questions are not negations: 别坑我, 不要骗人, "don't scam
//     people" and 你们是不是骗子 count. Cues
//     are 不 没 沒 没有 沒有 不是 并非 並非 not no never isn't wasn't
//     aren't won't "will not" without "don't want to" "don't feel" (and
//     the same without apostrophes, and "do not want to"); bridges
//     are 给 給 打 是 想 会 會 太 很 那么 那麼 这么 這麼 觉得 覺得 用 必 算 very
//     too that so really even "at all" be feel feeling the a an in "going to"
//     gonna "want to" wanna.
//   - Shouting is three or more ! or ? in a row (！！！ and ？？？ fold to
//     them), or three or more ALL-CAPS words in a row of which at least two
//     have two letters or more ("WHERE IS MY ORDER", "I AM ANGRY"; not
//     "I AM", nor "USB cable via DHL").
//   - The customer's tier is compared with HighValueTiers normalised and
//     without spaces, ignoring a trailing level number: "VIP 3", "vip3"
//     and "ＶＩＰ" all match VIP.
//
// # The default word lists
//
// Threat words:
//
//	regulators and police: 12315 12345热线 12345熱線 市长热线 市長熱線 315晚会 315晚會
//	  投诉到 投訴到 举报 舉報 工商 市场监管 市場監管 市监局 市監局 消协 消協
//	  消费者协会 消費者協會 消委会 消委會 消基会 消基會 消保官 报警 報警 警察
//	media: 曝光 媒体 媒體 记者 記者 上热搜 上熱搜 发微博 發微博 发到网上 發到網上
//	lawyers and courts: 律师 律師 起诉 起訴 法院 告你 打官司 法律途径 法律途徑
//	scam: 骗子 騙子 诈骗 詐騙 骗钱 騙錢 黑店
//	bad-review threats: 给差评 給差評 给你差评 給你差評 给你们差评 給你們差評 打差评 打差評
//	  差评警告 差評警告 等着差评 等著差評
//	English: lawyer lawyers attorney "legal action" sue sued suing "to court"
//	  "in court" "court case" "small claims" "report you" "reporting you"
//	  chargeback "charge back" dispute bbb "better business bureau" ftc
//	  "trading standards" "consumer protection" "consumer council" ombudsman
//	  police "the press" journalist "social media" scam scams scammer
//	  scammers scammed scamming fraud frauds fraudulent "bad review"
//	  "negative review" "1 star" 1-star "one star" one-star
//
// Anger words:
//
//	差评 差評 垃圾 气死 氣死 太差 恶心 噁心 惡心 坑 无语 無語 投诉 投訴 失望 生气 生氣
//	愤怒 憤怒 火大 受够 受夠 受不了 忍无可忍 忍無可忍 过分 過分 离谱 離譜 骗人 騙人
//	欺骗 欺騙 什么玩意 什麼玩意 什么鬼 什麼鬼 破东西 破東西 烂透 爛透 烂货 爛貨 黑心
//	恶劣 惡劣 差劲 差勁 很差 这么差 這麼差 有没有搞错 有沒有搞錯 妈的 媽的 他妈 他媽 傻逼 tmd
//	worst terrible horrible awful disgusting disgusted ridiculous angry
//	furious pissed unacceptable useless garbage trash rubbish pathetic
//	outrageous rude "fed up" "sick of" "shame on you" complain "rip off" rip-off
//	ripoff "a joke" disappointed disappointing liar liars "you lied" wtf
//	damn crap bullshit shit fuck fucking
//
// Urgency words:
//
//	急 着急 著急 马上 馬上 立刻 立即 赶紧 趕緊 赶快 趕快 尽快 儘快 盡快 今天必须 今天必須
//	今天之内 今天之內 快点 快點 等不了 等不及 刻不容缓 刻不容緩 退款! 退钱! 退錢!
//	asap urgent urgently immediately "right now" "right away" now! "refund now"
//	emergency hurry today!
//
// Exceptions (phrases in which the words above do not count):
//
//	工商银行 工商銀行 多媒体 多媒體 垃圾袋 垃圾桶 垃圾箱 垃圾分类 垃圾分類 急救 急性
//	报警器 報警器 曝光度 曝光补偿 曝光補償 曝光时间 曝光時間 坑洼 坑窪 坑位 广告你 廣告你
//	"trash bag" "trash bags" "trash can" "garbage bag" "garbage bags"
//	"garbage can" "rubbish bag" "rubbish bags" "rubbish bin"
//
// High-value tiers: 资深 資深 骨灰 VIP SVIP 88VIP gold platinum diamond
// 黄金 黃金 白金 钻石 鑽石.
//
// Bare "now" and "court" are left out on purpose ("it now shows
// delivered", "court shoes"); so is bare 12345 (it reads like an order
// number), while "right now", "now!", "to court" and 12345热线 are in.
//
// # Tuning
//
// kefu's configuration (the priority section of config.example.yaml)
// sets the high-value tiers, words added to the three lists and the three
// thresholds. Anything else is changed in code: start from
// [DefaultRules], change fields, call [Rules.Validate], and hand the rules
// to the handlers (handlers.Deps.Priority). Validate reports every problem
// at once: thresholds that do not descend (P1 > P2 > P3 > 0), negative
// points, category keys it does not know (a typo such as
// "logistic.delay") and empty words. A category missing from
// CategoryPoints gets the "" (uncategorised) points.
//
// Rules of thumb:
//
//   - A category's points decide how a calm complaint of that kind is
//     graded; compare them with the thresholds ("alone" above).
//   - Keep ThreatPoints + the smallest category points ≥ Thresholds[0] so
//     that any threat stays P1, as the complaint practice asks.
//   - About 20 points move a complaint one priority; a signal worth less
//     than 10 rarely changes anything alone.
//   - RepeatCap / RepeatPoints is how many earlier complaints still
//     escalate (three by default).
//   - When you add a Chinese word, add its Traditional form too (气死 and
//     氣死); case and full-width forms need nothing. Give English words
//     their inflections. A word that is part of a product name in your
//     shop (垃圾袋, 曝光补偿 for cameras, 报警器) belongs in Exceptions,
//     or remove the word.
//   - To see what a change does, add a case to TestGrade in
//     priority_test.go and run: go test ./handlers/priority
package priority
