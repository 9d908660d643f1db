package discord

import (
	"context"
	"testing"

	"github.com/kefu-bot/kefu/bot"
)

func TestEscapeMarkdown(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text, T-1001 · ¥256.00 (tea)", "plain text, T-1001 · ¥256.00 (tea)"},
		{"[Invoice](https://evil.example/pay)", `\[Invoice\](https://evil.example/pay)`},
		{"**urgent** _now_ ~~x~~ `code` ||spoiler||", `\*\*urgent\*\* \_now\_ \~\~x\~\~ \` + "`" + `code\` + "`" + ` \|\|spoiler\|\|`},
		{"# HEADLINE\n## two\n-# small\n> quote\n- item\n+ item", `\# HEADLINE` + "\n" + `\## two` + "\n" + `\-# small` + "\n" + `\> quote` + "\n" + `\- item` + "\n" + `\+ item`},
		{"<@123> <#456> <t:1700000000> @everyone", `\<@123\> \<#456\> \<t:1700000000\> @everyone`},
		{`a\b`, `a\\b`},
		{"see https://shop.example/a_b*c?x=1 now_", `see https://shop.example/a_b*c?x=1 now\_`},
		{"我要投诉 **马上** 退款", `我要投诉 \*\*马上\*\* 退款`},
		{"", ""},
	} {
		if got := escapeMarkdown(tc.in); got != tc.want {
			t.Errorf("escapeMarkdown(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// A customer's markup relayed to staff arrives escaped, so Discord shows it
// as typed: no masked link, no headline.
func TestRelayedMarkupIsShownAsTyped(t *testing.T) {
	ev := newEnv(t, nil, "")
	dm := ev.f.DMChannel(ev.f.NewID())
	text := "✉️ T-1002 · mallory: [Your invoice](https://evil.example) # URGENT"
	if _, err := ev.a.Send(context.Background(), &bot.Outbound{ChatID: dm, Text: text}); err != nil {
		t.Fatal(err)
	}
	ms := ev.f.BotMessages(dm)
	if got, want := ms[len(ms)-1].Content, `✉️ T-1002 · mallory: \[Your invoice\](https://evil.example) # URGENT`; got != want {
		t.Errorf("sent %q; want %q", got, want)
	}
}
