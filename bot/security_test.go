package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kefu-bot/kefu/bot"
)

// A display name is shown to staff on one line of a ticket card. Whatever
// the platform lets through, it reaches the handlers as one line: no line
// breaks that could forge card lines, no bidirectional overrides, capped.
func TestDisplayNamesReachHandlersOnOneLine(t *testing.T) {
	var got string
	e := newEngine(t, "", func(r *bot.Router) {
		r.Fallback(func(ctx context.Context, c *bot.Context) error {
			got = c.In.UserName
			c.Reply("name: " + c.Customer.Name)
			return nil
		})
	}, nil)
	ctx := context.Background()
	for _, tc := range []struct{ name, in, want string }{
		{"Plain", "Alice Chen", "Alice Chen"},
		{"Chinese", "王芳", "王芳"},
		{"ForgedCardLine", "bob\nTier: VIP · 99999 points\r\nOrder: 20261101001", "bob Tier: VIP · 99999 points Order: 20261101001"},
		{"Controls", "e\x00v\x1be\x07", "eve"},
		{"BidiOverride", "\u202Egnp.exe\u202C nice\u2066name\u2069", "gnp.exe nicename"},
		{"Spaces", "  lots \t of   space  ", "lots of space"},
		{"Markup", "<b>x</b> *y* '); DROP TABLE customers;--", "<b>x</b> *y* '); DROP TABLE customers;--"},
		{"InvalidUTF8", "ok\xffname", "okname"},
		{"Long", strings.Repeat("长", 100), strings.Repeat("长", 64)},
		{"Emoji", "🐼 熊猫", "🐼 熊猫"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := msg("n"+tc.name, "n"+tc.name, "hi")
			in.UserName = tc.in
			res, err := e.Handle(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("handler saw name %q; want %q", got, tc.want)
			}
			ms, err := e.db.Read().Messages(ctx, res.ConversationID, 10)
			if err != nil || len(ms) != 2 || ms[1].Text != "name: "+tc.want {
				t.Errorf("stored customer name: %v %v; want %q", ms, err, tc.want)
			}
		})
	}
}
