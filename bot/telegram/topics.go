package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/kefu-bot/kefu/bot"
)

// Forum topics (Bot API 6.3) postdate tgbotapi v5.5.1, the last release:
// its types have no message_thread_id. This file adds the little kefu
// needs: reading the topic of an incoming message, creating a topic, and
// posting into one.

// update is a tgbotapi.Update plus the forum topic its message was
// written in.
type update struct {
	tgbotapi.Update
	// Topic is the message_thread_id of a message in a forum topic; 0 for
	// messages outside topics (including a forum's General topic).
	Topic int
}

type topicFields struct {
	ThreadID int  `json:"message_thread_id"`
	IsTopic  bool `json:"is_topic_message"`
}

func (u *update) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &u.Update); err != nil {
		return err
	}
	var t struct {
		Message       *topicFields `json:"message"`
		CallbackQuery *struct {
			Message *topicFields `json:"message"`
		} `json:"callback_query"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	m := t.Message
	if t.CallbackQuery != nil {
		m = t.CallbackQuery.Message
	}
	if m != nil && m.IsTopic {
		u.Topic = m.ThreadID
	}
	return nil
}

// ThreadsIn reports whether chatID is the staff group and it is a forum:
// then each ticket gets a topic of its own.
func (a *Adapter) ThreadsIn(chatID string) bool {
	return a.forum && chatID == strconv.FormatInt(a.staffID, 10)
}

// OpenThread creates a forum topic named title in chatID and posts m in it.
func (a *Adapter) OpenThread(ctx context.Context, chatID, title string, m *bot.Outbound) (string, string, error) {
	chat, err := strconv.ParseInt(chatID, 10, 64)
	if err != nil {
		return "", "", &bot.PermanentError{Err: fmt.Errorf("telegram: bad chat id %q", chatID)}
	}
	p := tgbotapi.Params{"name": title}
	p.AddFirstValid("chat_id", chat)
	resp, err := a.call(ctx).MakeRequest("createForumTopic", p)
	if err != nil {
		return "", "", a.mapError("createForumTopic", err)
	}
	var topic struct {
		ThreadID int `json:"message_thread_id"`
	}
	if err := json.Unmarshal(resp.Result, &topic); err != nil || topic.ThreadID == 0 {
		return "", "", fmt.Errorf("telegram createForumTopic: unexpected answer %s", resp.Result)
	}
	m.Thread = strconv.Itoa(topic.ThreadID)
	pid, err := a.Send(ctx, m)
	return m.Thread, pid, err
}

// isForum asks Telegram whether the staff group is a forum (getChat's
// is_forum). Any failure counts as "no": tickets then share the group.
func (a *Adapter) isForum(ctx context.Context) bool {
	if a.staffID == 0 {
		return false
	}
	p := tgbotapi.Params{}
	p.AddFirstValid("chat_id", a.staffID)
	resp, err := a.call(ctx).MakeRequest("getChat", p)
	if err != nil {
		a.log.Warn("telegram: cannot read the staff group; tickets will not get topics", "err", a.mapError("getChat", err))
		return false
	}
	var chat struct {
		IsForum bool `json:"is_forum"`
	}
	if err := json.Unmarshal(resp.Result, &chat); err != nil {
		a.log.Warn("telegram: unexpected getChat answer; tickets will not get topics", "err", err)
		return false
	}
	return chat.IsForum
}

// topicMethods are the calls that post a message and take message_thread_id.
var topicMethods = map[string]bool{"sendMessage": true, "sendPhoto": true, "sendDocument": true}

// inTopic adds message_thread_id to a form-encoded posting request, the
// encoding tgbotapi uses for every request without an upload (kefu sends
// files by file id or URL, never uploads).
func inTopic(r *http.Request, topic int) (*http.Request, error) {
	if topic == 0 || !topicMethods[path.Base(r.URL.Path)] || r.Body == nil ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return r, nil
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	form.Set("message_thread_id", strconv.Itoa(topic))
	enc := form.Encode()
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(strings.NewReader(enc))
	r.ContentLength = int64(len(enc))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte(enc))), nil }
	return r, nil
}
