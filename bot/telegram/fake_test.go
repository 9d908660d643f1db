package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
)

const testToken = "123456:SECRET-token-value"

// request is one Bot API call the fake server received.
type request struct {
	Method string
	Form   url.Values
	Files  map[string]string // uploaded multipart files: field → "name:content"
}

// reply is a scripted answer: HTTP status and raw JSON body.
type reply struct {
	status int
	body   string
}

func apiErr(code int, desc string, retryAfter int) reply {
	b, _ := json.Marshal(map[string]any{"ok": false, "error_code": code, "description": desc})
	if retryAfter > 0 {
		b, _ = json.Marshal(map[string]any{"ok": false, "error_code": code, "description": desc,
			"parameters": map[string]any{"retry_after": retryAfter}})
	}
	return reply{status: code, body: string(b)}
}

// fakeAPI is an in-process Bot API: it records every request, serves
// getUpdates from a list of pending updates with Telegram's offset
// semantics (long polling until one arrives), and answers scripted errors.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	reqs    []request
	updates []map[string]any // ordered by update_id
	changed chan struct{}    // closed when updates change
	fail    map[string][]reply
	nextMsg int
	admins  []int64
	forum   bool // the staff group is a forum
	topics  int  // forum topics created
	// confirmed is the highest offset asked for: earlier updates are gone.
	confirmed int
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, changed: make(chan struct{}), fail: map[string][]reply{}, nextMsg: 100}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) endpoint() string { return f.srv.URL + "/bot%s/%s" }

// push adds updates (each needs "update_id").
func (f *fakeAPI) push(ups ...map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, ups...)
	close(f.changed)
	f.changed = make(chan struct{})
}

// failNext makes the next calls of method answer rs, in order.
func (f *fakeAPI) failNext(method string, rs ...reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = append(f.fail[method], rs...)
}

func (f *fakeAPI) requests(method string) []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []request
	for _, r := range f.reqs {
		if method == "" || r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

// offsets are the offset parameters of getUpdates calls so far.
func (f *fakeAPI) offsets() []int {
	var out []int
	for _, r := range f.requests("getUpdates") {
		n, _ := strconv.Atoi(r.Form.Get("offset"))
		out = append(out, n)
	}
	return out
}

func write(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func ok(result any) string {
	b, _ := json.Marshal(map[string]any{"ok": true, "result": result})
	return string(b)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, method, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		_ = r.ParseMultipartForm(1 << 20)
	} else {
		_ = r.ParseForm()
	}
	f.mu.Lock()
	req := request{Method: method, Form: r.PostForm}
	if r.MultipartForm != nil {
		req.Files = map[string]string{}
		for field, fhs := range r.MultipartForm.File {
			for _, fh := range fhs {
				if f, err := fh.Open(); err == nil {
					var b bytes.Buffer
					_, _ = b.ReadFrom(f)
					f.Close()
					req.Files[field] = fh.Filename + ":" + b.String()
				}
			}
		}
	}
	f.reqs = append(f.reqs, req)
	if token != testToken {
		f.mu.Unlock()
		write(w, 401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
		return
	}
	if q := f.fail[method]; len(q) > 0 {
		f.fail[method] = q[1:]
		f.mu.Unlock()
		write(w, q[0].status, q[0].body)
		return
	}
	switch method {
	case "getMe":
		f.mu.Unlock()
		write(w, 200, ok(map[string]any{"id": 42, "is_bot": true, "first_name": "Kefu", "username": "kefu_bot"}))
	case "getUpdates":
		offset, _ := strconv.Atoi(r.PostForm.Get("offset"))
		// Like Telegram, an offset confirms (forgets) every earlier update.
		if offset > f.confirmed {
			f.confirmed = offset
		}
		offset = max(offset, f.confirmed)
		timeout, _ := strconv.Atoi(r.PostForm.Get("timeout"))
		deadline := time.After(time.Duration(timeout) * time.Second)
		for {
			var out []map[string]any
			for _, u := range f.updates {
				if u["update_id"].(int) >= offset {
					out = append(out, u)
				}
			}
			changed := f.changed
			f.mu.Unlock()
			if len(out) > 0 || timeout == 0 {
				if out == nil {
					out = []map[string]any{}
				}
				write(w, 200, ok(out))
				return
			}
			select {
			case <-changed:
			case <-deadline:
				write(w, 200, ok([]any{}))
				return
			case <-r.Context().Done():
				return
			}
			f.mu.Lock()
		}
	case "sendMessage", "sendPhoto", "sendDocument", "editMessageText":
		f.nextMsg++
		id := f.nextMsg
		if method == "editMessageText" {
			id, _ = strconv.Atoi(r.PostForm.Get("message_id"))
		}
		f.mu.Unlock()
		chat, _ := strconv.ParseInt(r.PostForm.Get("chat_id"), 10, 64)
		write(w, 200, ok(map[string]any{"message_id": id, "date": 1700000000,
			"chat": map[string]any{"id": chat, "type": "private"}, "text": r.PostForm.Get("text")}))
	case "getChat":
		chat, _ := strconv.ParseInt(r.PostForm.Get("chat_id"), 10, 64)
		forum := f.forum
		f.mu.Unlock()
		write(w, 200, ok(map[string]any{"id": chat, "type": "supergroup", "is_forum": forum}))
	case "createForumTopic":
		f.topics++
		id := 500 + f.topics
		f.mu.Unlock()
		write(w, 200, ok(map[string]any{"message_thread_id": id, "name": r.PostForm.Get("name"), "icon_color": 7322096}))
	case "getChatAdministrators":
		var ms []any
		for _, id := range f.admins {
			ms = append(ms, map[string]any{"status": "administrator", "user": map[string]any{"id": id, "first_name": "A"}})
		}
		f.mu.Unlock()
		write(w, 200, ok(ms))
	default: // answerCallbackQuery, setMyCommands
		f.mu.Unlock()
		write(w, 200, ok(true))
	}
}

// fakeEngine records handled turns; fail, if set, can refuse a turn.
type fakeEngine struct {
	mu       sync.Mutex
	attempts []bot.Inbound // every call
	handled  []bot.Inbound // the committed ones
	seen     map[string]bool
	fail     func(in bot.Inbound, attempt int) error
}

func (e *fakeEngine) Handle(ctx context.Context, in bot.Inbound) (bot.Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attempts = append(e.attempts, in)
	n := 0
	for _, a := range e.attempts {
		if a.MessageID == in.MessageID {
			n++
		}
	}
	if e.fail != nil {
		if err := e.fail(in, n); err != nil {
			return bot.Result{}, err
		}
	}
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	if e.seen[in.MessageID] {
		return bot.Result{Duplicate: true}, nil
	}
	e.seen[in.MessageID] = true
	e.handled = append(e.handled, in)
	return bot.Result{Replies: 1}, nil
}

func (e *fakeEngine) committed() []bot.Inbound {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]bot.Inbound(nil), e.handled...)
}

