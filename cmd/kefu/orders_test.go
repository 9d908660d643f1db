package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot/admin"
	"github.com/kefu-bot/kefu/models"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func orderStatus(t *testing.T, e map[string]string, ref string) string {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, dbOptions(e))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o, err := db.Read().OrderByRef(ctx, ref)
	if err != nil {
		return "-"
	}
	return o.Status
}

func TestImportOrders(t *testing.T) {
	e := testEnv(t)
	const header = "order_id,customer_ref,name,phone,email,status,total,currency,placed_at,carrier,tracking_no,items\n"
	good := writeFile(t, "orders.csv", header+
		"R1,C1,Mei,13800000142,,paid,256.00,CNY,2026-11-01 10:00,,,tea x2\n"+
		"R2,C2,王芳,13700001234,,已发货,59,CNY,2026-11-02,顺丰,SF1,袜子\n")
	out, err := runKefu(t, e, "import", "orders", good)
	if err != nil || !strings.Contains(out, "2 order(s) imported: 2 created") {
		t.Fatalf("good import: %v\n%s", err, out)
	}
	// Re-importing changes nothing.
	out, err = runKefu(t, e, "import", "orders", good)
	if err != nil || !strings.Contains(out, "2 unchanged; 0 status change(s)") {
		t.Fatalf("re-import: %v\n%s", err, out)
	}
	mixed := writeFile(t, "mixed.csv", header+
		"R1,C1,Mei,13800000142,,shipped,256.00,CNY,2026-11-01 10:00,SF,SF9,tea x2\n"+
		"R3,C3,Bob,12,,lost,abc,CNY,,,,\n"+
		"R4,C3,Bob,13900001111,,待付款,10,CNY,,,,\n")
	// --strict: one bad row, nothing imported, exit 4.
	out, err = runKefu(t, e, "import", "orders", mixed, "--strict")
	if exitCode(err) != exitRejected || !strings.Contains(out, "line 3 (order R3)") || !strings.Contains(err.Error(), "nothing imported") {
		t.Fatalf("strict: exit %d %v\n%s", exitCode(err), err, out)
	}
	if st := orderStatus(t, e, "R1"); st != "paid" {
		t.Fatalf("R1 after a strict rejection = %s; want paid", st)
	}
	if st := orderStatus(t, e, "R4"); st != "-" {
		t.Fatalf("R4 after a strict rejection = %s; want absent", st)
	}
	// Without --strict: the bad row is reported and skipped, exit 3.
	out, err = runKefu(t, e, "import", "orders", mixed)
	if exitCode(err) != exitSkipped || !strings.Contains(out, `status "lost"`) || !strings.Contains(out, "1 created, 1 updated") ||
		!strings.Contains(out, "1 status change(s)") {
		t.Fatalf("partial: exit %d %v\n%s", exitCode(err), err, out)
	}
	if st := orderStatus(t, e, "R1"); st != "shipped" {
		t.Fatalf("R1 = %s; want shipped", st)
	}
	if st := orderStatus(t, e, "R4"); st != "pending" {
		t.Fatalf("R4 = %s; want pending", st)
	}
	// JSON, found by content.
	js := writeFile(t, "orders.txt", `[{"order_id":"R5","status":"delivered","total":12.5,"items":[{"name":"mug","qty":1,"price":12.5}]}]`)
	if out, err = runKefu(t, e, "import", "orders", js); err != nil || !strings.Contains(out, "1 created") {
		t.Fatalf("json: %v\n%s", err, out)
	}
	// Nothing good at all: exit 4.
	bad := writeFile(t, "bad.csv", "order_id,status\nX,nope\n")
	if _, err = runKefu(t, e, "import", "orders", bad); exitCode(err) != exitRejected {
		t.Fatalf("all bad: %v; want exit 4", err)
	}
	broken := writeFile(t, "broken.csv", "name,total\nx,1\n")
	if _, err = runKefu(t, e, "import", "orders", broken); exitCode(err) != exitRejected {
		t.Fatalf("no order_id column: %v; want exit 4", err)
	}
	for _, args := range [][]string{{"import"}, {"import", "customers", good}, {"import", "orders"}} {
		if _, err := runKefu(t, e, args...); exitCode(err) != 2 {
			t.Errorf("%v: %v; want exit 2", args, err)
		}
	}
	if _, err := runKefu(t, e, "import", "orders", filepath.Join(t.TempDir(), "missing.csv")); exitCode(err) != 1 {
		t.Errorf("missing file: %v; want exit 1", err)
	}
}

// TestRunMountsOrdersAPI checks the wiring: /api/orders behind the admin
// token, /webhooks/orders behind the HMAC signature.
func TestRunMountsOrdersAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := testEnv(t)
	e["KEFU_HTTP_ADMIN_TOKEN"] = "0123456789abcdef-test"
	e["KEFU_ORDERS_WEBHOOK_SECRET"] = "webhook-secret-0123456789"
	var stdout, stderr syncBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"kefu", "run"}, env(e), strings.NewReader(""), &stdout, &stderr) }()
	base := strings.TrimSuffix(waitForURL(t, &stdout), "/healthz")
	post := func(path, body string, header map[string]string) int {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	body := `[{"order_id":"A1","status":"paid"}]`
	if code := post("/api/orders", body, nil); code != http.StatusUnauthorized {
		t.Errorf("api without token: %d; want 401", code)
	}
	if code := post("/api/orders", body, map[string]string{"Authorization": "Bearer " + e["KEFU_HTTP_ADMIN_TOKEN"]}); code != http.StatusOK {
		t.Errorf("api with token: %d; want 200", code)
	}
	ts := time.Now().Unix()
	wbody := `[{"order_id":"A1","status":"shipped"}]`
	if code := post("/webhooks/orders", wbody, map[string]string{admin.HeaderTimestamp: strconv.FormatInt(ts, 10)}); code != http.StatusUnauthorized {
		t.Errorf("webhook unsigned: %d; want 401", code)
	}
	sig := admin.Sign([]byte(e["KEFU_ORDERS_WEBHOOK_SECRET"]), ts, []byte(wbody))
	h := map[string]string{admin.HeaderTimestamp: strconv.FormatInt(ts, 10), admin.HeaderSignature: sig}
	if code := post("/webhooks/orders", wbody, h); code != http.StatusOK {
		t.Errorf("webhook signed: %d; want 200", code)
	}
	if code := post("/webhooks/orders", wbody, h); code != http.StatusConflict {
		t.Errorf("webhook replayed: %d; want 409", code)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if st := orderStatus(t, e, "A1"); st != "shipped" {
		t.Errorf("A1 = %s; want shipped", st)
	}
}
