package bot_test

import (
	"context"
	"strconv"
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

// Button data comes from the platform and can be forged; data no keyboard
// of ours could carry (too long, not UTF-8) reaches handlers as an unknown
// button and is not stored as sent.
func TestForgedButtonDataIsBounded(t *testing.T) {
	var got []string
	e := newEngine(t, "", func(r *bot.Router) {
		r.Button("ok", func(ctx context.Context, c *bot.Context) error { got = append(got, "ok:"+c.Arg); return nil })
		r.Fallback(func(ctx context.Context, c *bot.Context) error { got = append(got, "fallback:"+c.In.Data); return nil })
	}, nil)
	ctx := context.Background()
	for i, tc := range []struct{ data, want string }{
		{"ok:1", "ok:1"},
		{"ok:" + strings.Repeat("x", 253), "ok:" + strings.Repeat("x", 253)},
		{"ok:" + strings.Repeat("x", 254), "fallback:invalid"},
		{"ok:" + strings.Repeat("长", 100000), "fallback:invalid"},
		{"ok:\xff\xfe", "fallback:invalid"},
	} {
		got = nil
		in := msg("d", strconv.Itoa(i), "")
		in.Data = tc.data
		res, err := e.Handle(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("data of %d bytes reached %v; want %q", len(tc.data), got, tc.want)
		}
		ms, _ := e.db.Read().Messages(ctx, res.ConversationID, 1000)
		for _, m := range ms {
			if len(m.Payload.Data) > 256 {
				t.Errorf("stored %d bytes of button data", len(m.Payload.Data))
			}
		}
	}
}
