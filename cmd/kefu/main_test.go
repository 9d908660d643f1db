package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestMain lets the test binary act as kefu itself, so process-level tests
// (signals, exit codes) run the real main without a separate build; as a
// test binary it runs the tests on SQLite and, when KEFU_TEST_POSTGRES_DSN
// is set, again on PostgreSQL (models/modelstest).
func TestMain(m *testing.M) {
	if os.Getenv("KEFU_TEST_AS_MAIN") == "1" {
		os.Args = append([]string{"kefu"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	modelstest.Main(m)
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

// testEnv is the environment of a kefu command on a fresh database of this
// run's driver: a SQLite file, or on PostgreSQL a new schema dropped when t
// ends (so every kefu the test starts must have stopped by then).
func testEnv(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		"KEFU_DATABASE_DRIVER": modelstest.Driver(),
		"KEFU_DATABASE_DSN":    modelstest.DSN(t),
		"KEFU_HTTP_ADDR":       "127.0.0.1:0",
	}
}

// sqliteEnv is testEnv on a SQLite file whatever the run's driver, for the
// tests of what only SQLite has (the database file and its permissions).
func sqliteEnv(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		"KEFU_DATABASE_DRIVER": "sqlite",
		"KEFU_DATABASE_DSN":    filepath.Join(t.TempDir(), "kefu.db"),
		"KEFU_HTTP_ADDR":       "127.0.0.1:0",
	}
}

// sqliteOnly skips t on the PostgreSQL run: it tests SQLite itself, and
// the SQLite run has run it already (why is the test's comment).
func sqliteOnly(t *testing.T) {
	t.Helper()
	if modelstest.Driver() != "sqlite" {
		t.Skip("SQLite only; ran in the SQLite run")
	}
}

// dbOptions opens the database of a testEnv, as the kefu it configures does.
func dbOptions(e map[string]string) models.Options {
	return models.Options{Driver: e["KEFU_DATABASE_DRIVER"], DSN: e["KEFU_DATABASE_DSN"]}
}

var healthURL = regexp.MustCompile(`health:\s+(http://\S+/healthz)`)

func waitForURL(t *testing.T, out interface{ String() string }) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := healthURL.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("kefu run printed no health URL:\n%s", out.String())
	return ""
}

func TestRunServesHealthAndMetricsAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"kefu", "run"}, env(testEnv(t)), strings.NewReader(""), &stdout, &stderr)
	}()
	health := waitForURL(t, &stdout)
	resp, err := http.Get(health)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz = %d; want 200", resp.StatusCode)
	}
	resp, err = http.Get(strings.Replace(health, "/healthz", "/metrics", 1))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"kefu_turn_duration_seconds", "kefu_outbox_depth", "kefu_commit_batch_size"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run returned %v; want nil after cancel\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop within 10s of cancel")
	}
}

func TestSIGTERMStopsTheProcessCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	cmd := exec.Command(os.Args[0], "run")
	cmd.Env = os.Environ()
	for k, v := range testEnv(t) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "KEFU_TEST_AS_MAIN=1")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	health := waitForURL(t, &out)
	if resp, err := http.Get(health); err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	t.Logf("start to healthy: %s", time.Since(start).Round(time.Millisecond))
	cmd.Process.Signal(syscall.SIGTERM)
	stopped := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; want status 0\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("kefu did not stop within 10s of SIGTERM")
	}
	t.Logf("SIGTERM to exit: %s", time.Since(stopped).Round(time.Millisecond))
}

func TestBadConfigIsOneClearErrorWithExitStatus2(t *testing.T) {
	for _, tc := range []struct {
		name, key, value, want string
	}{
		{"BadInt", "KEFU_ENGINE_BATCH_SIZE", "abc", "engine.batch_size"},
		{"BadDriver", "KEFU_DATABASE_DRIVER", "mysql", "database.driver"},
		{"BadAddr", "KEFU_HTTP_ADDR", "nonsense", "http.addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := testEnv(t)
			e[tc.key] = tc.value
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"kefu", "run"}, env(e), nil, &stdout, &stderr)
			if err == nil {
				t.Fatal("run succeeded; want a config error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
			if got := exitCode(err); got != 2 {
				t.Errorf("exit code = %d; want 2", got)
			}
		})
	}
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"kefu", "frobnicate"}, env(nil), nil, io.Discard, &stderr)
	if exitCode(err) != 2 || !strings.Contains(stderr.String(), "Usage") {
		t.Errorf("unknown command: err %v, stderr %q; want exit 2 and the usage", err, stderr.String())
	}
}

