package admin_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot/admin"
	"github.com/kefu-bot/kefu/bot/clientip"
)

// TestOrderWebhookLogsClientBehindProxy: a refused delivery is logged with
// the sender's address, read from X-Forwarded-For only when the peer is a
// trusted proxy.
func TestOrderWebhookLogsClientBehindProxy(t *testing.T) {
	db := openDB(t, time.Now)
	for _, tc := range []struct {
		name    string
		proxies []string
		want    string
	}{
		{"trusted proxy", []string{"10.0.0.0/8"}, "ip=198.51.100.1"},
		{"no proxies trusted", nil, "ip=10.1.2.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := clientip.New(tc.proxies)
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			h := admin.NewOrderWebhook(db, admin.WebhookOptions{Secret: []byte("0123456789abcdef-secret"),
				Log: slog.New(slog.NewTextHandler(&logs, nil)), Proxies: res})
			r := httptest.NewRequest(http.MethodPost, "/webhooks/orders", strings.NewReader("[]"))
			r.RemoteAddr = "10.1.2.3:40000"
			r.Header.Set("X-Forwarded-For", "203.0.113.1, 198.51.100.1")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", w.Code)
			}
			if out := logs.String(); !strings.Contains(out, tc.want+"\n") {
				t.Errorf("log lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
