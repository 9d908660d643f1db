package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kefu-bot/kefu/models"
)

// seededEnv is a test environment whose database holds the demo shop.
func seededEnv(t *testing.T) map[string]string {
	t.Helper()
	e := testEnv(t)
	ctx := context.Background()
	db, err := models.Open(ctx, dbOptions(e))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Write(ctx, func(s *models.Store) error { _, err := s.SeedDemo(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	return e
}

func runKefu(t *testing.T, e map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"kefu"}, args...), env(e), nil, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestPointsCLI(t *testing.T) {
	e := seededEnv(t)
	e["USER"] = "ops"
	out, err := runKefu(t, e, "points", "history", "C1002")
	if err != nil || !strings.Contains(out, "balance 2100") || !strings.Contains(out, "order D-20260801") {
		t.Fatalf("history: %v\n%s", err, out)
	}
	out, err = runKefu(t, e, "points", "adjust", "C1002", "-100", "--reason", "duplicate bonus", "--key", "fix-1")
	if err != nil || !strings.Contains(out, "Balance: 2000") {
		t.Fatalf("adjust: %v\n%s", err, out)
	}
	// The same key again changes nothing.
	if out, err = runKefu(t, e, "points", "adjust", "C1002", "-100", "--reason", "duplicate bonus", "--key", "fix-1"); err != nil || !strings.Contains(out, "Balance: 2000") {
		t.Fatalf("repeated adjust: %v\n%s", err, out)
	}
	if _, err = runKefu(t, e, "points", "adjust", "C1002", "-99999", "--reason", "x"); err == nil || exitCode(err) != 1 {
		t.Fatalf("overdraw: %v; want an error with exit 1", err)
	}
	for _, bad := range [][]string{{"points"}, {"points", "adjust", "C1002", "5"}, {"points", "adjust", "C1002", "x", "--reason", "r"},
		{"points", "nope"}, {"points", "history"}} {
		if _, err := runKefu(t, e, bad...); exitCode(err) != 2 {
			t.Errorf("%v: err %v; want exit 2", bad, err)
		}
	}
	if _, err := runKefu(t, e, "points", "history", "C9999"); err == nil || exitCode(err) != 1 {
		t.Errorf("unknown customer: %v; want exit 1", err)
	}
	out, err = runKefu(t, e, "points", "report", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Outstanding int64            `json:"outstanding"`
		ByTier      map[string]int64 `json:"by_tier"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	// 6400 (李伟) + 2000 (Alice after -100) + 150 (王芳).
	if rep.Outstanding != 8550 || rep.ByTier["资深"] != 6400 {
		t.Fatalf("report: %+v", rep)
	}
	out, err = runKefu(t, e, "points", "report")
	if err != nil || !strings.Contains(out, "Points outstanding: 8550") || !strings.Contains(out, "资深 Senior") {
		t.Fatalf("report text: %v\n%s", err, out)
	}
}

func TestRequireToken(t *testing.T) {
	h := requireToken("0123456789abcdef", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"", 401}, {"Bearer nope", 401}, {"Bearer 0123456789abcdef", 204}, {"0123456789abcdef", 401},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/api/rewards", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.header, rec.Code, tc.want)
		}
	}
}

// TestRunMountsRewardsAPI checks the wiring: the rewards API answers on
// /api/rewards behind the admin token, with the demo catalogue.
func TestRunMountsRewardsAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := testEnv(t)
	e["KEFU_HTTP_ADMIN_TOKEN"] = "0123456789abcdef-test"
	var stdout, stderr syncBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"kefu", "run"}, env(e), strings.NewReader(""), &stdout, &stderr) }()
	url := strings.Replace(waitForURL(t, &stdout), "/healthz", "/api/rewards", 1)
	get := func(token string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	if code, _ := get(""); code != http.StatusUnauthorized {
		t.Errorf("without token: %d, want 401", code)
	}
	if code, body := get(e["KEFU_HTTP_ADMIN_TOKEN"]); code != http.StatusOK || !strings.Contains(body, "FREESHIP") {
		t.Errorf("with token: %d %s; want 200 with the demo catalogue", code, body)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
}

func TestBadLoyaltyConfigIsExit2(t *testing.T) {
	for _, v := range []string{"新手/Newcomer:10:1", "新手/Newcomer:0:1,初级/Junior:0:1", "nonsense"} {
		e := testEnv(t)
		e["KEFU_LOYALTY_TIERS"] = v
		_, err := runKefu(t, e, "points", "report")
		if exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), "loyalty") {
			t.Errorf("tiers %q: err %v; want exit 2 naming loyalty", v, err)
		}
	}
}
