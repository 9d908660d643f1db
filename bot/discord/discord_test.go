package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/discord/discordtest"
	"github.com/kefu-bot/kefu/models"
)

func TestNewChecksToken(t *testing.T) {
	f := discordtest.New(testToken)
	defer f.Close()
	ctx := context.Background()
	_, err := New(ctx, Options{Token: "wrong.token", APIBase: f.URL})
	if err == nil || err.Error() != "discord: the bot token was rejected (401 Unauthorized)" {
		t.Errorf("wrong token: err = %v", err)
	}
	if _, err := New(ctx, Options{APIBase: f.URL}); err == nil {
		t.Error("New without a token succeeded")
	}
	if _, err := New(ctx, Options{Token: testToken, APIBase: "discord.com"}); err == nil {
		t.Error("New with a relative api base succeeded")
	}
	// A dead server: the error must not carry the token.
	dead := discordtest.New(testToken)
	dead.Close()
	_, err = New(ctx, Options{Token: testToken, APIBase: dead.URL})
	if err == nil || strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("dead server: err = %v", err)
	}
	a, err := New(ctx, Options{Token: testToken, APIBase: f.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != "discord" || a.selfID != f.Bot.ID {
		t.Errorf("Name %q, self %q want %q", a.Name(), a.selfID, f.Bot.ID)
	}
	reqs := f.Requests()
	if len(reqs) < 2 || !strings.HasPrefix(reqs[len(reqs)-1], "GET /gateway/bot") {
		t.Errorf("requests = %q: want /users/@me then /gateway/bot on the fake", reqs)
	}
}

func TestDirectMessages(t *testing.T) {
	ev := newEnv(t, nil, "")
	if got := ev.f.Intents(); got != int(Intents) || got&(1<<15) == 0 || got&(1<<1) != 0 || got&(1<<8) != 0 {
		t.Errorf("intents = %b, want only guilds, guild messages, DMs and message content (%b)", got, int(Intents))
	}
	ann := user(ev.f, "ann")
	ev.f.Say(ann, "", "hello")
	dm := ev.f.DMChannel(ann.ID)
	got := ev.waitBot(t, dm, 1)
	if !contains(got[0].Content, "Demo Shop") && got[0].Content == "" {
		t.Errorf("greeting = %q", got[0].Content)
	}
	// Discord answers the reply's first attempt 429: the dispatcher waits
	// retry_after and sends it once.
	ev.f.RateLimit(1, 0.3)
	ev.f.Say(ann, "", "/language")
	got = ev.waitBot(t, dm, 2)
	if len(got[1].Components) != 1 || len(got[1].Components[0].Components) != 2 {
		t.Fatalf("language menu components = %+v", got[1].Components)
	}
	// Nothing pings: relayed text never mentions anyone.
	if m := got[0].Mentions; m == nil || len(m["parse"].([]any)) != 0 {
		t.Errorf("allowed_mentions = %v, want parse: []", m)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(ev.f.BotMessages(dm)); n != 2 {
		t.Errorf("bot messages = %d, want exactly 2: %q", n, texts(ev.f.BotMessages(dm)))
	}
}

func TestButtonFlow(t *testing.T) {
	ev := newEnv(t, nil, "")
	bo := user(ev.f, "bo")
	ev.f.Say(bo, "", "/language")
	dm := ev.f.DMChannel(bo.ID)
	menu := ev.waitBot(t, dm, 1)[0]
	var zh string
	for _, b := range menu.Components[0].Components {
		if b.CustomID == "lang:zh" {
			zh = b.CustomID
		}
	}
	if zh == "" {
		t.Fatalf("no lang:zh button in %+v", menu.Components)
	}
	iid := ev.f.Press(bo, dm, menu.ID, zh)
	// Acknowledged at once with DEFERRED_UPDATE_MESSAGE, then the pressed
	// message is edited to show the choice, in Chinese.
	if !ev.f.Wait(5*time.Second, func() bool { return ev.f.Response(iid).Type == 6 }) {
		t.Fatalf("interaction response = %+v, want type 6", ev.f.Response(iid))
	}
	if !ev.f.Wait(5*time.Second, func() bool { return ev.f.BotMessages(dm)[0].Edits > 0 }) {
		t.Fatalf("pressed message not edited: %+v\nlogs:\n%s", ev.f.BotMessages(dm), ev.logs)
	}
	edited := ev.f.BotMessages(dm)[0]
	if want := ev.cat.T(bot.LangZH, "language.set", nil); edited.Content != want {
		t.Errorf("edited = %q, want %q", edited.Content, want)
	}
	if len(edited.Components) == 0 {
		t.Error("edited message lost the menu buttons")
	}
	if n := len(ev.f.BotMessages(dm)); n != 1 {
		t.Errorf("bot messages = %d, want 1 (the edit, not a new message)", n)
	}
}

func TestSlashCommands(t *testing.T) {
	ev := newEnv(t, nil, "")
	if err := ev.a.RegisterCommands(context.Background()); err != nil {
		t.Fatal(err)
	}
	cmds := ev.f.Commands()
	names := map[string]map[string]any{}
	for _, raw := range cmds {
		var c map[string]any
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		names[c["name"].(string)] = c
	}
	for _, n := range []string{"help", "complaint", "points", "language", "human"} {
		c := names[n]
		if c == nil {
			t.Errorf("command /%s not registered (have %d)", n, len(names))
			continue
		}
		loc, _ := c["description_localizations"].(map[string]any)
		if zh, _ := loc["zh-CN"].(string); zh == "" || zh == c["description"] {
			t.Errorf("/%s: zh-CN description %q, en %q", n, zh, c["description"])
		}
	}
	cy := user(ev.f, "cy")
	iid := ev.f.Slash(cy, "", "help", "")
	if !ev.f.Wait(5*time.Second, func() bool { return ev.f.Response(iid).Original != nil }) {
		t.Fatalf("no answer to /help: %+v\nlogs:\n%s", ev.f.Response(iid), ev.logs)
	}
	r := ev.f.Response(iid)
	if r.Type != 5 || !contains(r.Original.Content, "Demo Shop") || len(r.Original.Components) == 0 {
		t.Errorf("response = type %d, %q, %d rows; want 5 and the help menu", r.Type, r.Original.Content, len(r.Original.Components))
	}
	// The answer replaced the "thinking" response: no extra message.
	dm := ev.f.DMChannel(cy.ID)
	time.Sleep(200 * time.Millisecond)
	if n := len(ev.f.Messages(dm)); n != 1 {
		t.Errorf("DM holds %d messages, want 1 (the response): %q", n, texts(ev.f.Messages(dm)))
	}
	// A slash command with an argument.
	iid = ev.f.Slash(cy, "", "complaint", "my parcel arrived broken")
	if !ev.f.Wait(5*time.Second, func() bool { return ev.f.Response(iid).Original != nil }) {
		t.Fatalf("no answer to /complaint: %+v", ev.f.Response(iid))
	}
}

func TestSendErrorsAndLimits(t *testing.T) {
	ev := newEnv(t, nil, "")
	ctx := context.Background()
	dm := ev.f.DMChannel(ev.f.NewID())
	ev.f.RateLimit(1, 0.25)
	_, err := ev.a.Send(ctx, &bot.Outbound{ChatID: dm, Text: "hi"})
	var ra *bot.RetryAfterError
	if !errors.As(err, &ra) || ra.After != 250*time.Millisecond {
		t.Fatalf("429: err = %v, want RetryAfterError 250ms", err)
	}
	if _, err := ev.a.Send(ctx, &bot.Outbound{ChatID: dm, Text: "hi"}); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	_, err = ev.a.Send(ctx, &bot.Outbound{ChatID: "999", Text: "hi"})
	if !errors.Is(err, bot.ErrUnreachable) {
		t.Errorf("unknown channel: err = %v, want ErrUnreachable", err)
	}
	var pe *bot.PermanentError
	if _, err = ev.a.Send(ctx, &bot.Outbound{ChatID: dm, Text: " "}); !errors.As(err, &pe) {
		t.Errorf("empty: err = %v, want PermanentError", err)
	}
	long := strings.Repeat("a", 60) + strings.Repeat("word ", 900) // 4560 characters
	id, err := ev.a.Send(ctx, &bot.Outbound{ChatID: dm, Text: long,
		Buttons: [][]models.Button{{{Label: "1", Data: "a:1"}, {Label: "2", Data: "a:2"}, {Label: "3", Data: "a:3"},
			{Label: "4", Data: "a:4"}, {Label: "5", Data: "a:5"}, {Label: "6", Data: "a:6"}}}})
	if err != nil {
		t.Fatal(err)
	}
	ms := ev.f.BotMessages(dm)[1:]
	if len(ms) != 3 || ms[2].ID != id {
		t.Fatalf("split into %d messages (last %s, returned %s), want 3", len(ms), ms[len(ms)-1].ID, id)
	}
	if len(ms[0].Components)+len(ms[1].Components) != 0 || len(ms[2].Components) != 2 {
		t.Errorf("buttons: rows %d/%d/%d, want 0/0/2 (6 buttons in rows of 5)", len(ms[0].Components), len(ms[1].Components), len(ms[2].Components))
	}
	if got := strings.Join(texts(ms), " "); strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(long), " ") {
		t.Error("split text lost or changed words")
	}
	if _, err = ev.a.Send(ctx, &bot.Outbound{ChatID: dm, Text: "x", Buttons: [][]models.Button{{{Label: "x", Data: strings.Repeat("d", 101)}}}}); !errors.As(err, &pe) {
		t.Errorf("101-byte custom id: err = %v, want PermanentError", err)
	}
}

// TestSelectMenus: more buttons than five rows hold become select menus,
// and a choice arrives as the button's data.
func TestSelectMenus(t *testing.T) {
	ev := newEnv(t, nil, "")
	ctx := context.Background()
	bo := user(ev.f, "bo")
	dm := ev.f.DMChannel(bo.ID)
	var many []models.Button
	for i := range 22 {
		many = append(many, models.Button{Label: fmt.Sprintf("Category %d", i), Data: fmt.Sprintf("menu:c%d", i)})
	}
	rows := [][]models.Button{many, {{Label: "Language", Data: "menu:lang"}}}
	id, err := ev.a.Send(ctx, &bot.Outbound{ChatID: dm, Text: "Pick one", Buttons: rows})
	if err != nil {
		t.Fatal(err)
	}
	m := ev.f.BotMessages(dm)[0]
	if len(m.Components) != 2 || m.Components[0].Components[0].Type != 3 || len(m.Components[0].Components[0].Options) != 22 ||
		m.Components[1].Components[0].Type != 2 {
		t.Fatalf("components = %+v, want a select menu of 22 and a button", m.Components)
	}
	menu := m.Components[0].Components[0].CustomID
	ev.f.Choose(bo, dm, id, menu, "menu:lang")
	want := ev.cat.T(bot.LangEN, "language.choose", nil)
	if !ev.f.Wait(5*time.Second, func() bool { return slices.Contains(texts(ev.f.BotMessages(dm)), want) }) {
		t.Fatalf("choosing menu:lang did not offer languages: %q\nlogs:\n%s", texts(ev.f.BotMessages(dm)), ev.logs)
	}
	var pe *bot.PermanentError
	_, err = ev.a.Send(ctx, &bot.Outbound{ChatID: dm, Text: "too many", Buttons: [][]models.Button{append(many, many...), many[:1], many[:1], many[:1], many[:1], many[:1]}})
	if !errors.As(err, &pe) {
		t.Errorf("six rows: err = %v, want PermanentError", err)
	}
}

// TestSendIsIdempotent: an outbox row sent again (the process died after
// Discord created the message and before kefu recorded it) is posted once:
// every part carries the row's nonce with enforce_nonce, and Discord
// answers the repeat with the message it already made. With files too.
func TestSendIsIdempotent(t *testing.T) {
	ev := newEnv(t, nil, "")
	ctx := context.Background()
	dm := ev.f.DMChannel(ev.f.NewID())
	for _, c := range []struct {
		name string
		out  bot.Outbound
		msgs int
	}{
		{"text", bot.Outbound{ID: 41, ChatID: dm, Text: "Your order shipped."}, 1},
		{"split in three", bot.Outbound{ID: 42, ChatID: dm, Text: strings.Repeat("word ", 900)}, 3},
		{"a file", bot.Outbound{ID: 43, ChatID: dm, Text: "your data",
			Attachments: []models.Attachment{{Name: "mydata.json", Data: []byte(`{"a":1}`)}}}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, hits := len(ev.f.BotMessages(dm)), ev.f.NonceHits()
			first, err := ev.a.Send(ctx, &c.out)
			if err != nil {
				t.Fatal(err)
			}
			again, err := ev.a.Send(ctx, &c.out)
			if err != nil {
				t.Fatal(err)
			}
			if again != first {
				t.Errorf("the repeat returned message %s; want the first, %s", again, first)
			}
			if n := len(ev.f.BotMessages(dm)) - before; n != c.msgs {
				t.Errorf("%d messages posted; want %d", n, c.msgs)
			}
			if h := ev.f.NonceHits() - hits; h != c.msgs {
				t.Errorf("%d posts answered by the duplicate check; want %d", h, c.msgs)
			}
		})
	}
	// Without an outbox row (ID 0) there is no nonce: each send posts.
	before := len(ev.f.BotMessages(dm))
	for range 2 {
		if _, err := ev.a.Send(ctx, &bot.Outbound{ChatID: dm, Text: "no row"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(ev.f.BotMessages(dm)) - before; n != 2 {
		t.Errorf("%d messages without a nonce; want 2", n)
	}
}
