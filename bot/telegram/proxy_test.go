package telegram

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kefu-bot/kefu/bot/clientip"
)

// TestWebhookLogsClientBehindProxy: a rejected webhook request is logged
// with the sender's address, read from X-Forwarded-For only when the peer
// is a trusted proxy.
func TestWebhookLogsClientBehindProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []string
		want    string
	}{
		{"trusted proxy", []string{"10.0.0.0/8"}, "ip=198.51.100.1 "},
		{"no proxies trusted", nil, "ip=10.1.2.3 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := clientip.New(tc.proxies)
			if err != nil {
				t.Fatal(err)
			}
			a, logs := newAdapter(t, newFakeAPI(t), func(o *Options) { o.Proxies = res })
			r := httptest.NewRequest(http.MethodPost, "/telegram/webhook", strings.NewReader("{}"))
			r.RemoteAddr = "10.1.2.3:40000"
			r.Header.Set("X-Forwarded-For", "203.0.113.1, 198.51.100.1")
			w := httptest.NewRecorder()
			a.WebhookHandler(&fakeEngine{}, testSecret).ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", w.Code)
			}
			if out := logs.String(); !strings.Contains(out, tc.want) {
				t.Errorf("log lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
