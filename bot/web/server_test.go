package web_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kefu-bot/kefu/bot/web"
)

func TestHealthz(t *testing.T) {
	for _, tc := range []struct {
		name     string
		health   error
		wantCode int
		wantBody string
	}{
		{"OK", nil, http.StatusOK, `{"status":"ok"}`},
		{"DatabaseDown", errors.New("disk I/O error: /secret/path"), http.StatusServiceUnavailable, `{"status":"unavailable"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := web.New(web.Options{Health: func(context.Context) error { return tc.health }})
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != tc.wantCode || strings.TrimSpace(rec.Body.String()) != tc.wantBody {
				t.Fatalf("GET /healthz = %d %q; want %d %q", rec.Code, rec.Body.String(), tc.wantCode, tc.wantBody)
			}
			if strings.Contains(rec.Body.String(), "secret") {
				t.Fatal("health leaks the error text to anonymous callers")
			}
			// Liveness stays green whatever the database does.
			rec = httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/livez", nil))
			if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"status":"alive"}` {
				t.Fatalf("GET /livez = %d %q; want 200 alive", rec.Code, rec.Body.String())
			}
		})
	}
}

func TestServeAndShutdown(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "kefu_up 1\n") })
	s := web.New(web.Options{Addr: "127.0.0.1:0", Metrics: metrics})
	addr, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "kefu_up 1\n" {
		t.Fatalf("GET /metrics = %q", body)
	}
	resp, err = http.Post("http://"+addr.String()+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d; want 405", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel = %v; want nil", err)
	}
}

func TestListenReportsABusyAddress(t *testing.T) {
	first := web.New(web.Options{Addr: "127.0.0.1:0"})
	addr, err := first.Listen()
	if err != nil {
		t.Fatal(err)
	}
	second := web.New(web.Options{Addr: addr.String()})
	if _, err := second.Listen(); err == nil || !strings.Contains(err.Error(), addr.String()) {
		t.Fatalf("second Listen on %s = %v; want an error naming the address", addr, err)
	}
}
