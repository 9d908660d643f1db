package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/web"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// fakeEngine records the turns the site submits.
type fakeEngine struct {
	mu  sync.Mutex
	ins []bot.Inbound
	err error
}

func (f *fakeEngine) Handle(_ context.Context, in bot.Inbound) (bot.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return bot.Result{}, f.err
	}
	f.ins = append(f.ins, in)
	return bot.Result{}, nil
}

func (f *fakeEngine) got() []bot.Inbound {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bot.Inbound(nil), f.ins...)
}

type fixture struct {
	site   *web.Site
	srv    *httptest.Server
	engine *fakeEngine
	db     *models.DB
	dsn    string
	ticket string
}

const testPassword = "correct horse battery"

// TestMain runs the tests on SQLite and, with KEFU_TEST_POSTGRES_DSN, on
// PostgreSQL too.
func TestMain(m *testing.M) { modelstest.Main(m) }

// newFixture serves the site on a real database (SQLite, or PostgreSQL in
// the second run) with one staff account (alice) and one open ticket.
func newFixture(t *testing.T, publicURL string, opts ...func(*web.SiteOptions)) *fixture {
	t.Helper()
	ctx := context.Background()
	dsn := modelstest.DSN(t)
	db, err := models.Open(ctx, models.Options{Driver: modelstest.Driver(), DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hash, err := web.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{engine: &fakeEngine{}, db: db, dsn: dsn}
	err = db.Write(ctx, func(s *models.Store) error {
		if _, err := s.CreateStaff(ctx, "alice", hash); err != nil {
			return err
		}
		// Bo is a shop customer with an order and a CSAT answer.
		placed := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
		if _, err := s.UpsertOrders(ctx, []models.OrderInput{{Ref: "20261101777", CustomerRef: "C77", Name: "Bo",
			Status: models.OrderShipped, Total: 12990, Currency: "CNY", PlacedAt: placed}}, "test"); err != nil {
			return err
		}
		cust, err := s.CustomerByRef(ctx, "C77")
		if err != nil {
			return err
		}
		score := 4
		if _, err := s.CreateSurveyRequest(ctx, &models.SurveyRequest{Key: "csat:T-1", CustomerID: cust.ID, ConversationID: 1,
			Kind: "csat", Survey: "csat", Ref: "T-1000", State: models.SurveyCompleted, SentAt: placed, ExpiresAt: placed.Add(time.Hour),
			AnsweredAt: &placed, Score: &score, Comment: "quick and kind"}); err != nil {
			return err
		}
		conv, err := s.Conversation(ctx, "web", "v_someone", models.KindCustomer, &cust.ID)
		if err != nil {
			return err
		}
		tk := &models.Ticket{CustomerID: cust.ID, ConversationID: conv.ID, Kind: models.TicketKindComplaint, Priority: "P2", Subject: "parcel broken"}
		if err := s.CreateTicket(ctx, tk, "customer"); err != nil {
			return err
		}
		f.ticket = tk.Ref()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	o := web.SiteOptions{Engine: f.engine, DB: db, CookieSecret: []byte(strings.Repeat("k", 32)),
		PublicURL: publicURL, ShopName: "Test Shop"}
	for _, opt := range opts {
		opt(&o)
	}
	f.site, err = web.NewSite(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.site.Close)
	f.srv = httptest.NewServer(web.New(web.Options{Mount: f.site.Mount()}).Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// client is a browser: a cookie jar, no redirects followed.
func (f *fixture) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, url, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if strings.HasPrefix(body, "{") {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestVisitorCookieFlags(t *testing.T) {
	for _, tc := range []struct {
		name, public string
		secure       bool
		same         http.SameSite
		frame        string // CSP frame-ancestors of the chat
	}{
		{"PlainHTTP", "", false, http.SameSiteLaxMode, "frame-ancestors 'self'"},
		{"HTTPSEmbeddable", "https://help.example.com", true, http.SameSiteNoneMode, "frame-ancestors *"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.public)
			resp, body := do(t, f.client(t), "GET", f.srv.URL+"/chat", "")
			c := cookieNamed(resp, "kefu_visitor")
			if resp.StatusCode != 200 || c == nil {
				t.Fatalf("GET /chat = %d, cookie %v", resp.StatusCode, c)
			}
			if !c.HttpOnly || c.Secure != tc.secure || c.SameSite != tc.same {
				t.Errorf("cookie HttpOnly=%v Secure=%v SameSite=%v; want true %v %v", c.HttpOnly, c.Secure, c.SameSite, tc.secure, tc.same)
			}
			if !strings.Contains(body, "Test Shop") || !strings.Contains(body, `id="composer"`) {
				t.Errorf("chat page lacks the shop name or composer:\n%s", body)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, tc.frame) || !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("chat CSP %q; want default-src 'self' and %s", csp, tc.frame)
			}
			resp, _ = do(t, f.client(t), "GET", f.srv.URL+"/inbox/login", "")
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'none'") {
				t.Errorf("login CSP %q; the inbox must never be framed", csp)
			}
		})
	}
}

func TestChatSend(t *testing.T) {
	f := newFixture(t, "")
	c := f.client(t)
	if resp, _ := do(t, c, "POST", f.srv.URL+"/chat/send", `{"id":"abcdefgh","text":"hi"}`); resp.StatusCode != 401 {
		t.Fatalf("send without a chat session = %d; want 401", resp.StatusCode)
	}
	do(t, c, "GET", f.srv.URL+"/chat", "")
	for _, tc := range []struct{ name, body string }{
		{"ShortID", `{"id":"abc","text":"hi"}`},
		{"BadIDChars", `{"id":"abc def ghi","text":"hi"}`},
		{"Empty", `{"id":"abcdefgh","text":"  "}`},
		{"NotJSON", `{"id":`},
		{"HugeData", `{"id":"abcdefgh","data":"` + strings.Repeat("x", 65) + `"}`},
	} {
		if resp, _ := do(t, c, "POST", f.srv.URL+"/chat/send", tc.body); resp.StatusCode != 400 {
			t.Errorf("%s: send = %d; want 400", tc.name, resp.StatusCode)
		}
	}
	if resp, body := do(t, c, "POST", f.srv.URL+"/chat/send", `{"id":"abcdefgh","text":"where are my points?"}`,
		"Accept-Language", "zh-CN,zh;q=0.9"); resp.StatusCode != 200 {
		t.Fatalf("send = %d %s", resp.StatusCode, body)
	}
	ins := f.engine.got()
	if len(ins) != 1 {
		t.Fatalf("engine got %d turns (invalid posts must not reach it); want 1", len(ins))
	}
	in := ins[0]
	if in.Channel != "web" || in.ChatID == "" || in.UserID != in.ChatID || in.MessageID != in.ChatID+":abcdefgh" ||
		in.Text != "where are my points?" || in.Staff || in.Room || in.Locale != "zh-CN" {
		t.Errorf("inbound = %+v", in)
	}
	// A retried post carries the same id, so the engine can drop it.
	do(t, c, "POST", f.srv.URL+"/chat/send", `{"id":"abcdefgh","text":"where are my points?"}`)
	if ins := f.engine.got(); ins[1].MessageID != in.MessageID {
		t.Errorf("retry message id %q; want %q", ins[1].MessageID, in.MessageID)
	}
	// A language picked on the page outranks the browser's.
	do(t, c, "POST", f.srv.URL+"/chat/send", `{"id":"abcdefgj","text":"hi","lang":"zh"}`, "Accept-Language", "en-US")
	if ins := f.engine.got(); ins[2].Locale != "zh" {
		t.Errorf("locale with a picked language = %q; want zh", ins[2].Locale)
	}
	f.engine.err = fmt.Errorf("database is locked")
	if resp, _ := do(t, c, "POST", f.srv.URL+"/chat/send", `{"id":"abcdefgi","text":"x"}`); resp.StatusCode != 503 {
		t.Errorf("send while the engine fails = %d; want 503 so the page retries", resp.StatusCode)
	}
}

func TestCrossOriginPostsRefused(t *testing.T) {
	f := newFixture(t, "")
	c := f.client(t)
	do(t, c, "GET", f.srv.URL+"/chat", "")
	for _, path := range []string{"/chat/send", "/inbox/login", "/inbox/act", "/inbox/logout"} {
		resp, _ := do(t, c, "POST", f.srv.URL+path, `{"id":"abcdefgh","text":"hi"}`, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s = %d; want 403", path, resp.StatusCode)
		}
	}
	if n := len(f.engine.got()); n != 0 {
		t.Errorf("engine ran %d cross-site turns", n)
	}
}

func TestForgedVisitorCookie(t *testing.T) {
	f := newFixture(t, "")
	c := f.client(t)
	u, _ := url.Parse(f.srv.URL)
	// The ticket's visitor id, unsigned or signed with another key.
	for _, v := range []string{"v_someone", "v_someone.AAAA", "v_someone.bm90IHRoZSBzaWduYXR1cmU"} {
		c.Jar.SetCookies(u, []*http.Cookie{{Name: "kefu_visitor", Value: v}})
		resp, body := do(t, c, "GET", f.srv.URL+"/chat/events", "")
		if resp.StatusCode != 401 {
			t.Errorf("events with cookie %q = %d %q; want 401", v, resp.StatusCode, body)
		}
		resp, _ = do(t, c, "POST", f.srv.URL+"/chat/send", `{"id":"abcdefgh","text":"hi"}`)
		if resp.StatusCode != 401 {
			t.Errorf("send with cookie %q = %d; want 401", v, resp.StatusCode)
		}
	}
}

// sse reads events from a stream until stop is closed.
func sse(t *testing.T, c *http.Client, url string) (<-chan string, func()) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	ctx, cancel := context.WithCancel(context.Background())
	req = req.WithContext(ctx)
	cl := *c
	cl.Timeout = 0
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
	out := make(chan string, 16)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				out <- d
			}
		}
		close(out)
	}()
	return out, cancel
}