func (e *fakeEngine) ids(list []bot.Inbound) []string {
	var out []string
	for _, in := range list {
		out = append(out, in.MessageID)
	}
	return out
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newAdapter connects an adapter to f with short backoffs.
func newAdapter(t *testing.T, f *fakeAPI, mod func(*Options)) (*Adapter, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	o := Options{Token: testToken, APIEndpoint: f.endpoint(), StaffChatID: -100, StaffUserIDs: []int64{7},
		PollTimeout: time.Second, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&o)
	}
	a, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a.conflictMin, a.conflictMax = 5*time.Millisecond, 20*time.Millisecond
	a.errorMin, a.errorMax = 5*time.Millisecond, 20*time.Millisecond
	return a, logs
}

// startPoll runs a.Poll until the test ends.
func startPoll(t *testing.T, a *Adapter, e Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Poll(ctx, e) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Poll: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Poll did not return after cancel")
		}
	})
}

// waitFor polls cond until it holds or 5s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Update builders.

func textUpdate(id int, chat, from int64, text string) map[string]any {
	chatType := "private"
	if chat < 0 {
		chatType = "supergroup"
	}
	return map[string]any{"update_id": id, "message": map[string]any{
		"message_id": 1000 + id, "date": 1700000000,
		"chat": map[string]any{"id": chat, "type": chatType},
		"from": map[string]any{"id": from, "first_name": "Ann", "language_code": "zh-hans"},
		"text": text}}
}

func callbackUpdate(id int, chat int64, pressed int, data string) map[string]any {
	return map[string]any{"update_id": id, "callback_query": map[string]any{
		"id": "cb" + strconv.Itoa(id), "data": data, "chat_instance": "x",
		"from": map[string]any{"id": chat, "first_name": "Ann", "username": "ann"},
		"message": map[string]any{"message_id": pressed, "date": 1700000000,
			"chat": map[string]any{"id": chat, "type": "private"}, "text": "menu"}}}
}
