package discord

import (
	"regexp"
	"strings"
)

// link finds web addresses, which stay as they are: a backslash inside
// one would break it, and Discord links a bare address anyway.
var link = regexp.MustCompile(`https?://\S+`)

// escapeMarkdown makes text show on Discord exactly as it was typed.
// Discord renders Markdown in every message, bots' included, so a
// customer's "[Invoice](https://evil.example)" relayed to staff would be
// a masked link, "# URGENT" a headline, "<@123>" a mention and "||x||" a
// spoiler. A backslash before any of these characters makes Discord show
// the character itself; kefu's own texts use none of them for formatting,
// matching Telegram, where everything goes as plain text.
func escapeMarkdown(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	last, lineStart := 0, true
	for _, loc := range link.FindAllStringIndex(s, -1) {
		escapeInto(&b, s[last:loc[0]], lineStart)
		b.WriteString(s[loc[0]:loc[1]])
		last, lineStart = loc[1], false
	}
	escapeInto(&b, s[last:], lineStart)
	return b.String()
}

// escapeInto writes s escaped; lineStart says whether s begins a line.
func escapeInto(b *strings.Builder, s string, lineStart bool) {
	for _, r := range s {
		switch r {
		case '\\', '*', '_', '~', '`', '|', '>', '<', '[', ']':
			b.WriteByte('\\')
		case '#', '-', '+':
			// Headings ("# ", "-# ") and list items only at a line's start.
			if lineStart {
				b.WriteByte('\\')
			}
		}
		b.WriteRune(r)
		switch {
		case r == '\n':
			lineStart = true
		case r != ' ' && r != '\t':
			lineStart = false
		}
	}
}
