package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kefu-bot/kefu/bot/admin"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, models.Options{Driver: modelstest.Driver(), DSN: modelstest.DSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mux := http.NewServeMux()
	mux.Handle("/api/rewards/", http.StripPrefix("/api/rewards", admin.NewRewardsHandler(db, nil)))
	mux.Handle("/api/rewards", http.StripPrefix("/api/rewards", admin.NewRewardsHandler(db, nil)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRewardsAPI(t *testing.T) {
	srv := newServer(t)
	steps := []struct {
		name, method, path, body string
		code                     int
		contains                 string
	}{
		{"empty list", "GET", "/api/rewards", "", 200, "[]"},
		{"create", "POST", "/api/rewards", `{"code":"MUG","name_en":"Mug","name_zh":"杯子","cost":1500,"kind":"goods","stock":10}`, 201, `"id":1`},
		{"duplicate", "POST", "/api/rewards", `{"code":"MUG","name_en":"Mug","name_zh":"杯子","cost":1,"kind":"goods"}`, 409, "exists"},
		{"missing fields", "POST", "/api/rewards", `{"code":"X1"}`, 400, `"cost is required","kind is required","name_en is required"`},
		{"invalid fields", "POST", "/api/rewards", `{"code":"bad code","name_en":"A","name_zh":"B","cost":0,"kind":"cash","stock":-2}`, 400,
			`"code must be 2–32 upper-case letters, digits, - or _","cost must be \u003e 0","kind must be coupon, goods or service","stock must be \u003e= 0, or -1 for unlimited"`},
		{"unknown field", "POST", "/api/rewards", `{"price":1}`, 400, "unknown field"},
		{"get", "GET", "/api/rewards/1", "", 200, `"code":"MUG"`},
		{"patch cost", "PATCH", "/api/rewards/1", `{"cost":1200}`, 200, `"cost":1200`},
		{"patch invalid", "PATCH", "/api/rewards/1", `{"cost":-1}`, 400, "cost must be"},
		{"cost unchanged", "GET", "/api/rewards/1", "", 200, `"cost":1200`},
		{"put needs all", "PUT", "/api/rewards/1", `{"cost":5}`, 400, "code is required"},
		{"put", "PUT", "/api/rewards/1", `{"code":"MUG2","name_en":"Big mug","name_zh":"大杯","cost":2000,"kind":"goods"}`, 200, `"name_en":"Big mug"`},
		{"delete deactivates", "DELETE", "/api/rewards/1", "", 200, `"active":false`},
		{"active only", "GET", "/api/rewards?active=true", "", 200, "[]"},
		{"still listed", "GET", "/api/rewards", "", 200, `"code":"MUG2"`},
		{"unknown id", "GET", "/api/rewards/99", "", 404, "no such reward"},
		{"bad id", "DELETE", "/api/rewards/x", "", 404, "no such reward"},
		{"method", "DELETE", "/api/rewards", "", 405, "not allowed"},
	}
	for _, s := range steps {
		code, body := do(t, srv, s.method, s.path, s.body)
		if code != s.code || !strings.Contains(body, s.contains) {
			t.Errorf("%s: %s %s = %d %s; want %d containing %s", s.name, s.method, s.path, code, body, s.code, s.contains)
		}
		if !json.Valid([]byte(body)) {
			t.Errorf("%s: answer is not JSON: %s", s.name, body)
		}
	}
}
