package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTelegram is a minimal Bot API: it hands out queued updates to
// getUpdates (honouring offset) and records every sent message.
type fakeTelegram struct {
	mu       sync.Mutex
	updates  []map[string]any
	sent     []sentMessage
	nextID   int
	forum    bool     // the staff group is a forum
	topics   []string // names of created forum topics
	answered []string // answered callback query ids
}

type sentMessage struct {
	Method  string
	Chat    int64
	ID      int
	Text    string
	ReplyTo string
	Thread  string // message_thread_id
	Buttons []tgButton
}

type tgButton struct {
	Text string `json:"text"`
	Data string `json:"callback_data"`
}

// button returns the data of the button labelled label.
func (m sentMessage) button(t *testing.T, label string) string {
	t.Helper()
	for _, b := range m.Buttons {
		if strings.Contains(b.Text, label) {
			return b.Data
		}
	}
	t.Fatalf("no button %q on %q (buttons %v)", label, m.Text, m.Buttons)
	return ""
}

func (f *fakeTelegram) push(u map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u["update_id"] = len(f.updates) + 1
	f.updates = append(f.updates, u)
}

func (f *fakeTelegram) messages(chat int64, contains string) []sentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sentMessage
	for _, m := range f.sent {
		if m.Chat == chat && strings.Contains(m.Text, contains) {
			out = append(out, m)
		}
	}
	return out
}

func (f *fakeTelegram) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseMultipartForm(1 << 20)
	method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	reply := func(result any) { json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result}) }
	switch method {
	case "getMe":
		reply(map[string]any{"id": 999, "is_bot": true, "first_name": "kefu", "username": "kefu_bot"})
	case "getUpdates":
		offset, _ := strconv.Atoi(r.FormValue("offset"))
		deadline := time.Now().Add(200 * time.Millisecond)
		for {
			f.mu.Lock()
			var out []map[string]any
			for _, u := range f.updates {
				if u["update_id"].(int) >= offset {
					out = append(out, u)
				}
			}
			f.mu.Unlock()
			if len(out) > 0 || time.Now().After(deadline) {
				reply(out)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	case "sendMessage", "editMessageText":
		chat, _ := strconv.ParseInt(r.FormValue("chat_id"), 10, 64)
		var kb struct {
			Rows [][]tgButton `json:"inline_keyboard"`
		}
		json.Unmarshal([]byte(r.FormValue("reply_markup")), &kb)
		m := sentMessage{Method: method, Chat: chat, Text: r.FormValue("text"), ReplyTo: r.FormValue("reply_to_message_id"),
			Thread: r.FormValue("message_thread_id")}
		for _, row := range kb.Rows {
			m.Buttons = append(m.Buttons, row...)
		}
		f.mu.Lock()
		f.nextID++
		m.ID = f.nextID
		if method == "editMessageText" {
			m.ID, _ = strconv.Atoi(r.FormValue("message_id"))
		}
		id := m.ID
		f.sent = append(f.sent, m)
		f.mu.Unlock()
		reply(map[string]any{"message_id": id, "date": time.Now().Unix(), "chat": map[string]any{"id": chat, "type": "private"}, "text": r.FormValue("text")})
	case "getChat":
		f.mu.Lock()
		forum := f.forum
		f.mu.Unlock()
		reply(map[string]any{"id": r.FormValue("chat_id"), "type": "supergroup", "is_forum": forum})
	case "createForumTopic":
		f.mu.Lock()
		f.topics = append(f.topics, r.FormValue("name"))
		id := 700 + len(f.topics)
		f.mu.Unlock()
		reply(map[string]any{"message_thread_id": id, "name": r.FormValue("name"), "icon_color": 0})
	case "answerCallbackQuery":
		f.mu.Lock()
		f.answered = append(f.answered, r.FormValue("callback_query_id"))
		f.mu.Unlock()
		reply(true)
	default: // setMyCommands, getChatAdministrators…
		reply(true)
	}
}

// tgTopicMessage is a message written in a forum topic of the staff group.
func tgTopicMessage(chat, from int64, name, text string, topic int) map[string]any {
	u := tgMessage(chat, from, name, text, topic) // in a topic, messages reply to its root
	m := u["message"].(map[string]any)
	m["message_thread_id"], m["is_topic_message"] = topic, true
	return u
}

// tgCallback is a press of a button with data on message msgID in a private chat.
func tgCallback(chat int64, msgID int, data string) map[string]any {
	return map[string]any{"callback_query": map[string]any{
		"id": fmt.Sprintf("cb-%d-%s", msgID, data), "data": data, "chat_instance": "ci",
		"from": map[string]any{"id": chat, "is_bot": false, "first_name": "Ana", "language_code": "en"},
		"message": map[string]any{"message_id": msgID, "date": time.Now().Unix(),
			"chat": map[string]any{"id": chat, "type": "private"}, "text": "…"}}}
}

func tgMessage(chat, from int64, name, text string, replyTo int) map[string]any {
	typ := "private"
	if chat < 0 {
		typ = "supergroup"
	}
	m := map[string]any{"message_id": time.Now().UnixNano() % 1e9, "date": time.Now().Unix(),
		"chat": map[string]any{"id": chat, "type": typ},
		"from": map[string]any{"id": from, "is_bot": false, "first_name": name, "language_code": "en"}, "text": text}
	if replyTo != 0 {
		m["reply_to_message"] = map[string]any{"message_id": replyTo, "date": 0, "chat": map[string]any{"id": chat, "type": typ}}
	}
	return map[string]any{"message": m}
}

// runTelegram runs `kefu run` against fake until the test ends, with group
// as the staff group and staffUser as its one staff member. The returned
// wait finds the first message to a chat containing a text.
func runTelegram(t *testing.T, fake *fakeTelegram, group, staffUser int64) (wait func(chat int64, contains string) sentMessage) {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	e := testEnv(t)
	e["KEFU_TELEGRAM_TOKEN"] = "123456:test-token"
	e["KEFU_TELEGRAM_API_ENDPOINT"] = srv.URL + "/bot%s/%s"
	e["KEFU_TELEGRAM_STAFF_CHAT_ID"] = fmt.Sprint(group)
	e["KEFU_TELEGRAM_STAFF_USER_IDS"] = fmt.Sprint(staffUser)
	e["KEFU_TELEGRAM_POLL_TIMEOUT"] = "1s"
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"kefu", "run"}, env(e), nil, &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run: %v\n%s", err, stderr.String())
		}
	})
	return func(chat int64, contains string) sentMessage {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if ms := fake.messages(chat, contains); len(ms) > 0 {
				return ms[len(ms)-1]
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no message to %d containing %q\nlog:\n%s", chat, contains, stderr.String())
		return sentMessage{}
	}
}

