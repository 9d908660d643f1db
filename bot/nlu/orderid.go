package nlu

import (
	"strings"
	"unicode/utf8"
)

// Order numbers are 6–20 digits.
const (
	minOrderDigits = 6
	maxOrderDigits = 20
)

// What the words just before a digit run say the number is.
type numberClass uint8

const (
	classBare    numberClass = iota // no keyword: may be an order number
	classOrder                      // introduced as an order number
	classExclude                    // phone, tracking, payment, member, amount …
)

// numberKeywords maps keywords that introduce a number to 'o' (order
// number) or 'x' (anything else), as "class:keyword|…". Matching picks the
// longest keyword ending just before the number, so 快递单 (waybill) beats
// 单 and "order id" beats "id". Traditional spellings are folded to
// Simplified before matching.
const numberKeywords = "" +
	// Order numbers.
	"o:order|o:orders|o:ord|o:order id|o:orderid|o:order_id|o:purchase|o:订单|o:定单|o:单|o:订单id|o:购买|o:下单" +
	// Phones and other contact handles.
	"|x:phone|x:tel|x:telephone|x:mobile|x:cell|x:cellphone|x:call|x:contact|x:whatsapp|x:wechat|x:qq|x:fax" +
	"|x:手机|x:电话|x:联系|x:联系方式|x:微信|x:座机|x:打给|x:致电|x:拨打" +
	// Courier tracking numbers and courier codes.
	"|x:tracking|x:track|x:waybill|x:awb|x:shipment|x:parcel|x:courier|x:sf|x:yt|x:yto|x:jd|x:jt|x:zto|x:sto" +
	"|x:ems|x:ups|x:fedex|x:dhl|x:usps|x:快递|x:快递单|x:运单|x:物流|x:物流单|x:包裹|x:顺丰|x:中通|x:圆通" +
	"|x:申通|x:韵达|x:极兔|x:邮政|x:京东|x:百世|x:德邦" +
	// Payments, refunds and tickets.
	"|x:payment|x:pay|x:paid|x:transaction|x:txn|x:trade|x:invoice|x:reference|x:ref|x:alipay|x:paypal" +
	"|x:card|x:ticket|x:case|x:支付|x:支付单|x:交易|x:交易单|x:付款|x:付款单|x:流水|x:账单|x:发票" +
	"|x:支付宝|x:银行卡|x:卡|x:退款单|x:退货单|x:售后单|x:工单|x:参考" +
	// Members and accounts.
	"|x:member|x:membership|x:user|x:user id|x:userid|x:uid|x:id|x:account|x:customer|x:vip" +
	"|x:会员|x:会员id|x:用户|x:用户id|x:账号|x:账户|x:客户|x:工号|x:身份证"

// numberFillers may stand between a keyword and the number ("order number
// is", "订单号是"); "no", "nr" and "#" alone also mark an order number.
const numberFillers = "is|was|number|num|nr|no|nos|code|号码|号|码|编号|是|为|的|了"

// ExtractOrderID returns the first order number in text: 6–20 digits
// (leading zeros kept, full-width digits folded), preferring one introduced
// by an order keyword ("order", "#", "No.", 订单号 …) over a bare one.
// Phone numbers, courier tracking codes, payment references, member ids and
// amounts are not order numbers even when they are digits. Only the first
// 4 KB of text are examined.
func ExtractOrderID(text string) (string, bool) {
	text = truncate(text, maxInputBytes)
	if !hasDigit(text) {
		return "", false
	}
	var buf [256]rune
	rs := foldForID(buf[:0], text)
	bare := ""
	for i := 0; i < len(rs); {
		if !isDigit(rs[i]) {
			i++
			continue
		}
		j := i
		for j < len(rs) && isDigit(rs[j]) {
			j++
		}
		start, end := i, j
		i = j
		if n := end - start; n < minOrderDigits || n > maxOrderDigits {
			continue
		}
		switch candidateClass(rs, start, end) {
		case classOrder:
			return string(rs[start:end]), true
		case classBare:
			if bare == "" {
				bare = string(rs[start:end])
			}
		}
	}
	return bare, bare != ""
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isLatin(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// hasDigit reports whether text has an ASCII or full-width digit, so that
// the common message without numbers costs one byte scan.
func hasDigit(text string) bool {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= '0' && c <= '9' {
			return true
		}
		// Full-width digits are U+FF10–U+FF19: EF BC 90–99.
		if c == 0xEF && i+2 < len(text) && text[i+1] == 0xBC && text[i+2] >= 0x90 && text[i+2] <= 0x99 {
			return true
		}
	}
	return false
}

// foldForID folds full-width forms to ASCII, upper to lower case and
// Traditional to Simplified so that keywords match one spelling.
func foldForID(dst []rune, text string) []rune {
	for _, r := range text {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		case r == 0xFFE5:
			r = '¥'
		case r == '。':
			r = '.'
		}
		switch {
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		case r >= 0x3400:
			r = foldHan(r)
		}
		dst = append(dst, r)
	}
	return dst
}

