package handlers_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

func TestLinkAccountsAcrossChannels(t *testing.T) {
	var mu sync.Mutex
	var sent []*models.Message
	e, db := newEngine(t, setup{Notify: func(ms []*models.Message) {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, ms...)
	}})
	ctx := context.Background()
	n := 0
	send := func(channel, user, text, data string) string {
		t.Helper()
		n++
		mu.Lock()
		before := len(sent)
		mu.Unlock()
		if _, err := e.Handle(ctx, bot.Inbound{Channel: channel, ChatID: "c" + user, UserID: user, UserName: user,
			MessageID: channel + "-" + string(rune('a'+n)), Text: text, Data: data, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, m := range sent[before:] {
			out = append(out, m.Text)
		}
		return strings.Join(out, "\n")
	}
	say := func(channel, user, text string) string { t.Helper(); return send(channel, user, text, "") }
	press := func(channel, user, data string) string { t.Helper(); return send(channel, user, "", data) }
	say("telegram", "ana", "hello")
	say("telegram", "ted", "hello") // another Telegram customer
	reply := say("telegram", "ana", "/link")
	code := regexp.MustCompile(`code is ([A-Z0-9]{8})`).FindStringSubmatch(reply)
	if code == nil {
		t.Fatalf("/link answered %q; want a code", reply)
	}
	if got := say("discord", "ana9", "/link WRONG123"); !strings.Contains(got, "not valid") {
		t.Errorf("wrong code answered %q", got)
	}
	if got := say("telegram", "ted", "/link "+code[1]); !strings.Contains(got, "same app") {
		t.Errorf("code from the same channel answered %q", got)
	}
	// That attempt used the code up: ask for a new one.
	// A forged confirmation, with no code sent first, joins nothing.
	if got := press("discord", "ana9", "lk:yes"); !strings.Contains(got, "not valid") {
		t.Errorf("a confirmation without a code answered %q", got)
	}
	// The right code says whose account it joins and asks first; No joins nothing.
	code = regexp.MustCompile(`code is ([A-Z0-9]{8})`).FindStringSubmatch(say("telegram", "ana", "/link"))
	if got := say("discord", "ana9", "/link "+code[1]); !strings.Contains(got, "telegram (ana)") {
		t.Fatalf("right code answered %q; want a confirmation naming telegram (ana)", got)
	}
	if got := press("discord", "ana9", "lk:no"); !strings.Contains(got, "nothing was joined") {
		t.Errorf("No answered %q", got)
	}
	if got := press("discord", "ana9", "lk:yes"); !strings.Contains(got, "not valid") {
		t.Errorf("Yes after No answered %q; want the code used up", got)
	}
	code = regexp.MustCompile(`code is ([A-Z0-9]{8})`).FindStringSubmatch(say("telegram", "ana", "/link"))
	if got := say("discord", "ana9", "/link "+strings.ToLower(code[1][:4]+"-"+code[1][4:])); !strings.Contains(got, "telegram (ana)") {
		t.Fatalf("right code answered %q", got)
	}
	if got := press("discord", "ana9", "lk:yes"); !strings.Contains(got, "linked") {
		t.Fatalf("Yes answered %q", got)
	}
	r := db.Read()
	var cust *models.Customer
	err := db.Write(ctx, func(s *models.Store) (err error) {
		cust, _, _, err = s.ResolveIdentity(ctx, models.Contact{Channel: "discord", ExternalID: "ana9"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := r.Identities(ctx, cust.ID)
	if len(ids) != 2 || ids[0].Channel != "telegram" || ids[0].ExternalID != "ana" || ids[1].Channel != "discord" {
		t.Errorf("identities of ana's record = %+v; want telegram:ana and discord:ana9", ids)
	}
	// The next turn on Discord works on the joined record.
	if got := say("discord", "ana9", "/points"); got == "" {
		t.Error("no answer after linking")
	}
	if got := say("discord", "ana9", "/link "+code[1]); !strings.Contains(got, "not valid") {
		t.Errorf("a used code answered %q", got)
	}
}