func TestIntentCLI(t *testing.T) {
	type line struct {
		Text       string            `json:"text"`
		Intent     string            `json:"intent"`
		Confidence float64           `json:"confidence"`
		Entities   map[string]string `json:"entities"`
	}
	decode := func(out string) []line {
		var ls []line
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("not JSON: %q: %v", sc.Text(), err)
			}
			ls = append(ls, l)
		}
		return ls
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"kefu", "intent", "where is my order #00123456", "我要人工"}, env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	got := decode(out.String())
	if len(got) != 2 || got[0].Intent != "order_status" || got[0].Entities["order_id"] != "00123456" || got[1].Intent != "human_agent" {
		t.Fatalf("intent args = %+v", got)
	}
	if !strings.HasPrefix(out.String(), `{"text":"where is my order #00123456","intent":"order_status","confidence":`) {
		t.Errorf("field order: %s", out.String())
	}
	out.Reset()
	in := "hello\n\n亲 在吗 我的快递到哪了\n"
	if err := run(context.Background(), []string{"kefu", "intent"}, env(nil), strings.NewReader(in), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	got = decode(out.String())
	if len(got) != 3 || got[0].Text != "hello" || got[1].Text != "" || got[2].Intent != "order_status" {
		t.Fatalf("intent stdin = %+v; want one line per input line, in order", got)
	}
}

// TestTerminalLoop runs the customer → staff → customer loop through three
// `kefu chat` sessions on one database, as a person would in two terminals.
func TestTerminalLoop(t *testing.T) {
	e := testEnv(t)
	chat := func(input string, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(context.Background(), append([]string{"kefu", "chat"}, args...), env(e), strings.NewReader(input), &out, &errb)
		if err != nil {
			t.Fatalf("kefu chat %v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	customer := chat("hi\n我要人工\nmy parcel never arrived\n", "--as", "bob")
	for _, want := range []string{"kefu › Hello bob!", "[2] 👤 Talk to a person", "T-1002"} {
		if !strings.Contains(customer, want) {
			t.Errorf("customer session lacks %q:\n%s", want, customer)
		}
	}
	staff := chat("/tickets\n/reply T-1002 We are on it, Bob.\n/resolve T-1002\n", "--staff")
	for _, want := range []string{"🆕 T-1002", "✉️ T-1002 · bob: my parcel never arrived", "Sent to the customer of T-1002", "T-1002 resolved"} {
		if !strings.Contains(staff, want) {
			t.Errorf("staff session lacks %q:\n%s", want, staff)
		}
	}
	back := chat("", "--as", "bob")
	for _, want := range []string{"We are on it, Bob.", "您的请求 T-1002 标记为已解决"} {
		if !strings.Contains(back, want) {
			t.Errorf("customer's next session lacks %q:\n%s", want, back)
		}
	}
	if strings.Count(back+customer, "We are on it, Bob.") != 1 {
		t.Errorf("staff reply delivered %d times; want once", strings.Count(back+customer, "We are on it, Bob."))
	}
	var ue *usageError
	err := run(context.Background(), []string{"kefu", "chat", "--staff", "--as", "mallory"}, env(e), strings.NewReader(""), io.Discard, io.Discard)
	if !errors.As(err, &ue) {
		t.Errorf("staff session as a non-staff name: err = %v; want a usage error", err)
	}
}

// TestRunWithRejectedTelegramToken: a wrong token is one clear error, with
// a non-zero exit, and the token appears nowhere.
func TestRunWithRejectedTelegramToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
	}))
	defer srv.Close()
	e := testEnv(t)
	e["KEFU_TELEGRAM_TOKEN"] = "123456:SECRET-token-value"
	e["KEFU_TELEGRAM_API_ENDPOINT"] = srv.URL + "/bot%s/%s"
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"kefu", "run"}, env(e), nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "token was rejected") {
		t.Fatalf("run = %v; want the token-rejected error", err)
	}
	if exitCode(err) == 0 {
		t.Fatal("exit code 0 for a rejected token")
	}
	if all := err.Error() + stdout.String() + stderr.String(); strings.Contains(all, "SECRET-token-value") {
		t.Fatalf("the token leaked:\n%s", all)
	}
}

// A config file others can read and that holds a secret gets one warning
// naming the keys, never the values.
func TestRunWarnsAboutAWorldReadableConfigWithSecrets(t *testing.T) {
	const token = "s3cr3t-admin-token-value"
	path := filepath.Join(t.TempDir(), "kefu.yaml")
	if err := os.WriteFile(path, []byte("http:\n  admin_token: \""+token+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"kefu", "run", "--config", path}, env(testEnv(t)), strings.NewReader(""), &stdout, &stderr)
	}()
	waitForURL(t, &stdout)
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
	logs := stderr.String()
	if !strings.Contains(logs, "readable by every user") || !strings.Contains(logs, "keys=http.admin_token") {
		t.Errorf("no warning about the world-readable config in:\n%s", logs)
	}
	if strings.Contains(logs+stdout.String(), token) {
		t.Error("the secret's value was printed")
	}
}
