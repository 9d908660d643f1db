package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
)

const testSecret = "s3cret_Webhook-token"

func TestSetWebhook(t *testing.T) {
	f := newFakeAPI(t)
	a, logs := newAdapter(t, f, nil)
	if err := a.SetWebhook(context.Background(), "https://kefu.example/telegram/webhook", testSecret); err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	reqs := f.requests("setWebhook")
	if len(reqs) != 1 {
		t.Fatalf("setWebhook calls = %d, want 1", len(reqs))
	}
	form := reqs[0].Form
	if form.Get("url") != "https://kefu.example/telegram/webhook" || form.Get("secret_token") != testSecret ||
		form.Get("allowed_updates") != `["message","callback_query"]` || form.Has("drop_pending_updates") {
		t.Errorf("setWebhook form = %v", form)
	}
	if strings.Contains(logs.String(), testSecret) {
		t.Errorf("secret in logs:\n%s", logs)
	}

	if err := a.DeleteWebhook(context.Background()); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	if reqs := f.requests("deleteWebhook"); len(reqs) != 1 || reqs[0].Form.Has("drop_pending_updates") {
		t.Errorf("deleteWebhook requests = %v", reqs)
	}
}

func TestSetWebhookErrors(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		secret string
		reply  *reply // setWebhook's answer
		dead   bool   // the Bot API is unreachable
		sent   bool   // a request reaches the Bot API
		check  func(t *testing.T, err error)
	}{
		{"bad webhook", "https://kefu.example/hook", testSecret,
			ptr(apiErr(400, "Bad Request: bad webhook: Failed to resolve host", 0)), false, true, func(t *testing.T, err error) {
				var pe *bot.PermanentError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), "setWebhook") {
					t.Errorf("%v", err)
				}
			}},
		{"server error", "https://kefu.example/hook", testSecret, ptr(apiErr(502, "Bad Gateway", 0)), false, true, nil},
		{"network error", "https://kefu.example/hook", testSecret, nil, true, false, nil},
		{"http url", "http://kefu.example/hook", testSecret, nil, false, false, nil},
		{"relative url", "/hook", testSecret, nil, false, false, nil},
		{"empty secret", "https://kefu.example/hook", "", nil, false, false, nil},
		{"secret with bad characters", "https://kefu.example/hook", "has space:" + testSecret, nil, false, false, nil},
		{"secret too long", "https://kefu.example/hook", strings.Repeat("a", 257), nil, false, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			a, logs := newAdapter(t, f, nil)
			if tt.reply != nil {
				f.failNext("setWebhook", *tt.reply)
			}
			if tt.dead {
				f.srv.Close()
			}
			err := a.SetWebhook(context.Background(), tt.url, tt.secret)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range []string{testToken, "SECRET-token", testSecret} {
				if strings.Contains(err.Error(), s) || strings.Contains(logs.String(), s) {
					t.Errorf("%q leaked: err %v\nlogs:\n%s", s, err, logs)
				}
			}
			if n := len(f.requests("setWebhook")); (n > 0) != tt.sent {
				t.Errorf("setWebhook requests = %d, want sent=%v", n, tt.sent)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}

	t.Run("delete, network error scrubbed", func(t *testing.T) {
		f := newFakeAPI(t)
		a, _ := newAdapter(t, f, nil)
		f.srv.Close()
		if err := a.DeleteWebhook(context.Background()); err == nil || strings.Contains(err.Error(), testToken) {
			t.Errorf("%v", err)
		}
	})
}

// watchWriter records whether anything was written to the response, so
// a test engine can check that the answer waits for the commit.
type watchWriter struct {
	*httptest.ResponseRecorder
	wrote bool
}

func (w *watchWriter) WriteHeader(code int) { w.wrote = true; w.ResponseRecorder.WriteHeader(code) }
func (w *watchWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseRecorder.Write(p)
}