func TestVisitorsSeeOnlyTheirOwnChat(t *testing.T) {
	f := newFixture(t, "")
	a, b := f.client(t), f.client(t)
	do(t, a, "GET", f.srv.URL+"/chat", "")
	do(t, b, "GET", f.srv.URL+"/chat", "")
	do(t, a, "POST", f.srv.URL+"/chat/send", `{"id":"aaaaaaaa","text":"hi"}`)
	do(t, b, "POST", f.srv.URL+"/chat/send", `{"id":"bbbbbbbb","text":"hi"}`)
	ins := f.engine.got()
	chatA, chatB := ins[0].ChatID, ins[1].ChatID
	if chatA == chatB {
		t.Fatalf("two browsers share chat %s", chatA)
	}
	// A's history holds a stored secret: A sees it on reload and on
	// reconnect; B never does.
	ctx := context.Background()
	err := f.db.Write(ctx, func(s *models.Store) error {
		cust, _, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: "web", ExternalID: chatA})
		if err != nil {
			return err
		}
		conv, err := s.Conversation(ctx, "web", chatA, models.KindCustomer, &cust.ID)
		if err != nil {
			return err
		}
		return s.QueueOutbound(ctx, []*models.Message{{ConversationID: conv.ID, Channel: "web", ChatID: chatA, Text: "your coupon is SECRET-42"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, body := do(t, a, "GET", f.srv.URL+"/chat", ""); !strings.Contains(body, "SECRET-42") {
		t.Error("A's reload lacks A's message")
	}
	if _, body := do(t, b, "GET", f.srv.URL+"/chat", ""); strings.Contains(body, "SECRET-42") {
		t.Error("B's page shows A's message")
	}
	evA, stopA := sse(t, a, f.srv.URL+"/chat/events?after=0")
	defer stopA()
	evB, stopB := sse(t, b, f.srv.URL+"/chat/events?after=0")
	defer stopB()
	if d := <-evA; !strings.Contains(d, "SECRET-42") {
		t.Errorf("A's catch-up = %s", d)
	}
	// Live: a message for A reaches A's stream only.
	if _, err := f.site.Channel().Send(ctx, &bot.Outbound{ID: 777, ChatID: chatA, Text: "live for A"}); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-evA:
		var m struct {
			ID   uint64
			Text string
		}
		json.Unmarshal([]byte(d), &m)
		if m.ID != 777 || m.Text != "live for A" {
			t.Errorf("A got %s", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("A's live message never came")
	}
	select {
	case d := <-evB:
		t.Errorf("B received %s", d)
	case <-time.After(300 * time.Millisecond):
	}
}

// login signs c in as alice and returns the inbox's form token.
func login(t *testing.T, f *fixture, c *http.Client) string {
	t.Helper()
	resp, body := do(t, c, "POST", f.srv.URL+"/inbox/login", url.Values{"name": {"alice"}, "password": {testPassword}}.Encode())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login = %d\n%s", resp.StatusCode, body)
	}
	_, body = do(t, c, "GET", f.srv.URL+"/inbox?t="+f.ticket, "")
	m := regexp.MustCompile(`data-csrf="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("inbox has no form token:\n%s", body)
	}
	return m[1]
}

func TestStaffLogin(t *testing.T) {
	f := newFixture(t, "")
	c := f.client(t)
	if resp, _ := do(t, c, "GET", f.srv.URL+"/inbox", ""); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/inbox/login" {
		t.Fatalf("inbox signed out = %d → %q; want the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, tc := range []struct{ name, user, pw string }{
		{"WrongPassword", "alice", "nope nope nope"},
		{"NoSuchAccount", "mallory", testPassword},
		{"BadName", "a b", testPassword},
	} {
		resp, body := do(t, c, "POST", f.srv.URL+"/inbox/login", url.Values{"name": {tc.user}, "password": {tc.pw}}.Encode())
		if resp.StatusCode != 401 || cookieNamed(resp, "kefu_staff") != nil || !strings.Contains(body, "Wrong name or password") {
			t.Errorf("%s: login = %d, cookie %v", tc.name, resp.StatusCode, cookieNamed(resp, "kefu_staff"))
		}
	}
	resp, _ := do(t, c, "POST", f.srv.URL+"/inbox/login", url.Values{"name": {"alice"}, "password": {testPassword}}.Encode())
	sc := cookieNamed(resp, "kefu_staff")
	if resp.StatusCode != http.StatusSeeOther || sc == nil {
		t.Fatalf("login = %d, cookie %v", resp.StatusCode, sc)
	}
	if !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/inbox" || sc.Secure {
		t.Errorf("staff cookie %+v; want HttpOnly, SameSite=Strict, Path=/inbox, not Secure over plain http", sc)
	}
	_, body := do(t, c, "GET", f.srv.URL+"/inbox?t="+f.ticket, "")
	for _, want := range []string{f.ticket, "parcel broken", "Bo", `value="claim"`, "alice",
		"20261101777", "shipped · 129.90 CNY", "CSAT 4/5", "quick and kind"} {
		if !strings.Contains(body, want) {
			t.Errorf("inbox lacks %q", want)
		}
	}
	// Logout ends the session on the server: the old cookie is worthless.
	tok := regexp.MustCompile(`data-csrf="([^"]+)"`).FindStringSubmatch(body)[1]
	do(t, c, "POST", f.srv.URL+"/inbox/logout", url.Values{"csrf": {tok}}.Encode())
	old := f.client(t)
	u, _ := url.Parse(f.srv.URL + "/inbox")
	old.Jar.SetCookies(u, []*http.Cookie{{Name: "kefu_staff", Value: sc.Value, Path: "/inbox"}})
	if resp, _ := do(t, old, "GET", f.srv.URL+"/inbox", ""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("inbox with a logged-out cookie = %d; want a redirect to login", resp.StatusCode)
	}
}

func TestLoginRateLimited(t *testing.T) {
	f := newFixture(t, "")
	c := f.client(t)
	for i := 0; i < 5; i++ {
		do(t, c, "POST", f.srv.URL+"/inbox/login", url.Values{"name": {"alice"}, "password": {fmt.Sprint("guess", i, "xxxx")}}.Encode())
	}
	// Even the right password waits once the guesses are spent.
	resp, body := do(t, c, "POST", f.srv.URL+"/inbox/login", url.Values{"name": {"alice"}, "password": {testPassword}}.Encode())
	if resp.StatusCode != http.StatusTooManyRequests || cookieNamed(resp, "kefu_staff") != nil {
		t.Fatalf("sixth attempt = %d; want 429 without a session\n%s", resp.StatusCode, body)
	}
}

func TestInboxActions(t *testing.T) {
	f := newFixture(t, "")
	c := f.client(t)
	tok := login(t, f, c)
	act := func(v url.Values, hdr ...string) int {
		resp, _ := do(t, c, "POST", f.srv.URL+"/inbox/act", v.Encode(), append([]string{"Accept", "application/json"}, hdr...)...)
		return resp.StatusCode
	}
	base := func(action, text, id string) url.Values {
		return url.Values{"ticket": {f.ticket}, "action": {action}, "text": {text}, "id": {id}}
	}
	for _, tc := range []struct {
		name string
		v    url.Values
		hdr  []string
		want int
	}{
		{"NoToken", base("claim", "", "id-000001"), nil, 403},
		{"WrongToken", func() url.Values { v := base("claim", "", "id-000002"); v.Set("csrf", "forged"); return v }(), nil, 403},
		{"UnknownAction", func() url.Values { v := base("delete", "", "id-000003"); v.Set("csrf", tok); return v }(), nil, 400},
		{"ReplyWithoutText", func() url.Values { v := base("reply", "", "id-000004"); v.Set("csrf", tok); return v }(), nil, 400},
		{"Claim", func() url.Values { v := base("claim", "", "id-000005"); v.Set("csrf", tok); return v }(), nil, 200},
		{"ReplyHeaderToken", base("reply", "on its way", "id-000006"), []string{"X-CSRF-Token", tok}, 200},
		{"Compensate", func() url.Values {
			v := base("compensate", "", "id-000007")
			v.Set("csrf", tok)
			v.Set("kind", "points")
			v.Set("value", "200")
			return v
		}(), nil, 200},
	} {
		if got := act(tc.v, tc.hdr...); got != tc.want {
			t.Errorf("%s: act = %d; want %d", tc.name, got, tc.want)
		}
	}
	ins := f.engine.got()
	want := []string{"/claim " + f.ticket, "/reply " + f.ticket + " on its way", "/compensate " + f.ticket + " points 200"}
	if len(ins) != len(want) {
		t.Fatalf("engine got %d turns; want %d", len(ins), len(want))
	}
	for i, in := range ins {
		if in.Text != want[i] || !in.Staff || !in.Room || in.Channel != "web" || in.ChatID != "staff:alice" || in.UserName != "alice" {
			t.Errorf("turn %d = %+v; want staff command %q from web staff:alice", i, in, want[i])
		}
	}
	if ins[0].MessageID == ins[1].MessageID || len(ins[0].MessageID) > 96 {
		t.Errorf("action message ids %q, %q: want distinct, at most 96 bytes", ins[0].MessageID, ins[1].MessageID)
	}
	// A resubmitted form (same page id) is the same update for the engine.
	again := base("claim", "", "id-000005")
	again.Set("csrf", tok)
	act(again)
	if ins := f.engine.got(); ins[len(ins)-1].MessageID != ins[0].MessageID {
		t.Errorf("resubmitted claim has message id %q; want %q", ins[len(ins)-1].MessageID, ins[0].MessageID)
	}
	// Signed out: nothing runs.
	anon := f.client(t)
	if resp, _ := do(t, anon, "POST", f.srv.URL+"/inbox/act", base("claim", "", "id-000008").Encode()); resp.StatusCode != 401 {
		t.Errorf("act signed out = %d; want 401", resp.StatusCode)
	}
}

// TestWebCatalogComplete: every text id the pages and code use exists in
// English and Chinese.
func TestWebCatalogComplete(t *testing.T) {
	cat, err := bot.NewCatalog(web.Locales())
	if err != nil {
		t.Fatal(err)
	}
	if m := cat.Missing(); len(m) > 0 {
		t.Errorf("defined in one language only: %v", m)
	}
	ids := map[string]bool{}
	re := regexp.MustCompile(`"(web\.[a-z_]+\.[a-z_]+)"`)
	files, _ := filepath.Glob("templates/*.html")
	gos, _ := filepath.Glob("*.go")
	for _, p := range append(files, gos...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			ids[m[1]] = true
		}
	}
	// Ids built in templates from data: statuses and timeline events.
	for _, s := range []string{"active", "new", "open", "waiting_customer", "resolved", "closed", "all"} {
		ids["web.status."+s] = true
	}
	for _, e := range []string{"claim", "resolve", "reopen", "transfer", "priority", "compensate", "cancel", "confirmed", "autoclose"} {
		ids["web.event."+e] = true
	}
	for _, st := range models.OrderStatuses {
		ids["web.order."+st] = true
	}
	if len(ids) < 60 {
		t.Fatalf("found only %d ids; the scan is broken", len(ids))
	}
	for id := range ids {
		for _, lang := range []string{"en", "zh"} {
			if !cat.Has(lang, id) {
				t.Errorf("%s missing in %s", id, lang)
			}
		}
	}
}

// TestShutdownEndsEventStreams: an open chat page must not hold up a
// graceful shutdown until the timeout.
func TestShutdownEndsEventStreams(t *testing.T) {
	f := newFixture(t, "")
	srv := web.New(web.Options{Addr: "127.0.0.1:0", Mount: f.site.Mount(), OnShutdown: []func(){f.site.Close}, ShutdownTimeout: 5 * time.Second})
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx) }()
	base := "http://" + addr.String()
	c := f.client(t)
	do(t, c, "GET", base+"/chat", "")
	ev, stop := sse(t, c, base+"/chat/events")
	defer stop()
	start := time.Now()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve = %v; want a clean shutdown", err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("shutdown waited for the open event stream")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	for range ev { // the stream ended
	}
}
