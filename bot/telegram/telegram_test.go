package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

func TestNew(t *testing.T) {
	f := newFakeAPI(t)
	a, _ := newAdapter(t, f, nil)
	if a.Name() != "telegram" {
		t.Errorf("Name = %q", a.Name())
	}
	if got := a.StaffRoom(); got != (bot.Room{Channel: "telegram", ChatID: "-100"}) {
		t.Errorf("StaffRoom = %+v", got)
	}
	if n := len(f.requests("getMe")); n != 1 {
		t.Errorf("getMe calls = %d, want 1", n)
	}

	_, err := New(Options{Token: "999:WRONG-secret", APIEndpoint: f.endpoint()})
	if err == nil || err.Error() != "telegram: the bot token was rejected (401 Unauthorized)" {
		t.Errorf("bad token: err = %v", err)
	}

	// A network error carries the URL, hence the token: it must be scrubbed.
	dead := newFakeAPI(t)
	dead.srv.Close()
	_, err = New(Options{Token: testToken, APIEndpoint: dead.endpoint()})
	if err == nil || strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("network error leaks the token or is nil: %v", err)
	}
	if _, err := New(Options{APIEndpoint: f.endpoint()}); err == nil {
		t.Error("New without a token succeeded")
	}
}

func TestLimits(t *testing.T) {
	f := newFakeAPI(t)
	a, _ := newAdapter(t, f, nil)
	if got := a.ChatLimit("12345"); got != (bot.Limit{PerSecond: 1, Burst: 1}) {
		t.Errorf("private limit = %+v", got)
	}
	if got := a.ChatLimit("-100123"); got.Burst != 1 || got.PerSecond*60 > 19.0001 {
		t.Errorf("group limit = %+v", got)
	}
	if got := a.GlobalLimit(); got.PerSecond+float64(got.Burst) > 30 {
		t.Errorf("global limit = %+v", got)
	}
}

func TestPollOrderAndOffset(t *testing.T) {
	f := newFakeAPI(t)
	a, _ := newAdapter(t, f, nil)
	e := &fakeEngine{}
	f.push(textUpdate(1, 10, 10, "/start"), textUpdate(2, 20, 20, "hi"), textUpdate(3, 10, 10, "two"),
		textUpdate(4, -555, 3, "other group: ignored"), textUpdate(5, 10, 10, "three"))
	startPoll(t, a, e)
	waitFor(t, "4 turns", func() bool { return len(e.committed()) == 4 })
	waitFor(t, "offset 6", func() bool { return slices.Contains(f.offsets(), 6) })

	var chat10 []string
	for _, in := range e.committed() {
		if in.ChatID == "10" {
			chat10 = append(chat10, in.Text)
		}
		if in.ChatID == "-555" {
			t.Errorf("message of a foreign group was handled: %+v", in)
		}
	}
	if !slices.Equal(chat10, []string{"/start", "two", "three"}) {
		t.Errorf("chat 10 order = %q", chat10)
	}
	in := e.committed()[0]
	if in.ChatID == "10" {
		want := bot.Inbound{Channel: "telegram", ChatID: "10", UserID: "10", UserName: "Ann", MessageID: "u1",
			Text: "/start", Locale: "zh-hans", Time: time.Unix(1700000000, 0)}
		if !in.Time.Equal(want.Time) {
			t.Errorf("time = %v", in.Time)
		}
		in.Time = want.Time
		if fmt.Sprint(in) != fmt.Sprint(want) {
			t.Errorf("inbound =\n%+v\nwant\n%+v", in, want)
		}
	}
	for _, o := range f.offsets() {
		if o != 0 && o != 6 {
			t.Errorf("unexpected offset %d in %v", o, f.offsets())
		}
	}
}

