package discord

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/discord/discordtest"
)

func TestRebase(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Host+" "+r.URL.Path+"?"+r.URL.RawQuery)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct{ base, url, want string }{
		{srv.URL, "https://discord.com/api/v9/users/@me", host + " /api/v9/users/@me?"},
		{srv.URL + "/proxy/", "https://discord.com/api/v9/channels/1/messages?after=5", host + " /proxy/api/v9/channels/1/messages?after=5"},
		// Other hosts (the attachment CDN, the test server itself) pass through.
		{"http://127.0.0.1:1", srv.URL + "/attachments/x", host + " /attachments/x?"},
	} {
		rt, err := newRebase(tc.base, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = nil
		resp, err := (&http.Client{Transport: rt}).Get(tc.url)
		if err != nil {
			t.Fatalf("%s via %s: %v", tc.url, tc.base, err)
		}
		resp.Body.Close()
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s via %s reached %q, want %q", tc.url, tc.base, got, tc.want)
		}
	}
	if rt, _ := newRebase("https://discord.com", http.DefaultTransport); rt != http.DefaultTransport {
		t.Error("the real Discord base should not wrap the transport")
	}
	for _, bad := range []string{"discord.com", "ftp://x", "https://"} {
		if _, err := newRebase(bad, nil); err == nil {
			t.Errorf("newRebase(%q) accepted", bad)
		}
	}
}

func TestMapError(t *testing.T) {
	a := &Adapter{o: Options{Token: "s3cr3t"}}
	rest := func(code int, msg string) error {
		return &discordgo.RESTError{Response: &http.Response{StatusCode: code}, Message: &discordgo.APIErrorMessage{Message: msg}}
	}
	var pe *bot.PermanentError
	var ra *bot.RetryAfterError
	for _, tc := range []struct {
		name string
		err  error
		ok   func(error) bool
	}{
		{"429", &discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{RetryAfter: 1500 * time.Millisecond}}},
			func(e error) bool { return errors.As(e, &ra) && ra.After == 1500*time.Millisecond }},
		{"403", rest(403, "Cannot send messages to this user"), func(e error) bool { return errors.Is(e, bot.ErrUnreachable) }},
		{"404", rest(404, "Unknown Channel"), func(e error) bool { return errors.Is(e, bot.ErrUnreachable) }},
		{"400", rest(400, "Invalid Form Body"), func(e error) bool { return errors.As(e, &pe) }},
		{"500", rest(500, "oops"), func(e error) bool { return !errors.As(e, &pe) && !errors.Is(e, bot.ErrUnreachable) }},
		{"network", errors.New("dial tcp: refused s3cr3t"), func(e error) bool { return !strings.Contains(e.Error(), "s3cr3t") }},
	} {
		if got := a.mapError("op", tc.err); got == nil || !tc.ok(got) {
			t.Errorf("%s: mapError = %v", tc.name, got)
		}
	}
	if a.mapError("op", nil) != nil {
		t.Error("mapError(nil) != nil")
	}
}

// fakeEngine records turns and fails those fail says to.
type fakeEngine struct {
	mu       sync.Mutex
	attempts []string
	done     []bot.Inbound
	fail     func(in bot.Inbound, attempt int) error
}

func (e *fakeEngine) Handle(ctx context.Context, in bot.Inbound) (bot.Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attempts = append(e.attempts, in.Text)
	n := 0
	for _, a := range e.attempts {
		if a == in.Text {
			n++
		}
	}
	if e.fail != nil {
		if err := e.fail(in, n); err != nil {
			return bot.Result{}, err
		}
	}
	e.done = append(e.done, in)
	return bot.Result{Replies: 1}, nil
}

func (e *fakeEngine) texts() (attempts, done []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, in := range e.done {
		done = append(done, in.Text)
	}
	return slices.Clone(e.attempts), done
}

