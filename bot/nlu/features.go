package nlu

import "strings"

// Feature kinds, mixed into each feature's hash so that, say, the word "no"
// and the character bigram "no" are different features.
const (
	fHan1 uint64 = iota + 1
	fHan2
	fHan3
	fWord
	fWordPair
	fChar2
	fChar3
	fChar4
	fNum
	fPunct
	fSym
	fLength

	// fNeg is or-ed into the kind of features inside a negation scope, so
	// "dont want a refund" does not fire the plain refund features.
	fNeg uint64 = 0x80
)

// Boundary markers padded around Chinese runs and Latin words: they let
// n-grams encode "starts with 在" or "ends in 吗", and make short words and
// typos share prefixes and suffixes ("refnd" and "refund" share ^re, ref,
// nd$).
const (
	bos rune = 0x02
	eos rune = 0x03
)

// maxNegWords and maxNegHan bound a negation scope: negation in customer
// messages covers the next phrase, not the rest of the message.
const (
	maxNegWords = 2
	maxNegHan   = 4
)

// hashRunes is FNV-1a over a feature kind and runes followed by a
// splitmix64 finaliser; features are identified by 64-bit hashes so that
// extraction never builds strings.
func hashRunes(kind uint64, rs ...rune) uint64 {
	h := uint64(14695981039346656037)
	h ^= kind
	h *= 1099511628211
	for _, r := range rs {
		h ^= uint64(r)
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// token is a span of normalised text of a single kind.
type token struct {
	start, end int
	kind       runeKind
	neg        bool // inside a negation scope (words and numbers; Chinese uses per-rune marks)
}

// features appends the feature hashes of normalised text rs to dst. neg
// is scratch space of len(rs) or more for per-rune negation marks.
func features(dst []uint64, rs []rune, toks []token, neg []bool) ([]uint64, []token) {
	toks = tokenize(toks[:0], rs)
	markNegation(rs, toks, neg)

	units := 0
	prevWord := -1 // index of the previous word or number token in the clause
	for ti := range toks {
		t := &toks[ti]
		switch t.kind {
		case kindHan:
			units += t.end - t.start
			dst = hanFeatures(dst, rs, t.start, t.end, neg)
			prevWord = -1
		case kindWord:
			units++
			w := rs[t.start:t.end]
			k := kindIf(t.neg)
			dst = append(dst, hashRunes(fWord|k, w...))
			if prevWord >= 0 {
				p := toks[prevWord]
				dst = append(dst, pairHash(fWordPair|k|kindIf(p.neg), rs[p.start:p.end], w))
			}
			dst = wordCharFeatures(dst, w, k)
			prevWord = ti
		case kindNum:
			units++
			k := kindIf(t.neg)
			dst = append(dst, hashRunes(fNum|k, rs[t.start]))
			if prevWord >= 0 {
				p := toks[prevWord]
				dst = append(dst, pairHash(fWordPair|k|kindIf(p.neg), rs[p.start:p.end], rs[t.start:t.end]))
			}
			prevWord = ti
		case kindPunct:
			if r := rs[t.start]; r == '?' || r == '!' {
				dst = append(dst, hashRunes(fPunct, r))
			}
			prevWord = -1
		case kindSym:
			dst = append(dst, hashRunes(fSym, rs[t.start]))
		}
	}
	return append(dst, hashRunes(fLength, lengthBucket(units))), toks
}

func kindIf(neg bool) uint64 {
	if neg {
		return fNeg
	}
	return 0
}

// lengthBucket lets the model learn that greetings and thanks are short.
func lengthBucket(units int) rune {
	switch {
	case units <= 1:
		return 1
	case units <= 2:
		return 2
	case units <= 4:
		return 3
	case units <= 8:
		return 4
	case units <= 16:
		return 5
	}
	return 6
}

func pairHash(kind uint64, a, b []rune) uint64 {
	h := hashRunes(kind, a...)
	return hashRunes(h, b...)
}

// hanFeatures emits character 1-, 2- and 3-grams of the Chinese run
// rs[start:end], padded with boundary markers. An n-gram touching a negated
// character is a negated feature.
func hanFeatures(dst []uint64, rs []rune, start, end int, neg []bool) []uint64 {
	at := func(i int) (rune, bool) {
		switch {
		case i < start:
			return bos, false
		case i >= end:
			return eos, false
		}
		return rs[i], neg[i]
	}
	for i := start - 1; i <= end; i++ {
		c0, n0 := at(i)
		if i >= start && i < end {
			dst = append(dst, hashRunes(fHan1|kindIf(n0), c0))
		}
		if i+1 <= end {
			c1, n1 := at(i + 1)
			dst = append(dst, hashRunes(fHan2|kindIf(n0 || n1), c0, c1))
			if i+2 <= end && i+1 < end {
				c2, n2 := at(i + 2)
				dst = append(dst, hashRunes(fHan3|kindIf(n0 || n1 || n2), c0, c1, c2))
			}
		}
	}
	return dst
}

// wordCharFeatures emits character 2-, 3- and 4-grams of a padded Latin
// word; they carry typos ("wher", "oder") to the right intent.
func wordCharFeatures(dst []uint64, w []rune, k uint64) []uint64 {
	var buf [34]rune
	if len(w) > len(buf)-2 {
		return dst // very long "words" are noise
	}
	p := append(append(append(buf[:0], bos), w...), eos)
	for i := 0; i+2 <= len(p); i++ {
		dst = append(dst, hashRunes(fChar2|k, p[i:i+2]...))
		if i+3 <= len(p) {
			dst = append(dst, hashRunes(fChar3|k, p[i:i+3]...))
		}
		if i+4 <= len(p) {
			dst = append(dst, hashRunes(fChar4|k, p[i:i+4]...))
		}
	}
	return dst
}

// tokenize splits normalised text into spans of one kind.
func tokenize(toks []token, rs []rune) []token {
	for i := 0; i < len(rs); {
		k := kindOf(rs[i])
		if k == kindSpace {
			i++
			continue
		}
		j := i + 1
		if k != kindSym && k != kindNum && k != kindPunct {
			for j < len(rs) && kindOf(rs[j]) == k {
				j++
			}
		}
		toks = append(toks, token{start: i, end: j, kind: k})
		i = j
	}
	return toks
}

// markNegation marks the phrase after a volitional negation ("dont want",
// "no need", 不要, 不用, 别 …) so its features become distinct from the
// plain ones. Plain "not"/没有 are deliberately not cues: "I have not
// received my refund" and "没收到货" are about the refund and the parcel.
func markNegation(rs []rune, toks []token, neg []bool) {
	for i := range rs {
		neg[i] = false
	}
	for ti := 0; ti < len(toks); ti++ {
		t := toks[ti]
		switch t.kind {
		case kindWord:
			if n := latinCue(rs, toks, ti); n > 0 {
				ti = markWords(rs, toks, ti+n)
			}
		case kindHan:
			markHan(rs, t.start, t.end, neg)
		}
	}
}

func wordIs(rs []rune, t token, w string) bool {
	if t.kind != kindWord || t.end-t.start != len(w) {
		return false
	}
	for i, c := range []byte(w) {
		if rs[t.start+i] != rune(c) {
			return false
		}
	}
	return true
}

func wordIn(rs []rune, t token, ws ...string) bool {
	for _, w := range ws {
		if wordIs(rs, t, w) {
			return true
		}
	}
	return false
}

// latinCue reports how many tokens from toks[ti] form a negation cue, or 0.
func latinCue(rs []rune, toks []token, ti int) int {
	next := func(k int) token {
		if ti+k < len(toks) {
			return toks[ti+k]
		}
		return token{kind: kindSpace}
	}
	volitional := func(t token) bool {
		return wordIn(rs, t, "want", "wanna", "need", "require", "ask", "asking", "looking",
			"interested", "requesting", "request", "care")
	}
	t := toks[ti]
	switch {
	case wordIn(rs, t, "dont", "doesnt", "not", "never", "didnt") && volitional(next(1)):
		return 2
	case wordIn(rs, t, "not", "never") && next(1).kind == kindWord &&
		!wordIn(rs, next(1), "received", "receive", "recieved", "arrived", "arrive", "delivered",
			"shipped", "sent", "here", "yet", "come", "came", "coming", "working", "work", "moving",
			"updated", "showing", "got", "gotten", "get", "been", "able", "back", "refunded",
			"processed", "credited", "added", "applied", "there"):
		// "not spend them", "not delete": the verb itself is negated. Verbs
		// of arrival and success are left alone: "not received" is the topic.
		return 1
	case wordIs(rs, t, "no") && wordIn(rs, next(1), "need", "longer"):
		return 2
	case wordIs(rs, t, "without"):
		return 1
	}
	return 0
}

// markWords marks up to maxNegWords content words from toks[ti], stopping
// at punctuation, Chinese text or words that start a new clause. It returns
// the index of the last token examined.
func markWords(rs []rune, toks []token, ti int) int {
	content := 0
	for ; ti < len(toks); ti++ {
		t := &toks[ti]
		if t.kind == kindPunct || t.kind == kindHan ||
			wordIn(rs, *t, "but", "just", "only", "i", "im", "instead", "rather", "please", "pls",
				"so", "and", "where", "when", "what", "how", "why", "who", "which", "can", "could", "is") {
			return ti - 1
		}
		if t.kind != kindWord && t.kind != kindNum {
			continue
		}
		t.neg = true
		if !wordIn(rs, *t, "a", "an", "the", "to", "my", "any", "this", "that", "it", "them", "me", "for", "of", "your") {
			content++
			if content == maxNegWords {
				return ti
			}
		}
	}
	return ti
}

// hanCues lists volitional negations in (Simplified, after folding)
// Chinese, longest first, separated by '|'.
const hanCues = "不需要|没有要|不是要|用不着|不要|不用|不想|不必|无需|没要|别"

// hanStops end a Chinese negation scope: they start a new clause.
const hanStops = "只就但而可我请帮麻"

// hanActions are verbs that plain 不 negates as a cue of its own (不退,
// 不兑换, 不删账号); 不 alone is too common (不好, 不能, 不满意) to be one.
const hanActions = "退换兑删注导销"

// markHan marks the characters after each cue in rs[start:end].
func markHan(rs []rune, start, end int, neg []bool) {
	for i := start; i < end; i++ {
		n := hanCueAt(rs[i:end])
		if n == 0 && rs[i] == '不' && i+1 < end && containsRune(hanActions, rs[i+1]) {
			n = 1
		}
		if n == 0 {
			continue
		}
		j := i + n
		for k := 0; k < maxNegHan && j < end; k, j = k+1, j+1 {
			if containsRune(hanStops, rs[j]) {
				break
			}
			neg[j] = true
		}
		i = j - 1
	}
}

func hanCueAt(rs []rune) int {
	for rest := hanCues; rest != ""; {
		var c string
		c, rest, _ = strings.Cut(rest, "|")
		n := 0
		ok := true
		for _, r := range c {
			if n >= len(rs) || rs[n] != r {
				ok = false
				break
			}
			n++
		}
		if ok {
			return n
		}
	}
	return 0
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}
