package nlu

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Placeholders that replace digit runs in normalised text. Digits carry no
// intent by themselves, but "a long number is present" is a strong hint
// (order numbers), so long and short numbers get different tokens. Neither
// rune can appear otherwise: every digit is replaced and '#' is stripped.
const (
	shortNumber = '0' // 1–4 digits: quantities, prices, days
	longNumber  = '#' // 5+ digits: order, phone or tracking numbers
)

// maxInputBytes bounds the text Classify looks at: intents are stated early,
// and the bound keeps the cost of a pathological message fixed.
const maxInputBytes = 4096

// runeKind classifies a rune of normalised text for tokenisation.
type runeKind uint8

const (
	kindSpace runeKind = iota
	kindHan            // CJK ideographs and kana: no spaces, use char n-grams
	kindWord           // letters of space-separated scripts
	kindNum            // a number placeholder
	kindPunct          // clause punctuation , . ! ?
	kindSym            // emoji and other symbols
)

// Normalize returns the normalised form of text that the classifier sees:
// NFKC (which also folds full-width forms), lower case, Traditional Chinese
// folded to Simplified, apostrophes dropped ("don't" → "dont"), digit runs
// replaced by a placeholder ('0' for 1–4 digits, '#' for longer ones),
// clause punctuation reduced to , . ! ?, other punctuation and control
// characters turned into spaces, runs of one character capped at two, and a
// space between Chinese and Latin text so that "我的order" reads as two
// tokens.
func Normalize(text string) string {
	var buf [256]rune
	return string(normalizeRunes(buf[:0], text))
}

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

// kindOf reports the kind of a rune in normalised text.
func kindOf(r rune) runeKind {
	switch {
	case r == ' ':
		return kindSpace
	case r == shortNumber || r == longNumber:
		return kindNum
	case r == ',' || r == '.' || r == '!' || r == '?':
		return kindPunct
	case r < 0x80:
		return kindWord
	case isHan(r):
		return kindHan
	case unicode.IsLetter(r):
		return kindWord
	default:
		return kindSym
	}
}

func isHan(r rune) bool {
	return r >= 0x2E80 && (unicode.Is(unicode.Han, r) ||
		unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r))
}

// normalizeRunes appends the normalised form of text to dst, so that
// Classify can work in a stack buffer without building a string.
func normalizeRunes(dst []rune, text string) []rune {
	if needsNFKC(text) {
		text = norm.NFKC.String(text)
	}
	// The output slice is passed and returned rather than kept in the
	// normalizer so that a caller's stack buffer does not escape.
	var n normalizer
	out := dst
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r >= '0' && r <= '9' || r > 0x7F && unicode.IsDigit(r) {
			out, i = n.number(out, text, i)
			continue
		}
		i += size
		out = n.rune(out, r)
	}
	return out
}

// needsNFKC reports whether NFKC could change text. ASCII, the CJK Unified
// Ideographs and full-width forms (folded by normalizer.rune) are left as
// they are by NFKC, so typical messages skip its allocation.
func needsNFKC(text string) bool {
	for _, r := range text {
		switch {
		case r < 0x80, r >= 0x4E00 && r <= 0x9FFF, r >= 0x3000 && r <= 0x3002, r >= 0xFF01 && r <= 0xFF5E:
		default:
			return !norm.NFKC.IsNormalString(text)
		}
	}
	return false
}

// normalizer holds the state carried between runes.
type normalizer struct {
	pending bool // a separator is owed before the next token rune
}

// number consumes a digit run starting at text[i] (allowing single '.' or
// ',' between digits, as in 12.50 or 1,000) and emits one placeholder.
func (n *normalizer) number(out []rune, text string, i int) ([]rune, int) {
	digits := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r >= '0' && r <= '9' || r > 0x7F && unicode.IsDigit(r):
			digits++
			i += size
			continue
		case (r == '.' || r == ',') && i+1 < len(text) && text[i+1] >= '0' && text[i+1] <= '9':
			i += size
			continue
		}
		break
	}
	if digits >= 5 {
		return n.emit(out, longNumber, kindNum), i
	}
	return n.emit(out, shortNumber, kindNum), i
}

func (n *normalizer) rune(out []rune, r rune) []rune {
	if r >= 0xFF01 && r <= 0xFF5E {
		r -= 0xFEE0 // full-width ASCII, as NFKC would fold it
	} else if r == 0x3000 {
		r = ' ' // ideographic space
	}
	switch {
	case r == utf8.RuneError:
		n.pending = true
	case r == '\'' || r == '’' || r == '`' || r == '´':
		// Dropped inside words so that don't/dont and I'm/im match.
	case r >= 'A' && r <= 'Z':
		return n.emit(out, r+'a'-'A', kindWord)
	case r >= 'a' && r <= 'z':
		return n.emit(out, r, kindWord)
	case r == ',' || r == ';' || r == ':' || r == '、':
		return n.punct(out, ',')
	case r == '.' || r == '。' || r == '…' || r == '｡':
		return n.punct(out, '.')
	case r == '!':
		return n.punct(out, '!')
	case r == '?':
		return n.punct(out, '?')
	case r < 0x80:
		n.pending = true // space, control, other ASCII punctuation
	case isHan(r):
		return n.emit(out, foldHan(r), kindHan)
	case unicode.IsLetter(r):
		return n.emit(out, unicode.ToLower(r), kindWord)
	case unicode.Is(unicode.So, r):
		return n.emit(out, r, kindSym)
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc, unicode.Cf, unicode.Sk):
		// Combining marks, emoji modifiers, zero-width characters: noise.
	default:
		n.pending = true
	}
	return out
}

// emit appends a token rune, inserting a space at script changes and
// capping repeats ("在吗吗吗" → "在吗吗", "soooo" → "soo").
func (n *normalizer) emit(out []rune, r rune, k runeKind) []rune {
	l := len(out)
	if l > 0 {
		last := out[l-1]
		lk := kindOf(last)
		if n.pending || lk != k || k == kindSym || k == kindNum || lk == kindPunct {
			out = append(out, ' ')
		} else if last == r && l > 1 && out[l-2] == r {
			return out
		}
	}
	n.pending = false
	return append(out, r)
}

// punct attaches clause punctuation to the previous token (emit never
// leaves a trailing space); a run of punctuation keeps only its first mark.
func (n *normalizer) punct(out []rune, r rune) []rune {
	if l := len(out); l > 0 && kindOf(out[l-1]) == kindPunct {
		return out
	}
	n.pending = false
	return append(out, r)
}

// foldHan maps a Traditional character to its Simplified form by binary
// search in the generated constant tables (3 UTF-8 bytes per character).
func foldHan(r rune) rune {
	if r < 0x3400 || r > 0xFFFF {
		return r
	}
	lo, hi := 0, t2sCount
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if decode3(t2sFrom, m) < r {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < t2sCount && decode3(t2sFrom, lo) == r {
		return decode3(t2sTo, lo)
	}
	return r
}

// decode3 decodes the i-th 3-byte UTF-8 sequence of s.
func decode3(s string, i int) rune {
	s = s[3*i : 3*i+3]
	return rune(s[0]&0x0F)<<12 | rune(s[1]&0x3F)<<6 | rune(s[2]&0x3F)
}
