package discord

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/discord/discordtest"
	"github.com/kefu-bot/kefu/models"
)

// openTicket has a customer ask for a person and returns the staff
// channel's card and the ticket's thread.
func openTicket(t *testing.T, ev *env, who discordtest.User) (card discordtest.Message, thread string) {
	t.Helper()
	ev.f.Say(who, "", "I want to talk to a person please")
	ev.waitBot(t, ev.f.DMChannel(who.ID), 1)
	cards := ev.waitBot(t, ev.staff, 1)
	if !ev.f.Wait(5*time.Second, func() bool { return len(ev.f.Threads(ev.staff)) == 1 }) {
		t.Fatalf("no thread on the card; logs:\n%s", ev.logs)
	}
	th := ev.f.Threads(ev.staff)[0]
	if th.ID != cards[0].ID {
		t.Errorf("thread %s is not on the card %s", th.ID, cards[0].ID)
	}
	return cards[0], th.ID
}

func TestTicketThreadRelaysBothWays(t *testing.T) {
	ev := newEnv(t, nil, "")
	ann, mei, eve := user(ev.f, "ann"), user(ev.f, "mei"), user(ev.f, "eve")
	ev.f.AddMember(mei.ID, ev.role)
	ev.f.AddMember(eve.ID) // a member without the staff role
	card, thread := openTicket(t, ev, ann)
	dm := ev.f.DMChannel(ann.ID)
	if len(card.Components) == 0 || !contains(card.Content, "T-1001") {
		t.Fatalf("card = %q with %d button rows", card.Content, len(card.Components))
	}
	before := len(ev.f.BotMessages(dm))

	// Staff answer in the thread: the customer gets it.
	ev.f.Say(mei, thread, "We will send a new one today.")
	got := ev.waitBot(t, dm, before+1)
	if !contains(got[before].Content, "We will send a new one today.") {
		t.Errorf("customer got %q", got[before].Content)
	}
	// The customer's answer lands in the thread.
	inThread := len(ev.f.BotMessages(thread))
	ev.f.Say(ann, "", "thank you, and the box was wet too")
	relays := ev.waitBot(t, thread, inThread+1)
	if !contains(relays[inThread].Content, "the box was wet too") {
		t.Errorf("thread got %q", relays[inThread].Content)
	}

	// Someone without the role: nothing reaches the customer, and staff
	// commands are refused.
	n := len(ev.f.BotMessages(dm))
	ev.f.Say(eve, thread, "hi, I am not staff")
	ev.f.Say(eve, ev.staff, "/tickets")
	refusal := ev.waitBot(t, ev.staff, 2)
	if want := ev.cat.T(bot.LangEN, "engine.staff_only", nil); refusal[1].Content != want {
		t.Errorf("non-staff /tickets answered %q, want %q", refusal[1].Content, want)
	}
	time.Sleep(300 * time.Millisecond)
	if got := len(ev.f.BotMessages(dm)); got != n {
		t.Errorf("a non-staff thread message reached the customer: %q", texts(ev.f.BotMessages(dm))[n:])
	}

	// The card's claim button works for staff.
	iid := ev.f.Press(mei, ev.staff, card.ID, "st:claim:T-1001")
	want := ev.cat.T(bot.LangEN, "staff.claimed", map[string]any{"Ref": "T-1001"})
	if !ev.f.Wait(5*time.Second, func() bool {
		return slices.Contains(texts(ev.f.BotMessages(ev.staff)), want) || slices.Contains(texts(ev.f.BotMessages(thread)), want)
	}) {
		t.Fatalf("claim not confirmed (%q); staff %q thread %q\nlogs:\n%s", want, texts(ev.f.BotMessages(ev.staff)),
			texts(ev.f.BotMessages(thread)), ev.logs)
	}
	if r := ev.f.Response(iid); r.Type != 6 {
		t.Errorf("button response type %d, want 6", r.Type)
	}
	var tk models.Ticket
	if !ev.f.Wait(2*time.Second, func() bool {
		tk2, err := ev.db.Read().Ticket(context.Background(), 1)
		if err == nil {
			tk = *tk2
		}
		return err == nil && tk.Assignee != ""
	}) {
		t.Errorf("ticket not assigned: %+v", tk)
	}
	// A staff text command in the thread works on the thread's ticket.
	ev.f.Say(mei, thread, "/note checked with the courier")
	ev.waitBot(t, thread, len(ev.f.BotMessages(thread))+1)
}

