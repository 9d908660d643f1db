package web_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/web"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// replica serves another Site on the fixture's database, as a second kefu
// process behind the load balancer would: its own database pools, hub
// and (on PostgreSQL) listener; the same cookie secret.
func (f *fixture) replica(t *testing.T, opts ...func(*web.SiteOptions)) *fixture {
	t.Helper()
	db, err := models.Open(context.Background(), models.Options{Driver: modelstest.Driver(), DSN: f.dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &fixture{engine: &fakeEngine{}, db: db, dsn: f.dsn, ticket: f.ticket}
	o := web.SiteOptions{Engine: r.engine, DB: db, CookieSecret: []byte(strings.Repeat("k", 32)), ShopName: "Test Shop"}
	for _, opt := range opts {
		opt(&o)
	}
	if r.site, err = web.NewSite(o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.site.Close)
	r.srv = httptest.NewServer(web.New(web.Options{Mount: r.site.Mount()}).Handler())
	t.Cleanup(r.srv.Close)
	return r
}

// staffCookie is c's inbox session cookie for f.
func staffCookie(t *testing.T, f *fixture, c *http.Client) string {
	t.Helper()
	u, _ := url.Parse(f.srv.URL + "/inbox")
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == "kefu_staff" {
			return k.Value
		}
	}
	t.Fatal("no staff cookie")
	return ""
}

// withStaffCookie is a browser holding only the given session cookie.
func withStaffCookie(t *testing.T, f *fixture, value string) *http.Client {
	c := f.client(t)
	u, _ := url.Parse(f.srv.URL + "/inbox")
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "kefu_staff", Value: value, Path: "/inbox"}})
	return c
}