// TestTelegramForumKeyboardFlow: a customer files a complaint with inline
// buttons (each press answered, the pressed message edited to show the
// choice); the staff group is a forum, so the ticket gets its own topic,
// where the card, the customer's messages and the staff's answers meet.
func TestTelegramForumKeyboardFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for Telegram's group rate limit")
	}
	const customer, staffUser, group = int64(2002), int64(42), int64(-100600)
	fake := &fakeTelegram{forum: true}
	wait := runTelegram(t, fake, group, staffUser)

	fake.push(tgMessage(customer, customer, "Ana", "I want to make a complaint", 0))
	menu := wait(customer, "What is it about?")
	fake.push(tgCallback(customer, menu.ID, menu.button(t, "Delivery")))
	kinds := wait(customer, "Delivery — what exactly?")
	if kinds.Method != "editMessageText" || kinds.ID != menu.ID {
		t.Errorf("choosing a group: %s of message %d; want the pressed message %d edited", kinds.Method, kinds.ID, menu.ID)
	}
	fake.push(tgCallback(customer, kinds.ID, kinds.button(t, "Arrived damaged")))
	wait(customer, "Which order is it about?")
	fake.push(tgMessage(customer, customer, "Ana", "order 123456789", 0))
	wait(customer, "tell me what happened")
	fake.push(tgMessage(customer, customer, "Ana", "The box was crushed and two cups broke", 0))
	photos := wait(customer, "Photos help")
	fake.push(tgCallback(customer, photos.ID, photos.button(t, "Done")))
	wait(customer, "recorded as T-1002")

	card := wait(group, "🆕 T-1002")
	if card.Thread != "701" {
		t.Fatalf("card posted in topic %q; want the ticket's topic 701", card.Thread)
	}
	fake.mu.Lock()
	topics, answered := append([]string(nil), fake.topics...), append([]string(nil), fake.answered...)
	fake.mu.Unlock()
	if len(topics) != 1 || !strings.HasPrefix(topics[0], "T-1002 · ") {
		t.Errorf("forum topics = %q; want one named after T-1002", topics)
	}
	if len(answered) != 3 {
		t.Errorf("answered callbacks = %v; want the 3 presses", answered)
	}

	// Staff write in the topic: no command, no reply, no ticket number.
	fake.push(tgTopicMessage(group, staffUser, "Mei", "So sorry! A replacement ships today.", 701))
	wait(customer, "So sorry! A replacement ships today.")
	if c := wait(group, "Sent to the customer of T-1002"); c.Thread != "701" {
		t.Errorf("confirmation in topic %q; want 701", c.Thread)
	}
	fake.push(tgMessage(customer, customer, "Ana", "Thank you!", 0))
	if relay := wait(group, "✉️ T-1002 · Ana: Thank you!"); relay.Thread != "701" {
		t.Errorf("customer's message relayed into topic %q; want 701", relay.Thread)
	}
	fake.push(tgTopicMessage(group, staffUser, "Mei", "/resolve replacement sent", 701))
	wait(customer, "Is your problem solved?")

	time.Sleep(300 * time.Millisecond) // anything sent twice would show by now
	if n := len(fake.messages(customer, "So sorry! A replacement ships today.")); n != 1 {
		t.Errorf("staff answer reached the customer %d times; want once", n)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.topics) != 1 {
		t.Errorf("%d topics opened for one ticket", len(fake.topics))
	}
}

