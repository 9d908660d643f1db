package bot_test

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// recorder is a Channel that records what it delivers.
type recorder struct {
	mu   sync.Mutex
	sent []*bot.Outbound
}

func (r *recorder) Name() string { return "console" }

func (r *recorder) Send(ctx context.Context, m *bot.Outbound) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, m)
	return "p" + m.Text, nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}

const crashEnv = "KEFU_TEST_CRASH_DB"

// TestCrashChild is the process that dies: it commits a turn, then is
// killed before any dispatcher could send the reply. It does nothing
// unless started by TestCrashBetweenStoreAndSend.
func TestCrashChild(t *testing.T) {
	dsn := os.Getenv(crashEnv)
	if dsn == "" {
		t.Skip("only runs as the child of TestCrashBetweenStoreAndSend")
	}
	e := newEngine(t, dsn, nil, nil)
	if _, err := e.Handle(context.Background(), msg("c1", "update-1", "where is my parcel")); err != nil {
		t.Fatal(err)
	}
	// Committed, not sent: die the hardest way, with no deferred cleanup.
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	time.Sleep(time.Minute)
}

func TestCrashBetweenStoreAndSend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dsn := modelstest.DSN(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dsn)
	out, err := cmd.CombinedOutput()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
	}

	// Restart: a new engine and dispatcher on the same file.
	e := newEngine(t, dsn, nil, nil)
	rec := &recorder{}
	d := bot.NewDispatcher(bot.DispatcherOptions{DB: e.db, Writer: e.writer, SweepInterval: 10 * time.Millisecond})
	d.AddChannel(rec, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, 5*time.Second, func() bool { return rec.count() >= 1 })
	// The platform redelivers the update the dead process never acknowledged.
	res, err := e.Handle(context.Background(), msg("c1", "update-1", "where is my parcel"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Duplicate {
		t.Fatalf("redelivered update: %+v; want Duplicate", res)
	}
	// Give sweeps time to find anything they wrongly think is pending.
	time.Sleep(100 * time.Millisecond)
	if got := rec.count(); got != 1 {
		t.Fatalf("replies sent = %d; want exactly 1", got)
	}
	if got := rec.sent[0].Text; got != "echo: where is my parcel" {
		t.Fatalf("reply = %q", got)
	}
	c := counts(t, e.db)
	if c["in/received"] != 1 || c["out/sent"] != 1 || c["out/pending"] != 0 {
		t.Fatalf("counts = %v; want 1 inbound, 1 sent, 0 pending", c)
	}
}

func waitFor(tb testing.TB, limit time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