func TestPollRedeliversFailedUpdate(t *testing.T) {
	f := newFakeAPI(t)
	a, logs := newAdapter(t, f, nil)
	e := &fakeEngine{fail: func(in bot.Inbound, attempt int) error {
		if in.MessageID == "u2" && attempt == 1 {
			return errors.New("database is locked")
		}
		return nil
	}}
	f.push(textUpdate(1, 10, 10, "a"), textUpdate(2, 10, 10, "b"), textUpdate(3, 10, 10, "c"))
	startPoll(t, a, e)
	waitFor(t, "3 turns", func() bool { return len(e.committed()) == 3 })
	waitFor(t, "offset 4", func() bool { return slices.Contains(f.offsets(), 4) })

	if got := e.ids(e.committed()); !slices.Equal(got, []string{"u1", "u2", "u3"}) {
		t.Errorf("committed = %v", got)
	}
	e.mu.Lock()
	attempts := e.ids(e.attempts)
	e.mu.Unlock()
	// u3 waits for u2: it is not tried before u2 committed.
	if !slices.Equal(attempts, []string{"u1", "u2", "u2", "u3"}) {
		t.Errorf("attempts = %v", attempts)
	}
	offs := f.offsets()
	i2, i4 := slices.Index(offs, 2), slices.Index(offs, 4)
	if i2 < 0 || i4 < i2 || slices.Contains(offs, 3) {
		t.Errorf("offsets = %v: want 0, then 2 (u1 committed, u2 failed), then 4", offs)
	}
	if !strings.Contains(logs.String(), "database is locked") {
		t.Errorf("the failure was not logged: %s", logs)
	}
}

func TestPollOffsetIsContiguousAcrossChats(t *testing.T) {
	f := newFakeAPI(t)
	a, _ := newAdapter(t, f, nil)
	e := &fakeEngine{fail: func(in bot.Inbound, attempt int) error {
		if in.ChatID == "10" && attempt == 1 {
			return errors.New("boom")
		}
		return nil
	}}
	// u1 (chat 10) fails once; u2 (chat 20) commits but the offset may not
	// pass u1, so u2 comes again and the engine sees a duplicate.
	f.push(textUpdate(1, 10, 10, "a"), textUpdate(2, 20, 20, "b"))
	startPoll(t, a, e)
	waitFor(t, "offset 3", func() bool { return slices.Contains(f.offsets(), 3) })
	if slices.Contains(f.offsets(), 2) {
		t.Errorf("offset moved past the failed u1: %v", f.offsets())
	}
	if got := len(e.committed()); got != 2 {
		t.Errorf("committed %d turns, want 2", got)
	}
}