// TestTelegramEscalationBothWays runs kefu against a fake Telegram: a
// customer in a private chat asks for a person, the card reaches the staff
// group, staff answer by command and by replying to the card, the customer's
// messages reach the group, and every relay arrives exactly once.
func TestTelegramEscalationBothWays(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for Telegram's group rate limit")
	}
	const customer, staffUser, group = int64(1001), int64(42), int64(-100500)
	fake := &fakeTelegram{}
	wait := runTelegram(t, fake, group, staffUser)

	fake.push(tgMessage(customer, customer, "Ana", "I want to talk to a person", 0))
	wait(customer, "recorded as T-1002")
	card := wait(group, "🆕 T-1002")

	fake.push(tgMessage(group, staffUser, "Mei", "/reply T-1002 Hello Ana, Mei here.", 0))
	wait(customer, "Hello Ana, Mei here.")
	fake.push(tgMessage(customer, customer, "Ana", "my parcel is still not here", 0))
	wait(group, "✉️ T-1002 · Ana: my parcel is still not here")
	fake.push(tgMessage(group, staffUser, "Mei", "It arrives tomorrow.", card.ID))
	wait(customer, "It arrives tomorrow.")
	// A stranger in the staff group is not staff.
	fake.push(tgMessage(group, 7, "Eve", "/reply T-1002 I am not staff", 0))
	wait(group, "That command is for shop staff only.")

	time.Sleep(300 * time.Millisecond) // anything sent twice would show by now
	for _, c := range []struct {
		chat int64
		text string
	}{
		{customer, "Hello Ana, Mei here."}, {customer, "It arrives tomorrow."},
		{group, "my parcel is still not here"}, {group, "🆕 T-1002"},
	} {
		if n := len(fake.messages(c.chat, c.text)); n != 1 {
			t.Errorf("%q sent to %d %d times; want once", c.text, c.chat, n)
		}
	}
	if n := len(fake.messages(customer, "I am not staff")); n != 0 {
		t.Errorf("a non-staff /reply reached the customer")
	}
}

// TestTelegramWebhookMode: kefu registers its webhook with the secret,
// refuses posts without it, and answers a good update only after its turn.
func TestTelegramWebhookMode(t *testing.T) {
	fake := &fakeTelegram{}
	var setWebhook sync.Once
	hooked := make(chan map[string]string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/setWebhook") {
			r.ParseMultipartForm(1 << 20)
			setWebhook.Do(func() { hooked <- map[string]string{"url": r.FormValue("url"), "secret": r.FormValue("secret_token")} })
		}
		if strings.HasSuffix(r.URL.Path, "/getUpdates") {
			t.Error("getUpdates called in webhook mode")
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	e := testEnv(t)
	e["KEFU_TELEGRAM_TOKEN"] = "123456:test-token"
	e["KEFU_TELEGRAM_API_ENDPOINT"] = srv.URL + "/bot%s/%s"
	e["KEFU_TELEGRAM_MODE"] = "webhook"
	e["KEFU_TELEGRAM_WEBHOOK_URL"] = "https://shop.example/telegram/webhook"
	e["KEFU_TELEGRAM_WEBHOOK_SECRET"] = "s3cret-Webhook_token"
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"kefu", "run"}, env(e), nil, &stdout, &stderr) }()
	defer func() { cancel(); <-errc }()
	hook := strings.Replace(waitForURL(t, &stdout), "/healthz", "/telegram/webhook", 1)
	select {
	case got := <-hooked:
		if got["url"] != "https://shop.example/telegram/webhook" || got["secret"] != "s3cret-Webhook_token" {
			t.Fatalf("setWebhook = %v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("setWebhook not called")
	}
	update, _ := json.Marshal(map[string]any{"update_id": 7, "message": tgMessage(1001, 1001, "Ana", "hello", 0)["message"]})
	post := func(secret string) int {
		req, _ := http.NewRequest("POST", hook, strings.NewReader(string(update)))
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d; want 401", code)
	}
	if code := post("s3cret-Webhook_token"); code != http.StatusOK {
		t.Fatalf("good update: %d; want 200", code)
	}
	if code := post("s3cret-Webhook_token"); code != http.StatusOK { // redelivery: acknowledged, not answered again
		t.Fatalf("redelivered update: %d; want 200", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(fake.messages(1001, "Hello")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(fake.messages(1001, "Hello")); n != 1 {
		t.Fatalf("greeting sent %d times; want once", n)
	}
}