// signedIn reports whether the inbox of f lets the cookie in.
func signedIn(t *testing.T, f *fixture, cookie string) bool {
	t.Helper()
	resp, _ := do(t, withStaffCookie(t, f, cookie), "GET", f.srv.URL+"/inbox", "")
	switch {
	case resp.StatusCode == 200:
		return true
	case resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/inbox/login":
		return false
	}
	t.Fatalf("inbox = %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	return false
}

// TestStaffSessionAcrossReplicas: behind a round-robin load balancer each
// request may reach another replica; a restart is a new process. The
// session is the database's, not one process's.
func TestStaffSessionAcrossReplicas(t *testing.T) {
	a := newFixture(t, "")
	b := a.replica(t)
	c := a.client(t)
	tok := login(t, a, c) // signed in on A
	cookie := staffCookie(t, a, c)

	// B knows the session: its inbox, and an action with A's form token.
	resp, body := do(t, c, "GET", b.srv.URL+"/inbox?t="+a.ticket, "")
	if resp.StatusCode != 200 || !strings.Contains(body, `data-csrf="`+tok+`"`) {
		t.Fatalf("inbox on B = %d; want 200 with A's form token", resp.StatusCode)
	}
	v := url.Values{"ticket": {a.ticket}, "action": {"claim"}, "id": {"id-100001"}, "csrf": {tok}}
	if resp, _ := do(t, c, "POST", b.srv.URL+"/inbox/act", v.Encode(), "Accept", "application/json"); resp.StatusCode != 200 {
		t.Errorf("action on B = %d; want 200", resp.StatusCode)
	}
	if ins := b.engine.got(); len(ins) != 1 || ins[0].UserName != "alice" {
		t.Errorf("B's engine got %+v; want alice's claim", ins)
	}

	// The database holds the token's SHA-256, never the token.
	rows, err := a.db.Read().StaffSessions(context.Background(), "alice", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(cookie))
	if len(rows) != 1 || rows[0].TokenHash != hex.EncodeToString(sum[:]) || strings.Contains(rows[0].TokenHash, cookie) {
		t.Fatalf("stored sessions %+v; want one holding the SHA-256 of the cookie's token", rows)
	}
	if signedIn(t, b, rows[0].TokenHash) {
		t.Error("the stored hash works as a cookie")
	}

	// A restart: A's process is gone, a new one serves the same database.
	a.site.Close()
	a.srv.Close()
	restarted := a.replica(t)
	if !signedIn(t, restarted, cookie) {
		t.Fatal("a restart signed alice out")
	}

	// Signing out on B ends the session on every replica.
	if resp, _ := do(t, c, "POST", b.srv.URL+"/inbox/logout", url.Values{"csrf": {tok}}.Encode()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout on B = %d", resp.StatusCode)
	}
	for name, f := range map[string]*fixture{"B": b, "restarted": restarted} {
		if signedIn(t, f, cookie) {
			t.Errorf("%s still accepts the signed-out session", name)
		}
	}
	if rows, _ := a.db.Read().StaffSessions(context.Background(), "alice", time.Now()); len(rows) != 0 {
		t.Errorf("%d sessions left after logout", len(rows))
	}
}

// TestStaffSessionExpiry: a session ends after staffTTL (12 h) unused and
// slides forward while used, whichever replica serves the request.
func TestStaffSessionExpiry(t *testing.T) {
	a := newFixture(t, "")
	c := a.client(t)
	login(t, a, c)
	cookie := staffCookie(t, a, c)
	at := func(d time.Duration) *fixture {
		return a.replica(t, func(o *web.SiteOptions) { o.Now = func() time.Time { return time.Now().Add(d) } })
	}
	if signedIn(t, at(13*time.Hour), cookie) {
		t.Fatal("a session unused for 13 h is accepted")
	}
	late := at(11 * time.Hour)
	resp, _ := do(t, withStaffCookie(t, late, cookie), "GET", late.srv.URL+"/inbox", "")
	if resp.StatusCode != 200 {
		t.Fatalf("a session used after 11 h: inbox = %d; want 200", resp.StatusCode)
	}
	// The browser's cookie slides with the session.
	if k := cookieNamed(resp, "kefu_staff"); k == nil || k.Value != cookie || k.MaxAge != 12*3600 {
		t.Errorf("renewed cookie %+v; want the same token for another 12 h", k)
	}
	// Used at +11 h, it lasts until +23 h; used then at +20 h, until +32 h.
	if !signedIn(t, at(20*time.Hour), cookie) {
		t.Error("the session did not slide forward when used")
	}
	if signedIn(t, at(33*time.Hour), cookie) {
		t.Error("the session outlived 12 h after its last use")
	}
}

// storingEngine stores each visitor's message as the real engine does,
// so another replica can load it.
type storingEngine struct{ db *models.DB }

func (e storingEngine) Handle(ctx context.Context, in bot.Inbound) (bot.Result, error) {
	err := e.db.Write(ctx, func(s *models.Store) error {
		conv, err := s.Conversation(ctx, in.Channel, in.ChatID, models.KindCustomer, nil)
		if err != nil {
			return err
		}
		ext := in.MessageID
		_, err = s.InsertInbound(ctx, &models.Message{ConversationID: conv.ID, Channel: in.Channel, ChatID: in.ChatID,
			ExternalID: &ext, SenderID: in.UserID, Text: in.Text})
		return err
	})
	return bot.Result{}, err
}

// queue stores an outbound web message for chat, as a turn would.
func queue(t *testing.T, db *models.DB, chat, kind, text string) *bot.Outbound {
	t.Helper()
	ctx := context.Background()
	m := &models.Message{Channel: "web", ChatID: chat, Text: text, Payload: models.Payload{Buttons: [][]models.Button{{{Label: "OK", Data: "ok"}}}}}
	err := db.Write(ctx, func(s *models.Store) error {
		conv, err := s.Conversation(ctx, "web", chat, kind, nil)
		if err != nil {
			return err
		}
		m.ConversationID = conv.ID
		return s.QueueOutbound(ctx, []*models.Message{m})
	})
	if err != nil {
		t.Fatal(err)
	}
	// What the dispatcher hands the channel.
	return &bot.Outbound{ID: m.ID, ChatID: chat, Text: text, Buttons: m.Payload.Buttons}
}

// next is the next event of a stream, or "" after the timeout.
func next(ev <-chan string, d time.Duration) string {
	select {
	case s := <-ev:
		return s
	case <-time.After(d):
		return ""
	}
}

// TestLiveUpdatesAcrossReplicas: two replicas on one PostgreSQL. A page is
// open on A; B's dispatcher sends the reply (or B serves the visitor's
// post). The page sees it at once, not on its next reload.
func TestLiveUpdatesAcrossReplicas(t *testing.T) {
	if modelstest.Driver() != models.DriverPostgres {
		t.Skip("PostgreSQL only (one process per SQLite file): runs in the PostgreSQL pass")
	}
	ctx := context.Background()
	a := newFixture(t, "")
	// B's engine stores what visitors post, as the real one does.
	b := a.replica(t, func(o *web.SiteOptions) { o.Engine = storingEngine{a.db} })

	// A visitor, and alice's inbox, both open on A.
	v := a.client(t)
	do(t, v, "GET", a.srv.URL+"/chat", "")
	do(t, v, "POST", a.srv.URL+"/chat/send", `{"id":"first-post","text":"hello"}`)
	chat := a.engine.got()[0].ChatID
	chatEv, stopChat := sse(t, v, a.srv.URL+"/chat/events")
	defer stopChat()
	staff := a.client(t)
	login(t, a, staff)
	inboxEv, stopInbox := sse(t, staff, a.srv.URL+"/inbox/events")
	defer stopInbox()

	// A reply queued by a turn and sent by B's dispatcher reaches A's page.
	out := queue(t, a.db, chat, models.KindCustomer, "your parcel left today")
	if _, err := b.site.Channel().Send(ctx, out); err != nil {
		t.Fatal(err)
	}
	var m struct {
		ID      uint64
		Dir     string
		Text    string
		Buttons [][]models.Button
		Ext     string
	}
	d := next(chatEv, 5*time.Second)
	if err := json.Unmarshal([]byte(d), &m); err != nil || m.ID != out.ID || m.Dir != "out" || m.Text != "your parcel left today" || len(m.Buttons) != 1 {
		t.Fatalf("A's chat stream got %q; want message %d with its text and buttons", d, out.ID)
	}
	if d := next(inboxEv, 5*time.Second); !strings.Contains(d, chat) {
		t.Errorf("A's inbox got %q; want the conversation of %s", d, chat)
	}

	// Staff events sent by B: a ticket card to the inbox room, a notice
	// to alice's desk.
	card := queue(t, a.db, web.InboxRoom, models.KindStaff, "new ticket T-1001")
	if _, err := b.site.Channel().Send(ctx, card); err != nil {
		t.Fatal(err)
	}
	if d := next(inboxEv, 5*time.Second); !strings.Contains(d, "new ticket T-1001") {
		t.Errorf("A's inbox got %q; want the ticket card", d)
	}
	desk := queue(t, a.db, "staff:alice", models.KindStaff, "claimed T-1001")
	if _, err := b.site.Channel().Send(ctx, desk); err != nil {
		t.Fatal(err)
	}
	if d := next(inboxEv, 5*time.Second); !strings.Contains(d, "claimed T-1001") {
		t.Errorf("A's inbox got %q; want alice's notice", d)
	}

	// The visitor writes from another tab, served by B: the page on A and
	// the inbox on A see it.
	if resp, body := do(t, v, "POST", b.srv.URL+"/chat/send", `{"id":"other-tab-1","text":"still there?"}`); resp.StatusCode != 200 {
		t.Fatalf("post on B = %d %s", resp.StatusCode, body)
	}
	d = next(chatEv, 5*time.Second)
	m.Text, m.Ext, m.Dir = "", "", ""
	if json.Unmarshal([]byte(d), &m); m.Dir != "in" || m.Text != "still there?" || m.Ext != "other-tab-1" {
		t.Errorf("A's chat stream got %q; want the visitor's message", d)
	}
	if d := next(inboxEv, 5*time.Second); !strings.Contains(d, chat) {
		t.Errorf("A's inbox got %q; want the conversation of %s", d, chat)
	}

	// Nothing is published twice on the replica that sent it, and nothing
	// reaches another visitor.
	other := b.client(t)
	do(t, other, "GET", b.srv.URL+"/chat", "")
	otherEv, stopOther := sse(t, other, b.srv.URL+"/chat/events")
	defer stopOther()
	out2 := queue(t, a.db, chat, models.KindCustomer, "second reply")
	if _, err := a.site.Channel().Send(ctx, out2); err != nil {
		t.Fatal(err)
	}
	if d := next(chatEv, 5*time.Second); !strings.Contains(d, "second reply") {
		t.Errorf("A's chat stream got %q; want the second reply", d)
	}
	if d := next(chatEv, 500*time.Millisecond); d != "" {
		t.Errorf("A's chat stream got %q again (its own notice came back)", d)
	}
	if d := next(otherEv, 300*time.Millisecond); d != "" {
		t.Errorf("another visitor's stream on B got %q", d)
	}
}

// TestRelayReconnects: when A's listening connection drops (a database
// failover, a cut network), A's open pages are sent to reconnect and catch
// up, and live updates from B flow again.
func TestRelayReconnects(t *testing.T) {
	if modelstest.Driver() != models.DriverPostgres {
		t.Skip("PostgreSQL only: runs in the PostgreSQL pass")
	}
	ctx := context.Background()
	a := newFixture(t, "")
	b := a.replica(t)
	v := a.client(t)
	do(t, v, "GET", a.srv.URL+"/chat", "")
	do(t, v, "POST", a.srv.URL+"/chat/send", `{"id":"first-post","text":"hello"}`)
	chat := a.engine.got()[0].ChatID
	first := queue(t, a.db, chat, models.KindCustomer, "before the drop")
	ev, stop := sse(t, v, a.srv.URL+"/chat/events?after="+strconv.FormatUint(first.ID, 10))
	defer stop()

	n, err := a.db.Notifier("web")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := n.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", os.Getenv(modelstest.EnvPostgresDSN))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var killed int
	if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		"kefu listen "+ch).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 2 {
		t.Fatalf("terminated %d listeners; want A's and B's", killed)
	}
	// A message sent while A may not be listening.
	missed := queue(t, a.db, chat, models.KindCustomer, "during the drop")
	if _, err := b.site.Channel().Send(ctx, missed); err != nil {
		t.Fatal(err)
	}
	// A listens again and cuts its pages off, so they catch up.
	deadline := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-ev:
		case <-deadline:
			t.Fatal("the page's stream was not ended after the listener reconnected")
		}
	}
	// The page reconnects from the last message it had, and catches up.
	ev, stop2 := sse(t, v, a.srv.URL+"/chat/events?after="+strconv.FormatUint(first.ID, 10))
	defer stop2()
	if d := next(ev, 5*time.Second); !strings.Contains(d, "during the drop") {
		t.Fatalf("catch-up got %q; want the message sent during the drop", d)
	}
	after := queue(t, a.db, chat, models.KindCustomer, "after the drop")
	if _, err := b.site.Channel().Send(ctx, after); err != nil {
		t.Fatal(err)
	}
	if d := next(ev, 5*time.Second); !strings.Contains(d, "after the drop") {
		t.Errorf("live after reconnecting got %q", d)
	}
}
