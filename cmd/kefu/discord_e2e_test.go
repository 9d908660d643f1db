package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot/discord/discordtest"
)

const discordTestToken = "MTIz.e2e-SECRET.token"

// runDiscord starts `kefu run` against a fake Discord and returns a
// function that waits for the bot's message containing text in a channel.
func runDiscord(t *testing.T, f *discordtest.Server, staff, role string) (wait func(channel, contains string) discordtest.Message) {
	t.Helper()
	return runDiscordEnv(t, f, testEnv(t), staff, role)
}

// runDiscordEnv is runDiscord in the environment e.
func runDiscordEnv(t *testing.T, f *discordtest.Server, e map[string]string, staff, role string) (wait func(channel, contains string) discordtest.Message) {
	t.Helper()
	e["KEFU_DISCORD_TOKEN"] = discordTestToken
	e["KEFU_DISCORD_API_BASE"] = f.URL
	e["KEFU_DISCORD_GUILD_ID"] = f.Guild
	e["KEFU_DISCORD_STAFF_CHANNEL_ID"] = staff
	e["KEFU_DISCORD_STAFF_ROLE_ID"] = role
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"kefu", "run"}, env(e), nil, &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run: %v\n%s", err, stderr.String())
		}
		if strings.Contains(stderr.String(), "SECRET") {
			t.Errorf("the token appears in the log:\n%s", stderr.String())
		}
	})
	return func(channel, contains string) discordtest.Message {
		t.Helper()
		var found discordtest.Message
		if !f.Wait(15*time.Second, func() bool {
			for _, m := range f.BotMessages(channel) {
				if strings.Contains(m.Content, contains) {
					found = m
					return true
				}
			}
			return false
		}) {
			t.Fatalf("no message in %s containing %q; have %q\nlog:\n%s", channel, contains, botTexts(f, channel), stderr.String())
		}
		return found
	}
}

// button returns the custom id of the first button whose id starts with prefix.
func button(t *testing.T, m discordtest.Message, prefix string) string {
	t.Helper()
	for _, r := range m.Components {
		for _, b := range r.Components {
			if strings.HasPrefix(b.CustomID, prefix) {
				return b.CustomID
			}
		}
	}
	t.Fatalf("no button %q on %q (%+v)", prefix, m.Content, m.Components)
	return ""
}

func botTexts(f *discordtest.Server, channel string) []string {
	var out []string
	for _, m := range f.BotMessages(channel) {
		out = append(out, m.Content)
	}
	return out
}

func countBot(f *discordtest.Server, channel, contains string) int {
	n := 0
	for _, s := range botTexts(f, channel) {
		if strings.Contains(s, contains) {
			n++
		}
	}
	return n
}

func TestDiscordEndToEnd(t *testing.T) {
	f := discordtest.New(discordTestToken)
	defer f.Close()
	staff, role := f.AddChannel("staff"), f.NewID()
	wait := runDiscord(t, f, staff, role)
	if !f.Wait(10*time.Second, func() bool { return len(f.Commands()) > 0 }) {
		t.Fatal("no slash commands registered")
	}
	// Commands are registered by REST, possibly before the gateway session
	// exists; Discord delivers no interaction to a bot without one.
	if !f.Wait(15*time.Second, f.Connected) {
		t.Fatal("the gateway session never opened")
	}
	ana, mei := discordtest.User{ID: f.NewID(), Username: "ana"}, discordtest.User{ID: f.NewID(), Username: "mei"}
	f.AddMember(mei.ID, role)
	dm := f.DMChannel(ana.ID)

	// A slash command answers in place of its "thinking" response.
	iid := f.Slash(ana, "", "help", "")
	if !f.Wait(30*time.Second, func() bool { return f.Response(iid).Original != nil }) {
		t.Fatalf("no answer to /help: %+v", f.Response(iid))
	}
	// Buttons: the menu's complaint button, then a group, which edits the
	// pressed message.
	help := f.Response(iid).Original
	f.Press(ana, dm, help.ID, button(t, *help, "menu:complaint"))
	groups := wait(dm, "What is it about?")
	f.Press(ana, dm, groups.ID, button(t, groups, "cg:"))
	if !f.Wait(10*time.Second, func() bool {
		for _, m := range f.BotMessages(dm) {
			if m.ID == groups.ID && m.Edits > 0 {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("choosing a group did not edit the pressed message: %q", botTexts(f, dm))
	}
	f.Slash(ana, "", "cancel", "")

	talkThroughTicket(t, f, wait, ana, mei, staff, "T-1002", nil)
}

// talkThroughTicket opens a ticket as ana (its card and thread in the staff
// channel), talks both ways with mei in the thread, then loses the gateway
// session — Discord refuses to resume — while both write; after the
// reconnect every message must have arrived, once. recorded, if not nil,
// reports whether the thread's ticket is stored; mei writes only then.
func talkThroughTicket(t *testing.T, f *discordtest.Server, wait func(channel, contains string) discordtest.Message,
	ana, mei discordtest.User, staff, ticket string, recorded func(thread string) bool) {
	t.Helper()
	dm := f.DMChannel(ana.ID)
	f.Say(ana, "", "I want to talk to a person")
	wait(dm, "recorded as "+ticket)
	card := wait(staff, ticket)
	if !f.Wait(5*time.Second, func() bool { return len(f.Threads(staff)) == 1 }) {
		t.Fatal("no thread for the ticket")
	}
	thread := f.Threads(staff)[0].ID
	if thread != card.ID {
		t.Errorf("thread %s is not on the card %s", thread, card.ID)
	}
	if recorded != nil && !f.Wait(5*time.Second, func() bool { return recorded(thread) }) {
		t.Fatal("the ticket's thread was never recorded")
	}
	f.Say(mei, thread, "Hello Ana, Mei here.")
	wait(dm, "Hello Ana, Mei here.")
	f.Say(ana, "", "my parcel is still not here")
	wait(thread, "my parcel is still not here")

	f.Disconnect(true)
	f.Say(ana, "", "are you still there?")
	f.Say(mei, thread, "Yes, it ships tomorrow.")
	time.Sleep(200 * time.Millisecond)
	f.Up()
	wait(thread, "are you still there?")
	wait(dm, "Yes, it ships tomorrow.")
	time.Sleep(time.Second) // anything sent twice would show by now
	for _, c := range []struct{ ch, text string }{
		{dm, "recorded as " + ticket}, {dm, "Hello Ana, Mei here."}, {dm, "Yes, it ships tomorrow."},
		{thread, "my parcel is still not here"}, {thread, "are you still there?"},
	} {
		if n := countBot(f, c.ch, c.text); n != 1 {
			t.Errorf("%q delivered %d times; want once", c.text, n)
		}
	}
}

func TestDiscordWrongTokenExits(t *testing.T) {
	f := discordtest.New("the-right-token")
	defer f.Close()
	e := testEnv(t)
	e["KEFU_DISCORD_TOKEN"] = "a-wrong-SECRET"
	e["KEFU_DISCORD_API_BASE"] = f.URL
	var stdout, stderr syncBuffer
	err := run(context.Background(), []string{"kefu", "run"}, env(e), nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "discord: the bot token was rejected (401 Unauthorized)") {
		t.Fatalf("run = %v, want the rejected token", err)
	}
	if strings.Contains(err.Error()+stderr.String(), "SECRET") {
		t.Errorf("the token leaks: %v\n%s", err, stderr.String())
	}
	if code := exitCode(err); code == 0 {
		t.Errorf("exit code 0 for a rejected token")
	}
}