// whStep is one delivery to the webhook.
type whStep struct {
	header  *string // X-Telegram-Bot-Api-Secret-Token; nil: absent
	method  string  // default POST
	body    string
	chunked bool // no Content-Length: the limit is found while reading
	status  int
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWebhookHandler(t *testing.T) {
	good, wrong, prefix, empty := testSecret, "wrong-secret-value", testSecret[:len(testSecret)-1], ""
	text := jsonOf(t, textUpdate(1, 10, 10, "hello"))
	// A valid update padded with whitespace to exactly the limit.
	atLimit := text + strings.Repeat(" ", maxWebhookBody-len(text))
	over := `{"update_id":5,"message":{"text":"` + strings.Repeat("x", maxWebhookBody) + `"}}`
	edited := jsonOf(t, map[string]any{"update_id": 9, "edited_message": textUpdate(9, 10, 10, "x")["message"]})
	failFirst := func(in bot.Inbound, attempt int) error {
		if attempt == 1 {
			return errors.New("database is locked")
		}
		return nil
	}

	tests := []struct {
		name          string
		steps         []whStep
		fail          func(in bot.Inbound, attempt int) error
		wantAttempts  int
		wantCommitted []string
		wantAnswered  []string // callback_query_id of answerCallbackQuery calls
		wantWarns     int      // log lines about a rejected secret
		check         func(t *testing.T, in bot.Inbound)
	}{
		{name: "message handled and committed before 200",
			steps: []whStep{{header: &good, body: text, status: 200}}, wantAttempts: 1, wantCommitted: []string{"u1"},
			check: func(t *testing.T, in bot.Inbound) {
				want := bot.Inbound{Channel: "telegram", ChatID: "10", UserID: "10", UserName: "Ann", MessageID: "u1",
					Text: "hello", Locale: "zh-hans", Time: in.Time}
				if !in.Time.Equal(time.Unix(1700000000, 0)) || !equalInbound(in, want) {
					t.Errorf("inbound = %+v", in)
				}
			}},
		{name: "staff message in the staff chat",
			steps:        []whStep{{header: &good, body: jsonOf(t, textUpdate(2, -100, 7, "/tickets")), status: 200}},
			wantAttempts: 1, wantCommitted: []string{"u2"}, check: func(t *testing.T, in bot.Inbound) {
				if !in.Staff || !in.Room || in.ChatID != "-100" || in.Text != "/tickets" {
					t.Errorf("inbound = %+v", in)
				}
			}},
		{name: "missing secret", steps: []whStep{{body: text, status: 401}}, wantWarns: 1},
		{name: "empty secret header", steps: []whStep{{header: &empty, body: text, status: 401}}, wantWarns: 1},
		{name: "wrong secret", steps: []whStep{{header: &wrong, body: text, status: 401}}, wantWarns: 1},
		{name: "secret prefix", steps: []whStep{{header: &prefix, body: text, status: 401}}, wantWarns: 1},
		{name: "wrong secret and bad body: 401 first", steps: []whStep{{header: &wrong, body: "{", status: 401}}, wantWarns: 1},
		{name: "handle error is 500, the redelivery 200", fail: failFirst,
			steps:        []whStep{{header: &good, body: text, status: 500}, {header: &good, body: text, status: 200}},
			wantAttempts: 2, wantCommitted: []string{"u1"}},
		{name: "duplicate is 200",
			steps:        []whStep{{header: &good, body: text, status: 200}, {header: &good, body: text, status: 200}},
			wantAttempts: 2, wantCommitted: []string{"u1"}},
		{name: "oversize", steps: []whStep{{header: &good, body: over, status: 413}}},
		{name: "oversize without content length", steps: []whStep{{header: &good, body: over, chunked: true, status: 413}}},
		{name: "exactly the limit", steps: []whStep{{header: &good, body: atLimit, chunked: true, status: 200}},
			wantAttempts: 1, wantCommitted: []string{"u1"}},
		{name: "malformed json", steps: []whStep{{header: &good, body: `{"update_id":`, status: 400}}},
		{name: "wrong json type", steps: []whStep{{header: &good, body: `{"update_id":"one"}`, status: 400}}},
		{name: "not a POST", steps: []whStep{{header: &good, method: http.MethodGet, status: 405}}},
		{name: "callback query answered after commit",
			steps:        []whStep{{header: &good, body: jsonOf(t, callbackUpdate(7, 10, 55, "menu:orders")), status: 200}},
			wantAttempts: 1, wantCommitted: []string{"u7"}, wantAnswered: []string{"cb7"},
			check: func(t *testing.T, in bot.Inbound) {
				if in.Data != "menu:orders" || in.PressedID != "55" || in.ChatID != "10" || in.UserName != "ann" {
					t.Errorf("inbound = %+v", in)
				}
			}},
		{name: "callback query not answered before its turn commits", fail: failFirst,
			steps: []whStep{{header: &good, body: jsonOf(t, callbackUpdate(7, 10, 55, "x")), status: 500},
				{header: &good, body: jsonOf(t, callbackUpdate(7, 10, 55, "x")), status: 200}},
			wantAttempts: 2, wantCommitted: []string{"u7"}, wantAnswered: []string{"cb7"}},
		{name: "duplicate callback query answered too",
			steps: []whStep{{header: &good, body: jsonOf(t, callbackUpdate(8, 10, 55, "x")), status: 200},
				{header: &good, body: jsonOf(t, callbackUpdate(8, 10, 55, "x")), status: 200}},
			wantAttempts: 2, wantCommitted: []string{"u8"}, wantAnswered: []string{"cb8", "cb8"}},
		{name: "ignored group update", steps: []whStep{{header: &good, body: jsonOf(t, textUpdate(3, -5, 10, "hi all")), status: 200}}},
		{name: "ignored edited message", steps: []whStep{{header: &good, body: edited, status: 200}}},
		{name: "ignored empty update", steps: []whStep{{header: &good, body: `{"update_id":4}`, status: 200}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			a, logs := newAdapter(t, f, nil)
			var w *watchWriter
			e := &fakeEngine{fail: func(in bot.Inbound, attempt int) error {
				if w.wrote {
					t.Error("the response was written before Handle returned")
				}
				if tt.fail != nil {
					return tt.fail(in, attempt)
				}
				return nil
			}}
			h := a.WebhookHandler(e, testSecret)
			for i, s := range tt.steps {
				method := s.method
				if method == "" {
					method = http.MethodPost
				}
				r := httptest.NewRequest(method, "/telegram/webhook", strings.NewReader(s.body))
				if s.chunked {
					r.ContentLength = -1
				}
				r.Header.Set("Content-Type", "application/json")
				if s.header != nil {
					r.Header.Set("X-Telegram-Bot-Api-Secret-Token", *s.header)
				}
				w = &watchWriter{ResponseRecorder: httptest.NewRecorder()}
				h.ServeHTTP(w, r)
				if w.Code != s.status {
					t.Errorf("step %d: status %d, want %d (%s)", i, w.Code, s.status, strings.TrimSpace(w.Body.String()))
				}
			}
			e.mu.Lock()
			attempts := len(e.attempts)
			e.mu.Unlock()
			if attempts != tt.wantAttempts {
				t.Errorf("Handle called %d times, want %d", attempts, tt.wantAttempts)
			}
			committed := e.committed()
			if got := e.ids(committed); !slices.Equal(got, tt.wantCommitted) {
				t.Errorf("committed %v, want %v", got, tt.wantCommitted)
			}
			var answered []string
			for _, r := range f.requests("answerCallbackQuery") {
				answered = append(answered, r.Form.Get("callback_query_id"))
			}
			if !slices.Equal(answered, tt.wantAnswered) {
				t.Errorf("answered %v, want %v", answered, tt.wantAnswered)
			}
			out := logs.String()
			if n := strings.Count(out, "right secret token"); n != tt.wantWarns {
				t.Errorf("%d secret warnings, want %d:\n%s", n, tt.wantWarns, out)
			}
			if tt.wantWarns > 0 && !strings.Contains(out, "level=WARN") {
				t.Errorf("no warning logged:\n%s", out)
			}
			for _, s := range []string{testSecret, prefix, wrong, testToken} {
				if strings.Contains(out, s) {
					t.Errorf("%q in the logs:\n%s", s, out)
				}
			}
			if tt.check != nil && len(committed) > 0 {
				tt.check(t, committed[0])
			}
		})
	}
}

func equalInbound(a, b bot.Inbound) bool {
	return a.Channel == b.Channel && a.ChatID == b.ChatID && a.UserID == b.UserID && a.UserName == b.UserName &&
		a.MessageID == b.MessageID && a.Text == b.Text && a.Data == b.Data && a.PressedID == b.PressedID &&
		a.ReplyTo == b.ReplyTo && a.Locale == b.Locale && len(a.Attachments) == 0 && len(b.Attachments) == 0 &&
		a.Staff == b.Staff && a.Room == b.Room
}

// TestWebhookEmptySecret: a handler without a secret accepts nothing, not
// even a request without the header.
func TestWebhookEmptySecret(t *testing.T) {
	f := newFakeAPI(t)
	a, _ := newAdapter(t, f, nil)
	e := &fakeEngine{}
	h := a.WebhookHandler(e, "")
	for _, set := range []bool{false, true} {
		r := httptest.NewRequest(http.MethodPost, "/telegram/webhook", strings.NewReader(jsonOf(t, textUpdate(1, 10, 10, "x"))))
		if set {
			r.Header.Set("X-Telegram-Bot-Api-Secret-Token", "")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("header set %v: status %d, want 401", set, w.Code)
		}
	}
	if n := len(e.committed()); n != 0 {
		t.Errorf("%d turns handled", n)
	}
}

// TestWebhookOverHTTP serves the handler on a real server, as Telegram
// would reach it, mounted like kefu's web server does.
func TestWebhookOverHTTP(t *testing.T) {
	f := newFakeAPI(t)
	a, _ := newAdapter(t, f, nil)
	e := &fakeEngine{}
	mux := http.NewServeMux()
	mux.Handle("POST /telegram/webhook", a.WebhookHandler(e, testSecret))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	post := func(secret string, body io.Reader) int {
		t.Helper()
		r, err := http.NewRequest(http.MethodPost, srv.URL+"/telegram/webhook", body)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if got := post("nope", strings.NewReader(jsonOf(t, textUpdate(1, 10, 10, "x")))); got != 401 {
		t.Errorf("wrong secret: %d", got)
	}
	if got := post(testSecret, strings.NewReader(jsonOf(t, textUpdate(1, 10, 10, "x")))); got != 200 {
		t.Errorf("good update: %d", got)
	}
	// A streamed body (no Content-Length) over the limit.
	big := io.MultiReader(strings.NewReader(`{"update_id":2,"message":{"text":"`),
		bytes.NewReader(bytes.Repeat([]byte("x"), 2*maxWebhookBody)), strings.NewReader(`"}}`))
	if got := post(testSecret, io.NopCloser(big)); got != 413 {
		t.Errorf("oversize stream: %d", got)
	}
	if got := e.ids(e.committed()); !slices.Equal(got, []string{"u1"}) {
		t.Errorf("committed %v", got)
	}
}
