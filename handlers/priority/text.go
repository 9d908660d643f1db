package priority

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// maxTextBytes bounds the text Grade reads, so that the cost of a
// pathological message stays fixed. 64 KiB is far more than a complaint.
const maxTextBytes = 64 << 10

// maxShouts and maxShoutBytes bound what shouting adds to a ticket card.
const (
	maxShouts     = 5
	maxShoutBytes = 60
)

// Negation: a cue right before a word, optionally with one or two bridge
// words in between ("not angry", "not very angry", 不生气, 不是很生气, 没有差评),
// cancels that occurrence of the word. Prohibitions are deliberately not
// cues: 别坑我, 不要骗人 and "don't scam people" are angry, not calm.
// These are constant tables, never written.
var (
	negationCues = [...]string{
		"不", "没", "沒", "没有", "沒有", "不是", "并非", "並非",
		"not", "no", "never", "isn't", "isnt", "wasn't", "wasnt", "aren't", "arent",
		"won't", "wont", "will not", "without",
		"don't want to", "dont want to", "do not want to", "don't feel", "dont feel",
	}
	negationBridges = [...]string{
		"给", "給", "打", "是", "想", "会", "會", "太", "很", "那么", "那麼", "这么", "這麼",
		"觉得", "覺得", "用", "必", "算",
		"very", "too", "that", "so", "really", "even", "at all", "be", "feel", "feeling", "the", "a", "an", "in",
		"going to", "gonna", "want to", "wanna",
	}
)

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// fold returns s in NFKC with East Asian widths folded (ＡＢＣ → ABC,
// ！ → !), typographic apostrophes as ', zero-width characters dropped and
// every run of white space or control characters as one space, trimmed.
// Case is kept; the result is valid UTF-8.
func fold(s string) string {
	s = width.Fold.String(norm.NFKC.String(s))
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == '’' || r == '‘' || r == 'ʼ' || r == '`':
			r = '\''
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = true
			continue
		case unicode.Is(unicode.Cf, r):
			continue // zero-width joiners and marks, e.g. inside 骗\u200b子
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// normalize is fold in lower case: the form in which words are matched.
func normalize(s string) string {
	if isNormal(s) {
		return s
	}
	return strings.ToLower(fold(s))
}

// isNormal reports whether normalize would return s unchanged, for the
// common words (lower-case ASCII, common Han) that need no work.
func isNormal(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' || strings.Contains(s, "  ") {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r == '`':
			return false
		case r == ' ', r > ' ' && r < 0x7F, r >= 0x4E00 && r <= 0x9FFF:
			// unchanged by NFKC, width folding and lower-casing
		default:
			return false
		}
	}
	return true
}

// isWordRune reports whether r belongs to a script written with spaces
// between words: such words must match whole ("sue" is not in "issue"),
// while Chinese words match anywhere.
func isWordRune(r rune) bool {
	if r < 0x80 {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return (unicode.IsLetter(r) || unicode.IsDigit(r)) &&
		!unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// bounded reports whether text[start:end] is not part of a longer word:
// where the match begins or ends with a word rune, the rune next to it
// must not be one.
func bounded(text string, start, end int) bool {
	if first, _ := utf8.DecodeRuneInString(text[start:]); isWordRune(first) && start > 0 {
		if prev, _ := utf8.DecodeLastRuneInString(text[:start]); isWordRune(prev) {
			return false
		}
	}
	if last, _ := utf8.DecodeLastRuneInString(text[:end]); isWordRune(last) && end < len(text) {
		if next, _ := utf8.DecodeRuneInString(text[end:]); isWordRune(next) {
			return false
		}
	}
	return true
}

// span is an occurrence of word number word of list number list at
// text[start:end].
type span struct {
	start, end int
	list, word int
	covered    bool // inside a longer occurrence
}

// occurrences returns the bounded occurrences of w in text, overlapping
// ones included.
func occurrences(text, w string, visit func(start, end int)) {
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], w)
		if j < 0 {
			return
		}
		start := i + j
		if bounded(text, start, start+len(w)) {
			visit(start, start+len(w))
		}
		_, size := utf8.DecodeRuneInString(text[start:])
		i = start + size
	}
}

// exceptionIndex answers "does an exception phrase cover text[start:end]?"
// in O(log n): phrases sorted by start with the running maximum end.
type exceptionIndex struct {
	starts, maxEnds []int
}

func newExceptionIndex(text string, phrases []string) exceptionIndex {
	type se struct{ start, end int }
	var all []se
	for _, p := range phrases {
		if p = normalize(p); p != "" {
			occurrences(text, p, func(s, e int) { all = append(all, se{s, e}) })
		}
	}
	slices.SortFunc(all, func(a, b se) int { return a.start - b.start })
	var x exceptionIndex
	maxEnd := -1
	for _, o := range all {
		maxEnd = max(maxEnd, o.end)
		x.starts = append(x.starts, o.start)
		x.maxEnds = append(x.maxEnds, maxEnd)
	}
	return x
}

func (x exceptionIndex) covers(start, end int) bool {
	// n is the number of phrases that start at or before start.
	n, _ := slices.BinarySearch(x.starts, start+1)
	return n > 0 && x.maxEnds[n-1] >= end
}

// findWords returns, per list, the words of that list found in the
// normalised text, in order of first appearance, each once. An occurrence
// does not count when it lies inside an exception phrase, inside a longer
// occurrence of any list's word (the longest phrase wins: 给差评 is a
// threat, not also 差评 anger), or right after a negation cue.
func findWords(text string, lists [][]string, exceptions []string) [][]string {
	found := make([][]string, len(lists))
	if text == "" {
		return found
	}
	exc := newExceptionIndex(text, exceptions)
	var occ []span
	for li, words := range lists {
		normal := make([]string, 0, len(words))
		for wi, w := range words {
			// A word listed twice (say, by the defaults and the shop's
			// extra words) is looked for once.
			if w = normalize(w); w == "" || slices.Contains(normal, w) {
				continue
			}
			normal = append(normal, w)
			occurrences(text, w, func(s, e int) {
				if !exc.covers(s, e) {
					occ = append(occ, span{start: s, end: e, list: li, word: wi})
				}
			})
		}
	}
	// Longest first at each start, so that a covering occurrence comes
	// before those it covers; equal spans (one word in two lists) stay.
	slices.SortFunc(occ, func(a, b span) int {
		switch {
		case a.start != b.start:
			return a.start - b.start
		case a.end != b.end:
			return b.end - a.end
		case a.list != b.list:
			return a.list - b.list
		}
		return a.word - b.word
	})
	maxEnd := -1
	for i := 0; i < len(occ); {
		j := i
		for j < len(occ) && occ[j].start == occ[i].start && occ[j].end == occ[i].end {
			j++
		}
		covered := maxEnd >= occ[i].end
		maxEnd = max(maxEnd, occ[i].end)
		for k := i; k < j; k++ {
			occ[k].covered = covered
		}
		i = j
	}

	seen := make([][]bool, len(lists))
	for li, words := range lists {
		seen[li] = make([]bool, len(words))
	}
	for _, o := range occ {
		if o.covered || seen[o.list][o.word] || negated(text, o.start) {
			continue
		}
		seen[o.list][o.word] = true
		found[o.list] = append(found[o.list], lists[o.list][o.word])
	}
	return found
}

// negated reports whether the word at text[start:] follows a negation
// cue, directly or through at most two bridge words (不会给差评, "not
// going to be angry").
func negated(text string, start int) bool {
	next, _ := utf8.DecodeRuneInString(text[start:])
	return negatedWithin(text[:start], next, 2)
}

// negatedWithin reports whether before ends with a negation cue, or with a
// bridge word (up to bridges of them) preceded by one. next is the first
// rune after before.
func negatedWithin(before string, next rune, bridges int) bool {
	before = strings.TrimRight(before, " ")
	for _, c := range negationCues {
		if rest, ok := cutWord(before, c); ok && !aNotA(rest, c, next) {
			return true
		}
	}
	if bridges == 0 {
		return false
	}
	for _, b := range negationBridges {
		if rest, ok := cutWord(before, b); ok {
			first, _ := utf8.DecodeRuneInString(b)
			if negatedWithin(rest, first, bridges-1) {
				return true
			}
		}
	}
	return false
}

// aNotA reports whether the Chinese cue (不, 没 …), preceded by rest and
// followed by next, is the A-not-A question form rather than a negation:
// 是不是骗子 ("are you scammers?"), 有没有差评, 急不急.
func aNotA(rest, cue string, next rune) bool {
	var neg string
	for _, n := range [...]string{"不", "没", "沒"} {
		if strings.HasPrefix(cue, n) {
			neg = n
		}
	}
	if neg == "" || rest == "" {
		return false
	}
	a, _ := utf8.DecodeLastRuneInString(rest)
	after := next
	if tail := cue[len(neg):]; tail != "" {
		after, _ = utf8.DecodeRuneInString(tail)
	}
	return a == after
}

// cutWord removes the suffix w from s when it is a whole word there: a
// suffix that starts with a word rune must not follow another word rune
// ("no" ends "piano" but is not a cue there).
func cutWord(s, w string) (string, bool) {
	rest, ok := strings.CutSuffix(s, w)
	if !ok {
		return s, false
	}
	if first, _ := utf8.DecodeRuneInString(w); isWordRune(first) && rest != "" {
		if prev, _ := utf8.DecodeLastRuneInString(rest); isWordRune(prev) {
			return s, false
		}
	}
	return rest, true
}

// shouting returns what reads as shouting in the folded (cased) text: runs
// of three or more ! or ? ("!!!", "？？？" after folding, "?!?") and runs of
// three or more ALL-CAPS words of which at least two have two letters or
// more ("WHERE IS MY ORDER", "I AM ANGRY"). Digits neither break nor extend
// a run; any other word, Chinese included, breaks it. At most maxShouts
// distinct fragments are returned.
func shouting(s string) []string {
	var out []string
	note := func(frag string) {
		frag = strings.TrimSpace(truncate(frag, maxShoutBytes))
		if len(out) < maxShouts && !slices.Contains(out, frag) {
			out = append(out, frag)
		}
	}

	// Punctuation runs.
	runStart, runLen := 0, 0
	endPunct := func(end int) {
		if runLen >= 3 {
			note(s[runStart:end])
		}
		runLen = 0
	}
	for i, r := range s {
		if r != '!' && r != '?' {
			endPunct(i)
			continue
		}
		if runLen == 0 {
			runStart = i
		}
		runLen++
	}
	endPunct(len(s))

	// Capital runs. A word is a maximal run of letters; it is caps when it
	// has an upper-case letter and no lower-case or uncased (Han) letter.
	var (
		wordStart, wordLen  int
		hasUpper, notCaps   bool
		capsStart, capsEnd  int
		capsWords, capsLong int
		inWord              bool
	)
	endRun := func() {
		if capsWords >= 3 && capsLong >= 2 {
			note(s[capsStart:capsEnd])
		}
		capsWords, capsLong = 0, 0
	}
	endWord := func(end int) {
		inWord = false
		if !hasUpper || notCaps {
			endRun()
			return
		}
		if capsWords == 0 {
			capsStart = wordStart
		}
		capsEnd = end
		capsWords++
		if wordLen >= 2 {
			capsLong++
		}
	}
	for i, r := range s {
		if unicode.IsLetter(r) {
			if !inWord {
				inWord, wordStart, wordLen, hasUpper, notCaps = true, i, 0, false, false
			}
			wordLen++
			switch {
			case unicode.IsUpper(r):
				hasUpper = true
			default: // lower case, or a letter without case such as 汉
				notCaps = true
			}
			continue
		}
		if inWord {
			endWord(i)
		}
	}
	if inWord {
		endWord(len(s))
	}
	endRun()
	return out
}
