package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot/admin"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestMain runs every test on SQLite and, with KEFU_TEST_POSTGRES_DSN, on
// PostgreSQL too.
func TestMain(m *testing.M) { modelstest.Main(m) }

func openDB(t *testing.T, now func() time.Time) *models.DB {
	t.Helper()
	db, err := models.Open(context.Background(), models.Options{Driver: modelstest.Driver(), DSN: modelstest.DSN(t), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func status(t *testing.T, db *models.DB, ref string) string {
	t.Helper()
	o, err := db.Read().OrderByRef(context.Background(), ref)
	if err != nil {
		return "-"
	}
	return o.Status
}

func TestOrdersAPI(t *testing.T) {
	db := openDB(t, nil)
	srv := httptest.NewServer(admin.NewOrdersHandler(db, time.UTC, nil))
	t.Cleanup(srv.Close)
	steps := []struct {
		name, method, query, body string
		code                      int
		contains                  string
	}{
		{"create", "POST", "", `[{"order_id":"R1","customer_ref":"C1","phone":"13800000142","status":"paid","total":"25.60"}]`, 200, `"created":1`},
		{"same again", "POST", "", `{"orders":[{"order_id":"R1","customer_ref":"C1","phone":"13800000142","status":"paid","total":"25.60"}]}`, 200, `"unchanged":1`},
		{"change and a bad one", "POST", "", `[{"order_id":"R1","customer_ref":"C1","phone":"13800000142","status":"已发货","total":"25.60"},
{"order_id":"R2","status":"lost"}]`, 200, `"changes":1,"skipped":1,"errors":[{"line":2,"order_id":"R2"`},
		{"strict", "POST", "?strict=true", `[{"order_id":"R3","status":"paid"},{"order_id":"R4","status":"lost"}]`, 422, "strict: nothing imported"},
		{"nothing good", "POST", "", `[{"order_id":"R5","status":"lost"}]`, 400, "no valid order"},
		{"not json", "POST", "", `order_id,status`, 400, "line 1: invalid character"},
		{"method", "GET", "", ``, 405, "not allowed"},
	}
	for _, s := range steps {
		req, _ := http.NewRequest(s.method, srv.URL+s.query, strings.NewReader(s.body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != s.code || !strings.Contains(string(b), s.contains) || !json.Valid(b) {
			t.Errorf("%s: %d %s; want %d containing %s", s.name, resp.StatusCode, b, s.code, s.contains)
		}
	}
	if st := status(t, db, "R1"); st != models.OrderShipped {
		t.Errorf("R1 = %s; want shipped", st)
	}
	if st := status(t, db, "R3"); st != "-" {
		t.Errorf("R3 = %s; want absent after the strict rejection", st)
	}
}

func TestOrderWebhook(t *testing.T) {
	now := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db := openDB(t, clock)
	secret := []byte("0123456789abcdef-secret")
	srv := httptest.NewServer(admin.NewOrderWebhook(db, admin.WebhookOptions{Secret: secret, Tolerance: 5 * time.Minute, Now: clock}))
	t.Cleanup(srv.Close)
	post := func(ts int64, sig, body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
		if ts != 0 {
			req.Header.Set(admin.HeaderTimestamp, strconv.FormatInt(ts, 10))
		}
		if sig != "" {
			req.Header.Set(admin.HeaderSignature, sig)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	body := `[{"order_id":"W1","customer_ref":"C1","status":"shipped"}]`
	ts := now.Unix()
	good := admin.Sign(secret, ts, []byte(body))
	for _, tc := range []struct {
		name      string
		ts        int64
		sig, body string
		code      int
		contains  string
	}{
		{"no timestamp", 0, good, body, 401, "X-Kefu-Timestamp"},
		{"no signature", ts, "", body, 401, "bad signature"},
		{"wrong secret", ts, admin.Sign([]byte("another-secret-of-16"), ts, []byte(body)), body, 401, "bad signature"},
		{"body changed", ts, good, strings.Replace(body, "shipped", "delivered", 1), 401, "bad signature"},
		{"timestamp changed", ts + 1, good, body, 401, "bad signature"},
		{"too old", ts - 600, admin.Sign(secret, ts-600, []byte(body)), body, 401, "outside the allowed window"},
		{"from the future", ts + 600, admin.Sign(secret, ts+600, []byte(body)), body, 401, "outside the allowed window"},
		{"good", ts, good, body, 200, `"created":1`},
		{"replay", ts, good, body, 409, "already accepted"},
		{"upper-case hex", ts - 1, strings.ToUpper(admin.Sign(secret, ts-1, []byte(body))), body, 200, `"unchanged":1`},
	} {
		code, got := post(tc.ts, tc.sig, tc.body)
		if code != tc.code || !strings.Contains(got, tc.contains) {
			t.Errorf("%s: %d %s; want %d containing %q", tc.name, code, got, tc.code, tc.contains)
		}
	}
	if st := status(t, db, "W1"); st != models.OrderShipped {
		t.Errorf("W1 = %s; want shipped", st)
	}
	// A delivery whose import failed leaves its signature unused: the
	// platform may retry it as it is.
	badBody := `[{"order_id":"W2","status":"lost"}]`
	sig := admin.Sign(secret, ts, []byte(badBody))
	if code, _ := post(ts, sig, badBody); code != 400 {
		t.Errorf("bad body: %d; want 400", code)
	}
	if code, _ := post(ts, sig, badBody); code != 400 {
		t.Errorf("bad body again: %d; want 400 (not a replay)", code)
	}
}