// TestFailedTurnIsRetriedInOrder: a turn the engine fails is retried and
// the channel's later messages wait for it; other channels go on.
func TestFailedTurnIsRetriedInOrder(t *testing.T) {
	f := discordtest.New(testToken)
	defer f.Close()
	staff := f.AddChannel("staff")
	a, err := New(context.Background(), Options{Token: testToken, APIBase: f.URL, GuildID: f.Guild, StaffChannelID: staff,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a.errorMin, a.errorMax = 20*time.Millisecond, 40*time.Millisecond
	e := &fakeEngine{fail: func(in bot.Inbound, attempt int) error {
		if in.Text == "two" && attempt < 3 {
			return errors.New("database is locked")
		}
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx, e) }()
	defer func() { cancel(); <-done }()
	f.Wait(5*time.Second, f.Connected)
	ann, bo := discordtest.User{ID: f.NewID(), Username: "ann"}, discordtest.User{ID: f.NewID(), Username: "bo"}
	for _, s := range []string{"one", "two", "three"} {
		f.Say(ann, "", s)
	}
	f.Say(bo, "", "other chat")
	if !f.Wait(5*time.Second, func() bool { _, d := e.texts(); return len(d) == 4 }) {
		a, d := e.texts()
		t.Fatalf("attempts %q, done %q", a, d)
	}
	attempts, doneTexts := e.texts()
	var annDone []string
	for _, s := range doneTexts {
		if s != "other chat" {
			annDone = append(annDone, s)
		}
	}
	if !slices.Equal(annDone, []string{"one", "two", "three"}) {
		t.Errorf("ann's turns = %q, want in order", annDone)
	}
	if n := strings.Count(strings.Join(attempts, ","), "two"); n != 3 {
		t.Errorf("two attempted %d times, want 3 (%q)", n, attempts)
	}
	if i, j := slices.Index(attempts, "three"), slices.Index(attempts, "two"); i < j+2 {
		t.Errorf("three tried before two committed: %q", attempts)
	}
	var in bot.Inbound
	for _, d := range e.done {
		if d.Text == "one" {
			in = d
		}
	}
	if in.Channel != "discord" || in.ChatID != f.DMChannel(ann.ID) || in.UserID != ann.ID || in.UserName != "ann" ||
		in.Room || in.Staff || in.MessageID != f.Messages(f.DMChannel(ann.ID))[0].ID || in.Time.IsZero() {
		t.Errorf("inbound = %+v", in)
	}
}

// TestOpenThreadRetryKeepsOneCard: when the thread cannot be started, the
// retry starts it on the card already posted instead of posting another.
func TestOpenThreadRetryKeepsOneCard(t *testing.T) {
	f := discordtest.New(testToken)
	defer f.Close()
	staff := f.AddChannel("staff")
	a, err := New(context.Background(), Options{Token: testToken, APIBase: f.URL, GuildID: f.Guild, StaffChannelID: staff})
	if err != nil {
		t.Fatal(err)
	}
	if !a.ThreadsIn(staff) || a.ThreadsIn("123") {
		t.Error("ThreadsIn: only the staff channel holds threads")
	}
	m := &bot.Outbound{ID: 7, ChatID: staff, Text: "🆕 T-1001 card", TicketID: 1}
	f.FailThreadStarts(1, http.StatusInternalServerError)
	if _, _, err := a.OpenThread(context.Background(), staff, "T-1001 · broken", m); err == nil {
		t.Fatal("OpenThread succeeded although the thread start failed")
	}
	// A missing permission fails the row, not the staff channel.
	f.FailThreadStarts(1, http.StatusForbidden)
	_, _, err = a.OpenThread(context.Background(), staff, "T-1001 · broken", m)
	var pe *bot.PermanentError
	if !errors.As(err, &pe) || errors.Is(err, bot.ErrUnreachable) || !strings.Contains(err.Error(), "Create Public Threads") {
		t.Errorf("403: err = %v, want a PermanentError naming the permission", err)
	}
	th, card, err := a.OpenThread(context.Background(), staff, "T-1001 · broken", m)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.BotMessages(staff)); n != 1 || th != card || f.Threads(staff)[0].Name != "T-1001 · broken" {
		t.Errorf("cards %d, thread %s on card %s (%+v)", n, th, card, f.Threads(staff))
	}
	// Posting into the thread, and editing the card addressed to it.
	if _, err := a.Send(context.Background(), &bot.Outbound{ChatID: staff, Thread: th, Text: "relay"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(context.Background(), &bot.Outbound{ChatID: staff, Thread: th, Edit: card, Text: "claimed"}); err != nil {
		t.Fatal(err)
	}
	if got := f.BotMessages(staff)[0]; got.Content != "claimed" || got.Edits != 1 {
		t.Errorf("card = %q after %d edits", got.Content, got.Edits)
	}
	if got := texts(f.BotMessages(th)); !slices.Equal(got, []string{"relay"}) {
		t.Errorf("thread = %q", got)
	}
}

// TestGatewayRefusesToken: a token the REST API took but the gateway
// refuses (close 4004) ends Run with the same clear error.
func TestGatewayRefusesToken(t *testing.T) {
	f := discordtest.New(testToken)
	defer f.Close()
	a, err := New(context.Background(), Options{Token: testToken, APIBase: f.URL})
	if err != nil {
		t.Fatal(err)
	}
	f.RefuseIdentify(true)
	err = a.Run(context.Background(), &fakeEngine{})
	if err == nil || err.Error() != "discord: the bot token was rejected (401 Unauthorized)" {
		t.Errorf("Run = %v", err)
	}
}

// TestThreadMessageMapping: a message in a thread of the staff channel that
// the adapter did not open is looked up (retrying a failed lookup), and is
// a Room message in that thread; the staff role comes from the member.
func TestThreadMessageMapping(t *testing.T) {
	f := discordtest.New(testToken)
	defer f.Close()
	staff, role := f.AddChannel("staff"), f.NewID()
	a, err := New(context.Background(), Options{Token: testToken, APIBase: f.URL, GuildID: f.Guild, StaffChannelID: staff,
		StaffRoleID: role})
	if err != nil {
		t.Fatal(err)
	}
	a.errorMin = 10 * time.Millisecond
	e := &fakeEngine{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx, e) }()
	defer func() { cancel(); <-done }()
	f.Wait(5*time.Second, f.Connected)
	mei, eve := discordtest.User{ID: f.NewID(), Username: "mei"}, discordtest.User{ID: f.NewID(), Username: "eve"}
	f.AddMember(mei.ID, role)
	f.AddMember(eve.ID)
	th := f.AddThread(staff, "by hand")
	other := f.AddThread(f.AddChannel("general"), "elsewhere")
	f.FailChannelLookups(1)
	f.Say(mei, th, "staff text")
	f.Say(eve, th, "member text")
	f.Say(mei, other, "ignored")
	if !f.Wait(5*time.Second, func() bool { _, d := e.texts(); return len(d) == 2 }) {
		_, d := e.texts()
		t.Fatalf("handled %q", d)
	}
	time.Sleep(100 * time.Millisecond)
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.done) != 2 {
		t.Fatalf("handled %d, want 2 (the other channel's thread is ignored)", len(e.done))
	}
	for _, in := range e.done {
		want := in.Text == "staff text"
		if in.ChatID != staff || in.Thread != th || !in.Room || in.Staff != want {
			t.Errorf("%q: chat %s thread %s room %v staff %v; want %s %s true %v", in.Text, in.ChatID, in.Thread, in.Room, in.Staff, staff, th, want)
		}
	}
}
