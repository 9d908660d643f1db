package bot

import (
	"strings"
	"unicode/utf8"
)

// SplitText cuts s into parts of at most limit units, as a platform
// measures them (units(r) per rune: 1 for code points, utf16.RuneLen for
// Telegram's UTF-16). Each part ends preferably at a paragraph break, else a line break, else a space,
// else anywhere between two runes (a separator counts only in the second
// half of a part, so no part is tiny). The separator at a cut is dropped.
func SplitText(s string, limit int, units func(rune) int) []string {
	var parts []string
	for length(s, units) > limit {
		// end: byte offset of the longest prefix within the limit.
		n, end := 0, 0
		for i, r := range s {
			if n+units(r) > limit {
				break
			}
			n += units(r)
			end = i + utf8.RuneLen(r)
		}
		head := s[:end]
		cut, skip := end, 0
		for _, sep := range []string{"\n\n", "\n", " "} {
			if i := strings.LastIndex(head, sep); i > 0 && i >= len(head)/2 {
				cut, skip = i, len(sep)
				break
			}
		}
		if p := strings.TrimRight(s[:cut], " \n"); p != "" {
			parts = append(parts, p)
		}
		s = strings.TrimLeft(s[cut+skip:], " \n")
	}
	if s != "" || len(parts) == 0 {
		parts = append(parts, s)
	}
	return parts
}

func length(s string, units func(rune) int) int {
	n := 0
	for _, r := range s {
		n += units(r)
	}
	return n
}