// candidateClass decides what the digit run rs[start:end] is.
func candidateClass(rs []rune, start, end int) numberClass {
	// Glued to letters on the right: a code such as 123456abc.
	if end < len(rs) && isLatin(rs[end]) {
		return classExclude
	}
	// Dashed groups (138-1234-5678, 400-820-8820) and decimals are phones
	// and amounts, not order numbers.
	if joinedToDigits(rs, start, end) {
		return classExclude
	}
	if isAmount(rs, start, end) || hasPlusPrefix(rs, start) {
		return classExclude
	}
	glued := start > 0 && isLatin(rs[start-1])
	c := prefixClass(rs[:start])
	if glued && c == classBare {
		return classExclude // SF1234567890, AB123456: a code, not an order number
	}
	if c == classBare && end-start == 11 && rs[start] == '1' && rs[start+1] >= '3' && rs[start+1] <= '9' {
		return classExclude // Chinese mobile number
	}
	return c
}

func joinedToDigits(rs []rune, start, end int) bool {
	joiner := func(r rune) bool { return r == '-' || r == '.' || r == '/' || r == '–' }
	if end+1 < len(rs) && joiner(rs[end]) && isDigit(rs[end+1]) {
		return true
	}
	return start >= 2 && joiner(rs[start-1]) && isDigit(rs[start-2])
}

// isAmount reports a currency sign before or a currency word after.
func isAmount(rs []rune, start, end int) bool {
	k := start
	for k > 0 && rs[k-1] == ' ' {
		k--
	}
	if k > 0 && strings.ContainsRune("¥$€£", rs[k-1]) {
		return true
	}
	k = end
	for k < len(rs) && rs[k] == ' ' {
		k++
	}
	for _, w := range []string{"元", "块", "rmb", "usd", "yuan", "dollar", "cny"} {
		if hasPrefixRunes(rs[k:], w) {
			return true
		}
	}
	return false
}

// hasPlusPrefix reports "+8613812345678" and "+86 138…", "+1 (415) …".
func hasPlusPrefix(rs []rune, start int) bool {
	k := start
	skip := func() {
		for k > 0 && strings.ContainsRune(" -()", rs[k-1]) {
			k--
		}
	}
	skip()
	if k > 0 && rs[k-1] == '+' {
		return true
	}
	n := 0
	for k > 0 && isDigit(rs[k-1]) && n < 4 {
		k--
		n++
	}
	if n == 0 {
		return false
	}
	skip()
	return k > 0 && rs[k-1] == '+'
}

// prefixClass reads keywords backwards from the end of before, skipping
// separators and filler words.
func prefixClass(before []rune) numberClass {
	k := len(before)
	hint := false
	for iter := 0; iter < 6; iter++ {
		for k > 0 && strings.ContainsRune(" :#.=,()[]\"'_-/~*>", before[k-1]) {
			if before[k-1] == '#' {
				hint = true
			}
			k--
		}
		if k == 0 {
			break
		}
		if c, ok := matchKeyword(before[:k]); ok {
			return c
		}
		n, w := matchFiller(before[:k])
		if n == 0 {
			break
		}
		if w == "no" || w == "nr" || w == "nos" {
			hint = true
		}
		k -= n
	}
	if hint {
		return classOrder
	}
	return classBare
}

// matchKeyword finds the longest keyword that ends s.
func matchKeyword(s []rune) (numberClass, bool) {
	best, class := 0, classBare
	for rest := numberKeywords; rest != ""; {
		var e string
		e, rest, _ = strings.Cut(rest, "|")
		kw := e[2:]
		if n := endsWithWord(s, kw); n > best {
			best = n
			class = classExclude
			if e[0] == 'o' {
				class = classOrder
			}
		}
	}
	return class, best > 0
}

// matchFiller returns the rune length of the longest filler ending s.
func matchFiller(s []rune) (int, string) {
	best, word := 0, ""
	for rest := numberFillers; rest != ""; {
		var f string
		f, rest, _ = strings.Cut(rest, "|")
		if n := endsWithWord(s, f); n > best {
			best, word = n, f
		}
	}
	return best, word
}

// endsWithWord returns the rune length of w if s ends with it, and for a
// Latin w only at a word boundary ("border" does not end with "order").
func endsWithWord(s []rune, w string) int {
	n := utf8.RuneCountInString(w)
	if n > len(s) {
		return 0
	}
	tail := s[len(s)-n:]
	i := 0
	for _, r := range w {
		if tail[i] != r {
			return 0
		}
		i++
	}
	if isLatin(tail[0]) && len(s) > n && (isLatin(s[len(s)-n-1]) || isDigit(s[len(s)-n-1])) {
		return 0
	}
	return n
}

func hasPrefixRunes(s []rune, w string) bool {
	i := 0
	for _, r := range w {
		if i >= len(s) || s[i] != r {
			return false
		}
		i++
	}
	return true
}