func TestAttachmentsStoredAndRelayed(t *testing.T) {
	ev := newEnv(t, nil, "")
	ann := user(ev.f, "ann")
	_, thread := openTicket(t, ev, ann)
	n := len(ev.f.BotMessages(thread))
	sent := ev.f.Say(ann, "", "here is the photo", discordtest.Attachment{Filename: "broken.jpg", ContentType: "image/jpeg", Size: 2048})
	got := ev.waitBot(t, thread, n+1)
	last := got[len(got)-1]
	if !slices.Equal(last.Files, []string{"broken.jpg"}) || !contains(last.Content, "here is the photo") {
		t.Errorf("relay = %q with files %v, want the text and broken.jpg uploaded", last.Content, last.Files)
	}
	var stored []models.Attachment
	ev.f.Wait(2*time.Second, func() bool {
		m, err := ev.db.Read().InboundMessage(context.Background(), Name, sent.ID)
		if err == nil {
			stored = m.Payload.Attachments
		}
		return len(stored) > 0
	})
	if len(stored) != 1 || stored[0].Kind != "photo" || stored[0].Name != "broken.jpg" || stored[0].MIME != "image/jpeg" ||
		stored[0].Size != 2048 || stored[0].URL == "" || stored[0].FileID == "" {
		t.Errorf("stored attachments = %+v", stored)
	}
}

func TestSupportChannelAnswersInDM(t *testing.T) {
	ev := newEnv(t, nil, "")
	bo := user(ev.f, "bo")
	ev.f.Say(bo, ev.support, "hello")
	ev.waitBot(t, ev.f.DMChannel(bo.ID), 1)
	iid := ev.f.Slash(bo, ev.support, "help", "")
	want := ev.cat.T(bot.LangEN, "discord.answered_in_dm", nil)
	if !ev.f.Wait(5*time.Second, func() bool { r := ev.f.Response(iid); return r.Original != nil && r.Original.Content == want }) {
		t.Fatalf("support channel /help response = %+v", ev.f.Response(iid))
	}
	if !ev.f.Response(iid).Ephemeral {
		t.Error("the answer in the public channel is not ephemeral")
	}
	ev.waitBot(t, ev.f.DMChannel(bo.ID), 2)
	if n := len(ev.f.BotMessages(ev.support)); n != 0 {
		t.Errorf("bot wrote %d messages in the public channel", n)
	}
	// Any other guild channel: ignored, and a slash command there is told
	// where kefu answers.
	other := ev.f.AddChannel("general")
	ev.f.Say(bo, other, "hello?")
	iid = ev.f.Slash(bo, other, "help", "")
	want = ev.cat.T(bot.LangEN, "discord.dm_only", nil)
	if !ev.f.Wait(5*time.Second, func() bool { r := ev.f.Response(iid); return r.Original != nil && r.Original.Content == want }) {
		t.Fatalf("other channel /help response = %+v", ev.f.Response(iid))
	}
	if n := len(ev.f.BotMessages(ev.f.DMChannel(bo.ID))); n != 2 {
		t.Errorf("DM has %d bot messages, want 2", n)
	}
}

// TestEmptyGuildMessagesHint: without the Message Content intent Discord
// blanks guild texts; kefu answers nothing and says what to switch on.
func TestEmptyGuildMessagesHint(t *testing.T) {
	ev := newEnv(t, nil, "")
	mei := user(ev.f, "mei")
	ev.f.AddMember(mei.ID, ev.role)
	ev.f.Say(mei, ev.staff, "")
	ev.f.Say(mei, ev.staff, "")
	if !ev.f.Wait(3*time.Second, func() bool { return contains(ev.logs.String(), "Message Content intent") }) {
		t.Fatalf("no hint logged:\n%s", ev.logs)
	}
	if n := strings.Count(ev.logs.String(), "Message Content intent"); n != 1 {
		t.Errorf("hint logged %d times, want once", n)
	}
	if n := len(ev.f.BotMessages(ev.staff)); n != 0 {
		t.Errorf("bot answered %d empty messages", n)
	}
}

// A file kefu makes itself (the /mydata export) is uploaded from its bytes.
func TestDataExportUploaded(t *testing.T) {
	ev := newEnv(t, nil, "")
	ann := user(ev.f, "ann")
	dm := ev.f.DMChannel(ann.ID)
	ev.f.Say(ann, "", "/mydata")
	got := ev.waitBot(t, dm, 1)
	last := got[len(got)-1]
	if len(last.Files) != 1 || !strings.HasPrefix(last.Files[0], "kefu-mydata-") || !strings.HasSuffix(last.Files[0], ".json") {
		t.Errorf("export message files = %v (content %q); want kefu-mydata-DATE.json", last.Files, last.Content)
	}
}
