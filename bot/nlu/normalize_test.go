package nlu

import "testing"

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Hello World", "hello world"},
		{"我的order到哪了", "我的 order 到哪了"},
		{"I don't want a refund, just tell me where it is!!!", "i dont want a refund, just tell me where it is!"},
		{"不要退款，我只想知道快遞到哪了", "不要退款, 我只想知道快递到哪了"},
		{"親 在嗎", "亲 在吗"},
		{"訂單號：１２３４５６７８", "订单号, #"},
		{"ＨＥＬＬＯ　ｗｏｒｌｄ", "hello world"},
		{"price 12.50 元", "price 0 元"},
		{"SF1234567890", "sf #"},
		{"在吗吗吗吗", "在吗吗"},
		{"soooooo good", "soo good"},
		{"Where's my 👍🏻 parcel??", "wheres my 👍 parcel?"},
		{"a\u200bb", "ab"},
		{"\x00\xff abc", "abc"},
		{"e\u0301cole", "école"},
		{"帳號 帐号 账号", "账号 账号 账号"},
		{"  ", ""},
		{"???", "?"},
	}
	for _, tc := range cases {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFoldHan(t *testing.T) {
	for trad, simp := range map[rune]rune{'訂': '订', '單': '单', '貨': '货', '嗎': '吗', '點': '点',
		'數': '数', '帳': '账', '裡': '里', '著': '着', '刪': '删', '個': '个', '这': '这', 'a': 'a'} {
		if got := foldHan(trad); got != simp {
			t.Errorf("foldHan(%c) = %c, want %c", trad, got, simp)
		}
	}
	// The generated tables must be sorted for binary search.
	for i := 1; i < t2sCount; i++ {
		if decode3(t2sFrom, i-1) >= decode3(t2sFrom, i) {
			t.Fatalf("t2sFrom not sorted at %d", i)
		}
	}
	if len(t2sFrom) != 3*t2sCount || len(t2sTo) != 3*t2sCount {
		t.Fatalf("table lengths %d, %d; want %d", len(t2sFrom), len(t2sTo), 3*t2sCount)
	}
}

func TestNegationScope(t *testing.T) {
	cases := []struct {
		in   string
		want string // runes or words marked, in order, space-separated
	}{
		{"i dont want a refund, just tell me where it is", "a refund"},
		{"i do not need to return it where is it", "to return it"},
		{"i have not received my refund", ""},
		{"just want to know my points, not spend them", "spend them"},
		{"不要退款，我只想知道快递到哪了", "退 款"},
		{"不用退款了帮我查快递", "退 款 了"},
		{"我不兑换 只是看看积分", "兑 换"},
		{"没收到货", ""},
		{"质量不好", ""},
	}
	for _, tc := range cases {
		rs := normalizeRunes(nil, tc.in)
		neg := make([]bool, len(rs))
		toks := tokenize(nil, rs)
		markNegation(rs, toks, neg)
		var got []string
		for _, tk := range toks {
			switch {
			case tk.kind == kindWord && tk.neg:
				got = append(got, string(rs[tk.start:tk.end]))
			case tk.kind == kindHan:
				for i := tk.start; i < tk.end; i++ {
					if neg[i] {
						got = append(got, string(rs[i]))
					}
				}
			}
		}
		if g := joinSpace(got); g != tc.want {
			t.Errorf("negated in %q = %q, want %q", tc.in, g, tc.want)
		}
	}
}

func joinSpace(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}