func TestPollBacksOffOnConflictAndErrors(t *testing.T) {
	f := newFakeAPI(t)
	a, logs := newAdapter(t, f, nil)
	conflict := apiErr(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running", 0)
	f.failNext("getUpdates", conflict, conflict, conflict, apiErr(502, "Bad Gateway", 0),
		reply{status: 502, body: "<html>bad gateway</html>"})
	f.push(textUpdate(1, 10, 10, "hello"))
	e := &fakeEngine{}
	startPoll(t, a, e)
	waitFor(t, "the turn", func() bool { return len(e.committed()) == 1 })
	waitFor(t, "offset 2", func() bool { return slices.Contains(f.offsets(), 2) })
	if n := strings.Count(logs.String(), "409 Conflict"); n != 1 {
		t.Errorf("409 logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), testToken) {
		t.Errorf("token in logs:\n%s", logs)
	}
}

func TestPollCallbackQuery(t *testing.T) {
	f := newFakeAPI(t)
	a, _ := newAdapter(t, f, nil)
	e := &fakeEngine{}
	// The same callback twice (a redelivery after a crash, say): the second
	// is a duplicate for the engine but must still be answered.
	f.push(callbackUpdate(1, 10, 55, "menu:orders"), callbackUpdate(2, 10, 56, "menu:help"))
	startPoll(t, a, e)
	waitFor(t, "2 answers", func() bool { return len(f.requests("answerCallbackQuery")) == 2 })
	got := e.committed()
	if len(got) != 2 {
		t.Fatalf("committed %d", len(got))
	}
	if in := got[0]; in.Data != "menu:orders" || in.PressedID != "55" || in.ChatID != "10" || in.UserName != "ann" || in.MessageID != "u1" {
		t.Errorf("callback inbound = %+v", in)
	}
	var ids []string
	for _, r := range f.requests("answerCallbackQuery") {
		ids = append(ids, r.Form.Get("callback_query_id"))
	}
	if !slices.Equal(ids, []string{"cb1", "cb2"}) {
		t.Errorf("answered %v", ids)
	}

	// A duplicate is answered too.
	e2 := &fakeEngine{seen: map[string]bool{"u9": true}}
	b, _ := newAdapter(t, f, nil)
	if !b.handleOne(context.Background(), e2, &update{Update: tgbotapi.Update{UpdateID: 9, CallbackQuery: &tgbotapi.CallbackQuery{
		ID: "cb9", From: &tgbotapi.User{ID: 10}, Data: "x",
		Message: &tgbotapi.Message{MessageID: 5, Chat: &tgbotapi.Chat{ID: 10, Type: "private"}}}}}) {
		t.Fatal("duplicate not acknowledged")
	}
	last := f.requests("answerCallbackQuery")
	if l := last[len(last)-1]; l.Form.Get("callback_query_id") != "cb9" {
		t.Errorf("duplicate callback not answered: %v", l.Form)
	}
}

func TestInboundMapping(t *testing.T) {
	f := newFakeAPI(t)
	f.admins = []int64{8}
	a, _ := newAdapter(t, f, func(o *Options) { o.StaffAdmins = true })
	private := &tgbotapi.Chat{ID: 10, Type: "private"}
	staffChat := &tgbotapi.Chat{ID: -100, Type: "supergroup"}
	user := &tgbotapi.User{ID: 10, FirstName: "Ann", UserName: "ann_s", LanguageCode: "en"}
	msg := func(chat *tgbotapi.Chat, from *tgbotapi.User, mod func(*tgbotapi.Message)) *update {
		m := &tgbotapi.Message{MessageID: 77, Chat: chat, From: from, Date: 1700000000}
		mod(m)
		return &update{Update: tgbotapi.Update{UpdateID: 5, Message: m}}
	}
	tests := []struct {
		name   string
		u      *update
		ignore bool
		check  func(t *testing.T, in bot.Inbound)
	}{
		{"text", msg(private, user, func(m *tgbotapi.Message) { m.Text = "hello" }), false, func(t *testing.T, in bot.Inbound) {
			if in.Text != "hello" || in.UserName != "ann_s" || in.Locale != "en" || in.ChatID != "10" || in.UserID != "10" ||
				in.MessageID != "u5" || in.Staff || in.Room {
				t.Errorf("%+v", in)
			}
		}},
		{"photo with caption, largest size", msg(private, user, func(m *tgbotapi.Message) {
			m.Caption = "broken"
			m.Photo = []tgbotapi.PhotoSize{{FileID: "small", Width: 90, Height: 90, FileSize: 1},
				{FileID: "big", Width: 1280, Height: 960, FileSize: 300}, {FileID: "mid", Width: 320, Height: 320}}
		}), false, func(t *testing.T, in bot.Inbound) {
			want := []models.Attachment{{Kind: "photo", FileID: "big", MIME: "image/jpeg", Size: 300}}
			if in.Text != "broken" || !reflect.DeepEqual(in.Attachments, want) {
				t.Errorf("%+v", in)
			}
		}},
		{"document", msg(private, user, func(m *tgbotapi.Message) {
			m.Document = &tgbotapi.Document{FileID: "doc1", FileName: "invoice.pdf", MimeType: "application/pdf", FileSize: 2048}
		}), false, func(t *testing.T, in bot.Inbound) {
			want := []models.Attachment{{Kind: "document", FileID: "doc1", Name: "invoice.pdf", MIME: "application/pdf", Size: 2048}}
			if in.Text != "" || !reflect.DeepEqual(in.Attachments, want) {
				t.Errorf("%+v", in)
			}
		}},
		{"reply, first name when no username", msg(private, &tgbotapi.User{ID: 10, FirstName: "Bo"}, func(m *tgbotapi.Message) {
			m.Text = "this one"
			m.ReplyToMessage = &tgbotapi.Message{MessageID: 41}
		}), false, func(t *testing.T, in bot.Inbound) {
			if in.ReplyTo != "41" || in.UserName != "Bo" {
				t.Errorf("%+v", in)
			}
		}},
		{"sticker: empty text", msg(private, user, func(m *tgbotapi.Message) { m.Sticker = &tgbotapi.Sticker{FileID: "s"} }), false,
			func(t *testing.T, in bot.Inbound) {
				if in.Text != "" || len(in.Attachments) != 0 {
					t.Errorf("%+v", in)
				}
			}},
		{"staff user in staff chat", msg(staffChat, &tgbotapi.User{ID: 7, FirstName: "Sam"}, func(m *tgbotapi.Message) { m.Text = "/reply 3 ok" }),
			false, func(t *testing.T, in bot.Inbound) {
				if !in.Staff || !in.Room || in.ChatID != "-100" || in.Text != "/reply 3 ok" {
					t.Errorf("%+v", in)
				}
			}},
		{"staff chat admin", msg(staffChat, &tgbotapi.User{ID: 8, FirstName: "Ada"}, func(m *tgbotapi.Message) { m.Text = "x" }),
			false, func(t *testing.T, in bot.Inbound) {
				if !in.Staff || !in.Room {
					t.Errorf("%+v", in)
				}
			}},
		{"non-staff in staff chat", msg(staffChat, &tgbotapi.User{ID: 9, FirstName: "Guest"}, func(m *tgbotapi.Message) { m.Text = "x" }),
			false, func(t *testing.T, in bot.Inbound) {
				if in.Staff || !in.Room {
					t.Errorf("%+v", in)
				}
			}},
		{"staff user in private chat", msg(&tgbotapi.Chat{ID: 7, Type: "private"}, &tgbotapi.User{ID: 7, FirstName: "Sam"},
			func(m *tgbotapi.Message) { m.Text = "x" }), false, func(t *testing.T, in bot.Inbound) {
			if !in.Staff || in.Room {
				t.Errorf("%+v", in)
			}
		}},
		{"other group ignored", msg(&tgbotapi.Chat{ID: -5, Type: "group"}, user, func(m *tgbotapi.Message) { m.Text = "x" }), true, nil},
		{"edited message ignored", &update{Update: tgbotapi.Update{UpdateID: 6, EditedMessage: &tgbotapi.Message{Chat: private, From: user}}}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, ok := a.inbound(context.Background(), tt.u)
			if ok == tt.ignore {
				t.Fatalf("ok = %v, want %v", ok, !tt.ignore)
			}
			if tt.check != nil {
				tt.check(t, in)
			}
		})
	}
	if n := len(f.requests("getChatAdministrators")); n != 1 {
		t.Errorf("getChatAdministrators called %d times, want 1 (cached)", n)
	}
}

func TestSend(t *testing.T) {
	long := strings.Repeat("word ", 700) + "\n\n" + strings.Repeat("more ", 400) // 3502 + 2 + 2000 = 5504 chars
	tests := []struct {
		name    string
		m       bot.Outbound
		wantID  string
		methods []string
		check   func(t *testing.T, reqs []request)
	}{
		{"plain", bot.Outbound{ChatID: "10", Text: "Hi *there* <b>"}, "101", []string{"sendMessage"}, func(t *testing.T, r []request) {
			if r[0].Form.Get("text") != "Hi *there* <b>" || r[0].Form.Get("chat_id") != "10" || r[0].Form.Has("parse_mode") ||
				r[0].Form.Has("reply_markup") {
				t.Errorf("%v", r[0].Form)
			}
		}},
		{"keyboard", bot.Outbound{ChatID: "10", Text: "Pick", Buttons: [][]models.Button{{{Label: "A", Data: "a"}, {Label: "B", Data: "b"}}, {{Label: "C", Data: "c"}}}},
			"101", []string{"sendMessage"}, func(t *testing.T, r []request) {
				want := `{"inline_keyboard":[[{"text":"A","callback_data":"a"},{"text":"B","callback_data":"b"}],[{"text":"C","callback_data":"c"}]]}`
				if got := r[0].Form.Get("reply_markup"); got != want {
					t.Errorf("reply_markup = %s", got)
				}
			}},
		{"edit", bot.Outbound{ChatID: "10", Text: "You chose A", Edit: "55", Buttons: [][]models.Button{{{Label: "Back", Data: "back"}}}},
			"55", []string{"editMessageText"}, func(t *testing.T, r []request) {
				if r[0].Form.Get("message_id") != "55" || r[0].Form.Get("text") != "You chose A" ||
					!strings.Contains(r[0].Form.Get("reply_markup"), `"callback_data":"back"`) {
					t.Errorf("%v", r[0].Form)
				}
			}},
		{"reply", bot.Outbound{ChatID: "-100", Text: "noted", ReplyTo: "41"}, "101", []string{"sendMessage"}, func(t *testing.T, r []request) {
			if r[0].Form.Get("reply_to_message_id") != "41" || r[0].Form.Get("chat_id") != "-100" {
				t.Errorf("%v", r[0].Form)
			}
		}},
		{"long text split at the paragraph", bot.Outbound{ChatID: "10", Text: long, Buttons: [][]models.Button{{{Label: "OK", Data: "ok"}}}},
			"102", []string{"sendMessage", "sendMessage"}, func(t *testing.T, r []request) {
				a, b := r[0].Form.Get("text"), r[1].Form.Get("text")
				if a != strings.TrimSpace(strings.Repeat("word ", 700)) || b != strings.Repeat("more ", 400) {
					t.Errorf("parts: %d %q… / %d %q…", len(a), a[:20], len(b), b[:20])
				}
				if r[0].Form.Has("reply_markup") || !r[1].Form.Has("reply_markup") {
					t.Error("the keyboard belongs on the last part only")
				}
			}},
		{"photo relay with caption", bot.Outbound{ChatID: "-100", Text: "Ann: broken", Kind: "relay",
			Attachments: []models.Attachment{{Kind: "photo", FileID: "AgACphoto"}}}, "101", []string{"sendPhoto"},
			func(t *testing.T, r []request) {
				if r[0].Form.Get("photo") != "AgACphoto" || r[0].Form.Get("caption") != "Ann: broken" {
					t.Errorf("%v", r[0].Form)
				}
			}},
		{"file kefu made (a data export) is uploaded", bot.Outbound{ChatID: "7", Text: "your data",
			Attachments: []models.Attachment{{Kind: "document", Name: "kefu-mydata.json", Data: []byte(`{"a":1}`)}}}, "101", []string{"sendDocument"},
			func(t *testing.T, r []request) {
				if got := r[0].Files["document"]; got != `kefu-mydata.json:{"a":1}` || r[0].Form.Get("caption") != "your data" {
					t.Errorf("upload = %q, form %v", got, r[0].Form)
				}
			}},
		{"document relay, long text first", bot.Outbound{ChatID: "-100", Text: strings.Repeat("x", 1500),
			Attachments: []models.Attachment{{Kind: "document", FileID: "BQdoc", Name: "a.pdf"}}}, "102", []string{"sendMessage", "sendDocument"},
			func(t *testing.T, r []request) {
				if r[1].Form.Get("document") != "BQdoc" || r[1].Form.Has("caption") {
					t.Errorf("%v", r[1].Form)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			a, _ := newAdapter(t, f, nil)
			id, err := a.Send(context.Background(), &tt.m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if id != tt.wantID {
				t.Errorf("id = %q, want %q", id, tt.wantID)
			}
			var reqs []request
			var methods []string
			for _, r := range f.requests("") {
				if r.Method != "getMe" && r.Method != "getChat" {
					reqs = append(reqs, r)
					methods = append(methods, r.Method)
				}
			}
			if !slices.Equal(methods, tt.methods) {
				t.Fatalf("methods = %v, want %v", methods, tt.methods)
			}
			tt.check(t, reqs)
		})
	}
}

func TestSendEditFallbacks(t *testing.T) {
	f := newFakeAPI(t)
	a, _ := newAdapter(t, f, nil)
	f.failNext("editMessageText", apiErr(400, "Bad Request: message is not modified: specified new message content is the same", 0),
		apiErr(400, "Bad Request: message to edit not found", 0))
	if id, err := a.Send(context.Background(), &bot.Outbound{ChatID: "10", Text: "same", Edit: "55"}); err != nil || id != "55" {
		t.Errorf("not modified: %q %v", id, err)
	}
	if id, err := a.Send(context.Background(), &bot.Outbound{ChatID: "10", Text: "again", Edit: "56"}); err != nil || id != "101" {
		t.Errorf("edit of a gone message should send anew: %q %v", id, err)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply *reply
		m     bot.Outbound
		check func(t *testing.T, err error)
	}{
		{"429", ptr(apiErr(429, "Too Many Requests: retry after 7", 7)), bot.Outbound{ChatID: "10", Text: "x"}, func(t *testing.T, err error) {
			var ra *bot.RetryAfterError
			if !errors.As(err, &ra) || ra.After != 7*time.Second || ra.Global {
				t.Errorf("%#v", err)
			}
		}},
		{"403 blocked", ptr(apiErr(403, "Forbidden: bot was blocked by the user", 0)), bot.Outbound{ChatID: "10", Text: "x"}, func(t *testing.T, err error) {
			if !errors.Is(err, bot.ErrUnreachable) {
				t.Errorf("%v", err)
			}
		}},
		{"400 chat not found", ptr(apiErr(400, "Bad Request: chat not found", 0)), bot.Outbound{ChatID: "10", Text: "x"}, func(t *testing.T, err error) {
			if !errors.Is(err, bot.ErrUnreachable) {
				t.Errorf("%v", err)
			}
		}},
		{"400 other", ptr(apiErr(400, "Bad Request: message text is empty", 0)), bot.Outbound{ChatID: "10", Text: "x"}, func(t *testing.T, err error) {
			var pe *bot.PermanentError
			if !errors.As(err, &pe) {
				t.Errorf("%v", err)
			}
		}},
		{"500", ptr(apiErr(500, "Internal Server Error", 0)), bot.Outbound{ChatID: "10", Text: "x"}, func(t *testing.T, err error) {
			var pe *bot.PermanentError
			var ra *bot.RetryAfterError
			if err == nil || errors.As(err, &pe) || errors.As(err, &ra) || errors.Is(err, bot.ErrUnreachable) {
				t.Errorf("want a plain error, got %#v", err)
			}
		}},
		{"callback data over 64 bytes", nil, bot.Outbound{ChatID: "10", Text: "x",
			Buttons: [][]models.Button{{{Label: "L", Data: strings.Repeat("d", 65)}}}}, func(t *testing.T, err error) {
			var pe *bot.PermanentError
			if !errors.As(err, &pe) {
				t.Errorf("%v", err)
			}
		}},
		{"bad chat id", nil, bot.Outbound{ChatID: "abc", Text: "x"}, func(t *testing.T, err error) {
			var pe *bot.PermanentError
			if !errors.As(err, &pe) {
				t.Errorf("%v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			a, _ := newAdapter(t, f, nil)
			if tt.reply != nil {
				f.failNext("sendMessage", *tt.reply)
			}
			_, err := a.Send(context.Background(), &tt.m)
			if err == nil {
				t.Fatal("no error")
			}
			tt.check(t, err)
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("token in error: %v", err)
			}
		})
	}

	t.Run("network error is plain and scrubbed", func(t *testing.T) {
		f := newFakeAPI(t)
		a, _ := newAdapter(t, f, nil)
		f.srv.Close()
		_, err := a.Send(context.Background(), &bot.Outbound{ChatID: "10", Text: "x"})
		var pe *bot.PermanentError
		if err == nil || errors.As(err, &pe) || strings.Contains(err.Error(), testToken) {
			t.Errorf("%v", err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestRegisterCommands(t *testing.T) {
	cat, err := bot.NewCatalog(bot.EngineLocales())
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeAPI(t)
	a, _ := newAdapter(t, f, func(o *Options) {
		o.Commands = []bot.CommandInfo{{Name: "help", Help: "engine.unsupported"}, {Name: "start", Help: "engine.flood"}}
		o.Catalog = cat
	})
	if err := a.RegisterCommands(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests("setMyCommands")
	if len(reqs) != 2 {
		t.Fatalf("setMyCommands calls = %d, want 2", len(reqs))
	}
	if reqs[0].Form.Has("language_code") || reqs[1].Form.Get("language_code") != "zh" {
		t.Errorf("language codes: %q, %q", reqs[0].Form.Get("language_code"), reqs[1].Form.Get("language_code"))
	}
	en, zh := reqs[0].Form.Get("commands"), reqs[1].Form.Get("commands")
	if !strings.Contains(en, `"command":"help"`) || !strings.Contains(en, cat.T("en", "engine.unsupported", nil)) ||
		!strings.Contains(zh, cat.T("zh", "engine.unsupported", nil)) {
		t.Errorf("commands:\n%s\n%s", en, zh)
	}

	f.failNext("setMyCommands", apiErr(400, "Bad Request: BOT_COMMAND_INVALID", 0))
	var pe *bot.PermanentError
	if err := a.RegisterCommands(context.Background()); !errors.As(err, &pe) {
		t.Errorf("err = %v", err)
	}
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  []string
	}{
		{"short", "hello", 10, []string{"hello"}},
		{"paragraph", "aaaa bbbb\n\ncccc", 12, []string{"aaaa bbbb", "cccc"}},
		{"line before space", "aaaaaaa\nbb cc\ndd", 12, []string{"aaaaaaa", "bb cc\ndd"}},
		{"early break ignored", "a\nbbbbbb cccc", 10, []string{"a\nbbbbbb", "cccc"}},
		{"space", "aaaa bbbb cccc", 10, []string{"aaaa bbbb", "cccc"}},
		{"hard cut", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		// 😀 is two UTF-16 code units: four of them are 8 units.
		{"utf-16 units", "😀😀😀😀😀", 8, []string{"😀😀😀😀", "😀"}},
		{"cjk", "你好世界你好", 4, []string{"你好世界", "你好"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitText(tt.in, tt.limit)
			if !slices.Equal(got, tt.want) {
				t.Errorf("splitText(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
			for _, p := range got {
				if utf16Len(p) > tt.limit {
					t.Errorf("part %q over the limit", p)
				}
			}
		})
	}
}

func TestMapErrorStatuses(t *testing.T) {
	a := &Adapter{token: testToken}
	for code, want := range map[int]string{401: "plain", 404: "plain", 502: "plain", 403: "unreachable"} {
		err := a.mapError("x", &tgbotapi.Error{Code: code, Message: http.StatusText(code)})
		got := "plain"
		if errors.Is(err, bot.ErrUnreachable) {
			got = "unreachable"
		}
		if got != want {
			t.Errorf("%d: %s, want %s", code, got, want)
		}
	}
}

// TestPollCrashLosesNothing stops Poll in the middle of a batch (as a
// crash would) and starts a new adapter: the update whose turn had
// committed comes again and is a duplicate, the one that had not is handled.
func TestPollCrashLosesNothing(t *testing.T) {
	f := newFakeAPI(t)
	e := &fakeEngine{}
	block := make(chan struct{})
	blocked := make(chan struct{}, 1)
	e.fail = func(in bot.Inbound, attempt int) error {
		if in.MessageID == "u2" && attempt == 1 {
			blocked <- struct{}{}
			<-block // the process dies while this turn runs
			return errors.New("killed")
		}
		return nil
	}
	f.push(textUpdate(1, 10, 10, "a"), textUpdate(2, 10, 10, "b"), textUpdate(3, 20, 20, "c"))

	a, _ := newAdapter(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Poll(ctx, e) }()
	<-blocked
	cancel()
	close(block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	b, _ := newAdapter(t, f, nil)
	startPoll(t, b, e)
	waitFor(t, "offset 4", func() bool { return slices.Contains(f.offsets(), 4) })
	if got := e.ids(e.committed()); len(got) != 3 || !slices.Contains(got, "u2") {
		t.Errorf("committed = %v", got)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, in := range e.attempts {
		if in.MessageID == "u1" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("u1 handled %d times, want 2 (redelivered after the crash, a duplicate)", n)
	}
}

// TestSendBurst sends 1000 replies concurrently (the dispatcher paces
// them; here only the adapter's own safety is under test).
func TestSendBurst(t *testing.T) {
	f := newFakeAPI(t)
	a, _ := newAdapter(t, f, nil)
	const n = 1000
	ids := make([]string, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id, err := a.Send(context.Background(), &bot.Outbound{ChatID: strconv.Itoa(10 + i%50), Text: fmt.Sprint("reply ", i)})
			if err != nil {
				errs <- err
			}
			ids[i] = id
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != n || len(f.requests("sendMessage")) != n {
		t.Errorf("want %d distinct messages", n)
	}
}

// TestForumTopics: in a forum staff group each ticket gets a topic; posts
// carry message_thread_id (photos too), and messages written in a topic
// come in with it, a reply to the topic's root counting as no reply.
func TestForumTopics(t *testing.T) {
	f := newFakeAPI(t)
	f.forum = true
	a, _ := newAdapter(t, f, nil)
	if !a.ThreadsIn("-100") || a.ThreadsIn("10") {
		t.Fatalf("ThreadsIn(staff) = %v, ThreadsIn(private) = %v; want true, false", a.ThreadsIn("-100"), a.ThreadsIn("10"))
	}
	plain := newFakeAPI(t)
	if b, _ := newAdapter(t, plain, nil); b.ThreadsIn("-100") {
		t.Error("a group that is not a forum holds threads")
	}

	ctx := context.Background()
	thread, pid, err := a.OpenThread(ctx, "-100", "T-1001 · Parcel lost", &bot.Outbound{ChatID: "-100", Text: "🆕 T-1001"})
	if err != nil || thread != "501" || pid == "" {
		t.Fatalf("OpenThread = %q, %q, %v; want topic 501", thread, pid, err)
	}
	if _, err := a.Send(ctx, &bot.Outbound{ChatID: "-100", Thread: thread, Text: "photo from the customer",
		Attachments: []models.Attachment{{Kind: "photo", FileID: "AgAD"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctx, &bot.Outbound{ChatID: "10", Text: "no topic here"}); err != nil {
		t.Fatal(err)
	}
	create := f.requests("createForumTopic")
	if len(create) != 1 || create[0].Form.Get("name") != "T-1001 · Parcel lost" || create[0].Form.Get("chat_id") != "-100" {
		t.Errorf("createForumTopic requests = %v", create)
	}
	for _, tc := range []struct{ method, chat, topic string }{
		{"sendMessage", "-100", "501"}, {"sendPhoto", "-100", "501"}, {"sendMessage", "10", ""},
	} {
		found := false
		for _, r := range f.requests(tc.method) {
			if r.Form.Get("chat_id") == tc.chat {
				found = true
				if got := r.Form.Get("message_thread_id"); got != tc.topic {
					t.Errorf("%s to %s: message_thread_id = %q; want %q", tc.method, tc.chat, got, tc.topic)
				}
			}
		}
		if !found {
			t.Errorf("no %s to %s", tc.method, tc.chat)
		}
	}

	topicMsg := func(replyTo int) *update {
		var u update
		m := map[string]any{"message_id": 900, "date": 1700000000, "message_thread_id": 501, "is_topic_message": true,
			"chat": map[string]any{"id": -100, "type": "supergroup", "is_forum": true},
			"from": map[string]any{"id": 7, "first_name": "Mei"}, "text": "on its way",
			"reply_to_message": map[string]any{"message_id": replyTo, "date": 1700000000, "chat": map[string]any{"id": -100, "type": "supergroup"}}}
		b, _ := json.Marshal(map[string]any{"update_id": 3, "message": m})
		if err := json.Unmarshal(b, &u); err != nil {
			t.Fatal(err)
		}
		return &u
	}
	for _, tc := range []struct {
		replyTo     int
		wantReplyTo string
	}{{501, ""}, {650, "650"}} {
		in, ok := a.inbound(ctx, topicMsg(tc.replyTo))
		if !ok || in.Thread != "501" || in.ReplyTo != tc.wantReplyTo || !in.Room || !in.Staff {
			t.Errorf("topic message replying to %d: ok %v, %+v; want Thread 501, ReplyTo %q, staff room", tc.replyTo, ok, in, tc.wantReplyTo)
		}
	}
}
