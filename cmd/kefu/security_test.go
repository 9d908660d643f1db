package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot/admin"
)

// TestAdminAPIRefusesWithoutTheTokenAndNeverLogsIt runs kefu with the
// admin API and the orders webhook, logging at debug in JSON, and tries
// every route with missing, wrong, near-miss and misplaced credentials:
// each is refused before anything is read or written, and neither the
// token nor the webhook secret ever appears in a response, on stdout or in
// the log. The right token and a right signature still work, so the
// refusals are not a broken server.
func TestAdminAPIRefusesWithoutTheTokenAndNeverLogsIt(t *testing.T) {
	const (
		token  = "adm-0123456789abcdef-TOPSECRET"
		secret = "whk-SECRET-fedcba9876543210"
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := testEnv(t)
	e["KEFU_HTTP_ADMIN_TOKEN"] = token
	e["KEFU_ORDERS_WEBHOOK_SECRET"] = secret
	e["KEFU_LOG_LEVEL"] = "debug"
	e["KEFU_LOG_FORMAT"] = "json"
	var stdout, stderr syncBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"kefu", "run"}, env(e), strings.NewReader(""), &stdout, &stderr) }()
	base := strings.TrimSuffix(waitForURL(t, &stdout), "/healthz")
	var bodies strings.Builder
	do := func(method, path, body string, header map[string]string) int {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		bodies.Write(b)
		for k, vs := range resp.Header {
			bodies.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
		}
		return resp.StatusCode
	}

	order := `[{"order_id":"SEC-1","status":"paid","name":"Mallory","phone":"13800000000"}]`
	routes := []struct{ method, path, body string }{
		{"GET", "/api/rewards", ""}, {"GET", "/api/rewards/1", ""},
		{"POST", "/api/rewards", `{"code":"EVIL","name_en":"x","name_zh":"x","cost":1,"kind":"coupon","stock":-1}`},
		{"DELETE", "/api/rewards/1", ""}, {"PATCH", "/api/rewards/1", `{"cost":0}`}, {"POST", "/api/orders", order}, {"GET", "/api/orders", ""},
	}
	bad := []struct {
		name   string
		header map[string]string
		query  string
	}{
		{"none", nil, ""},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, ""},
		{"wrong", map[string]string{"Authorization": "Bearer 0123456789abcdef0123456789ab"}, ""},
		{"prefix", map[string]string{"Authorization": "Bearer " + token[:len(token)-1]}, ""},
		{"longer", map[string]string{"Authorization": "Bearer " + token + "x"}, ""},
		{"no scheme", map[string]string{"Authorization": token}, ""},
		{"basic", map[string]string{"Authorization": "Basic " + token}, ""},
		{"other header", map[string]string{"X-Admin-Token": token}, ""},
		{"query", nil, "?token=" + token + "&access_token=" + token},
		{"webhook secret", map[string]string{"Authorization": "Bearer " + secret}, ""},
	}
	for _, r := range routes {
		for _, b := range bad {
			if code := do(r.method, r.path+b.query, r.body, b.header); code != http.StatusUnauthorized {
				t.Errorf("%s %s with %s credentials: %d; want 401", r.method, r.path, b.name, code)
			}
		}
	}
	// Nothing the refused requests carried was stored or changed.
	n := bodies.Len()
	if code := do("GET", "/api/rewards", "", map[string]string{"Authorization": "Bearer " + token}); code != http.StatusOK {
		t.Errorf("with the token: GET /api/rewards = %d; want 200", code)
	}
	list := bodies.String()[n:]
	if strings.Contains(list, "EVIL") || !strings.Contains(list, `"code":"FREESHIP","name_en":"Free shipping coupon","name_zh":"包邮券","cost":200,"kind":"coupon","stock":-1,"active":true`) {
		t.Errorf("refused requests changed the catalogue:\n%s", list)
	}

	// The webhook takes no bearer token, only its own signature over this
	// exact body and a fresh timestamp.
	now := time.Now().Unix()
	ts := strconv.FormatInt(now, 10)
	signed := func(key string, at int64, body string) map[string]string {
		return map[string]string{admin.HeaderTimestamp: strconv.FormatInt(at, 10), admin.HeaderSignature: admin.Sign([]byte(key), at, []byte(body))}
	}
	for _, tc := range []struct {
		name   string
		body   string
		header map[string]string
	}{
		{"unsigned", order, map[string]string{admin.HeaderTimestamp: ts}},
		{"admin token as bearer", order, map[string]string{admin.HeaderTimestamp: ts, "Authorization": "Bearer " + token}},
		{"admin token as key", order, signed(token, now, order)},
		{"secret as signature", order, map[string]string{admin.HeaderTimestamp: ts, admin.HeaderSignature: secret}},
		{"body changed after signing", strings.Replace(order, "paid", "refunded", 1), signed(secret, now, order)},
		{"stale", order, signed(secret, now-3600, order)},
		{"future", order, signed(secret, now+3600, order)},
	} {
		if code := do("POST", "/webhooks/orders", tc.body, tc.header); code != http.StatusUnauthorized {
			t.Errorf("webhook %s: %d; want 401", tc.name, code)
		}
	}
	if code := do("POST", "/webhooks/orders", order, signed(secret, now, order)); code != http.StatusOK {
		t.Errorf("webhook signed: %d; want 200", code)
	}
	if code := do("GET", "/metrics", "", nil); code != http.StatusOK {
		t.Errorf("/metrics: %d", code)
	}

	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	logs := stderr.String()
	if !strings.Contains(logs, `"level":"DEBUG"`) && !strings.Contains(logs, "orders webhook refused") {
		t.Fatalf("the log was not captured:\n%s", logs)
	}
	for where, text := range map[string]string{"log": logs, "stdout": stdout.String(), "responses": bodies.String()} {
		for _, s := range []string{token, "TOPSECRET", secret, "fedcba9876543210"} {
			if strings.Contains(text, s) {
				t.Errorf("%s contains %q:\n%s", where, s, text)
			}
		}
	}
	// The refused webhook bodies held a name and a phone: never logged.
	for _, s := range []string{"Mallory", "13800000000"} {
		if strings.Contains(logs, s) {
			t.Errorf("log contains %q from a request body:\n%s", s, logs)
		}
	}
}

// A database file others can read gets one warning at start; a new one is
// created private and gets none. SQLite only: PostgreSQL has no file.
func TestRunWarnsAboutAWorldReadableDatabase(t *testing.T) {
	sqliteOnly(t)
	for _, tc := range []struct {
		name   string
		create bool
		want   bool
	}{{"Existing0644", true, true}, {"New", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := sqliteEnv(t)
			if tc.create {
				if err := os.WriteFile(e["KEFU_DATABASE_DSN"], nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(e["KEFU_DATABASE_DSN"], 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			var stdout, stderr syncBuffer
			errc := make(chan error, 1)
			go func() { errc <- run(ctx, []string{"kefu", "run"}, env(e), strings.NewReader(""), &stdout, &stderr) }()
			waitForURL(t, &stdout)
			cancel()
			if err := <-errc; err != nil {
				t.Fatalf("run: %v", err)
			}
			if got := strings.Contains(stderr.String(), "database file is readable by every user"); got != tc.want {
				t.Errorf("warned = %v; want %v:\n%s", got, tc.want, stderr.String())
			}
		})
	}
}
