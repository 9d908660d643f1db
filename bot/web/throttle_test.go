package web_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot/clientip"
	"github.com/kefu-bot/kefu/bot/web"
)

// clock is a settable time for the sign-in window.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// behind sets the site behind trusted proxies (the test server's peer is
// 127.0.0.1) and on clk.
func behind(proxies []string, clk *clock) func(*web.SiteOptions) {
	return func(o *web.SiteOptions) {
		r, err := clientip.New(proxies)
		if err != nil {
			panic(err)
		}
		o.Proxies = r
		if clk != nil {
			o.Now = clk.now
		}
	}
}

// signIn posts a sign-in as the browser whose request nginx forwards with
// X-Forwarded-For xff ("" for none) and returns the status.
func signIn(t *testing.T, f *fixture, xff, name, pw string) int {
	t.Helper()
	var hdr []string
	if xff != "" {
		hdr = []string{"X-Forwarded-For", xff}
	}
	resp, body := do(t, f.client(t), "POST", f.srv.URL+"/inbox/login", url.Values{"name": {name}, "password": {pw}}.Encode(), hdr...)
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("login = %d\n%s", resp.StatusCode, body)
	}
	return resp.StatusCode
}

// TestLoginThrottleByClientAddress: behind a trusted proxy each browser
// has its own budget, keyed on the address the proxy appended; from an
// untrusted peer the header is ignored, so it cannot buy fresh budgets.
func TestLoginThrottleByClientAddress(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []string
		// after five failures from 198.51.100.1, the statuses of a right
		// password from each X-Forwarded-For
		xff  []string
		want []int
	}{
		{"trusted proxy: browsers apart", []string{"127.0.0.0/8", "::1"},
			[]string{"198.51.100.1", "203.0.113.66, 198.51.100.1", "198.51.100.2", "198.51.100.1, 198.51.100.3"},
			[]int{http.StatusTooManyRequests, http.StatusTooManyRequests, http.StatusSeeOther, http.StatusSeeOther}},
		{"untrusted peer: header ignored", []string{"10.0.0.0/8"},
			[]string{"198.51.100.1", "198.51.100.2", "198.51.100.3"},
			[]int{http.StatusTooManyRequests, http.StatusTooManyRequests, http.StatusTooManyRequests}},
		{"no proxies: header ignored", nil,
			[]string{"198.51.100.2"},
			[]int{http.StatusTooManyRequests}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			f := newFixture(t, "", behind(tc.proxies, nil), func(o *web.SiteOptions) {
				o.Log = slog.New(slog.NewTextHandler(&logs, nil))
			})
			// Five wrong guesses at other names, so only the address is spent.
			for i := range 5 {
				if got := signIn(t, f, "198.51.100.1", fmt.Sprintf("nobody%d", i), "wrong-password"); got != http.StatusUnauthorized {
					t.Fatalf("guess %d = %d, want 401", i, got)
				}
			}
			for i, xff := range tc.xff {
				if got := signIn(t, f, xff, "alice", testPassword); got != tc.want[i] {
					t.Errorf("alice from X-Forwarded-For %q = %d, want %d", xff, got, tc.want[i])
				}
			}
			want := "ip=127.0.0.1"
			if len(tc.proxies) > 0 && tc.proxies[0] == "127.0.0.0/8" {
				want = "ip=198.51.100.1"
			}
			if !strings.Contains(logs.String(), `msg="web: login failed" name=nobody0 `+want) {
				t.Errorf("failed sign-in not logged with %s:\n%s", want, logs.String())
			}
		})
	}
}

// TestLoginThrottleAcrossReplicas: failures counted by one replica
// throttle the account on another and survive a restart; after the
// window the right password works again.
func TestLoginThrottleAcrossReplicas(t *testing.T) {
	clk := &clock{t: time.Now().UTC()}
	proxies := []string{"127.0.0.0/8", "::1"}
	a := newFixture(t, "", behind(proxies, clk))
	b := a.replica(t, behind(proxies, clk))
	// An attacker guesses alice's password on A from five addresses.
	for i := range 5 {
		if got := signIn(t, a, fmt.Sprintf("198.51.100.%d", i+1), "Alice", "wrong-password"); got != http.StatusUnauthorized {
			t.Fatalf("guess %d = %d, want 401", i, got)
		}
	}
	if got := signIn(t, b, "203.0.113.9", "alice", testPassword); got != http.StatusTooManyRequests {
		t.Errorf("alice on replica B after five failures on A = %d, want 429", got)
	}
	// A restart: a new process on the same database.
	b.site.Close()
	c := a.replica(t, behind(proxies, clk))
	if got := signIn(t, c, "203.0.113.9", "alice", testPassword); got != http.StatusTooManyRequests {
		t.Errorf("alice after a restart = %d, want 429", got)
	}
	// One more attempt a minute comes back.
	clk.add(time.Minute)
	if got := signIn(t, c, "203.0.113.9", "alice", "wrong-password"); got != http.StatusUnauthorized {
		t.Errorf("a guess a minute later = %d, want 401", got)
	}
	if got := signIn(t, a, "203.0.113.9", "alice", testPassword); got != http.StatusTooManyRequests {
		t.Errorf("a second attempt in that minute = %d, want 429", got)
	}
	// After the window (the bucket full again), the right password works,
	// and the success does not spend an attempt.
	clk.add(6 * time.Minute)
	for i, f := range []*fixture{c, a, c, a, c, a} {
		if got := signIn(t, f, "203.0.113.9", "alice", testPassword); got != http.StatusSeeOther {
			t.Fatalf("sign-in %d after the window = %d, want 303", i, got)
		}
	}
}
