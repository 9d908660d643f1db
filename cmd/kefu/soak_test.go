package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // to read the soaked database directly

	"github.com/kefu-bot/kefu/models"
)

// TestCrashSoak kills a real `kefu run` with SIGKILL at random moments
// while customers write to it over (fake) Telegram, restarts it each time,
// and then checks the database and what Telegram received: every update
// stored once, every reply sent and recorded, replies in order per chat,
// and the database intact.
//
// KEFU_SOAK_KILLS sets the number of kills (default 4, quick enough for
// every test run); the soak proper is
//
//	KEFU_SOAK_KILLS=100 go test ./cmd/kefu -run CrashSoak -v -timeout 30m
//
// Telegram has no idempotency key, so a kill after Telegram accepted a
// message and before kefu recorded it makes that one message go out again
// after the restart. The test counts those repeats separately (each must be
// an immediate repeat of a recorded reply, at most a few per kill) instead
// of hiding them; everything else must hold exactly.
//
// SQLite only: it checks the killed file with PRAGMA integrity_check and
// reads it directly; kills on PostgreSQL are TestReplicasOnePostgres's.
func TestCrashSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	sqliteOnly(t)
	kills := 4
	if v := os.Getenv("KEFU_SOAK_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("KEFU_SOAK_KILLS=%q: want a count", v)
		}
		kills = n
	}
	const chats = 12
	fake := &fakeTelegram{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dbPath := filepath.Join(t.TempDir(), "kefu.db")
	env := append(os.Environ(), "KEFU_TEST_AS_MAIN=1", "KEFU_DATABASE_DSN="+dbPath, "KEFU_HTTP_ADDR=127.0.0.1:0",
		"KEFU_TELEGRAM_TOKEN=123456:soak-token", "KEFU_TELEGRAM_API_ENDPOINT="+srv.URL+"/bot%s/%s",
		"KEFU_TELEGRAM_POLL_TIMEOUT=1s", "KEFU_DEMO_SEED=false", "KEFU_LOG_LEVEL=warn")
	start := func() (*exec.Cmd, *syncBuffer) {
		cmd := exec.Command(os.Args[0], "run")
		cmd.Env = env
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, out
	}

	// Customers write all along: one message per chat about every 1.5 s,
	// within Telegram's one reply a second per private chat.
	var pushed atomic.Int64
	ctx, stopLoad := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		for i := 0; ctx.Err() == nil; i++ {
			chat := int64(5000 + i%chats)
			fake.push(tgMessage(chat, chat, "C"+strconv.Itoa(i%chats), "hello", 0))
			pushed.Add(1)
			select {
			case <-ctx.Done():
			case <-time.After(1500 * time.Millisecond / chats):
			}
		}
	}()

	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	began := time.Now()
	for k := range kills {
		cmd, out := start()
		time.Sleep(time.Duration(150+r.IntN(600)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v\n%s", k, err, out.String())
		}
		if err := cmd.Wait(); err == nil || err.Error() != "signal: killed" {
			t.Fatalf("run %d ended with %v before it was killed\n%s", k, err, out.String())
		}
	}
	stopLoad()
	<-loadDone

	// A last run, left to finish: every update handled, every reply out.
	cmd, out := start()
	waitForURL(t, out) // up, with its signal handler in place
	deadline := time.Now().Add(time.Minute)
	for {
		handled, pending := soakProgress(t, dbPath)
		if handled == int(pushed.Load()) && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("after a minute: %d of %d updates handled, %d replies pending\n%s", handled, pushed.Load(), pending, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("last run: %v\n%s", err, out.String())
	}

	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	var inbound, distinct int
	db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT external_id) FROM messages WHERE direction = 'in'`).Scan(&inbound, &distinct)
	if inbound != int(pushed.Load()) || distinct != inbound {
		t.Errorf("stored %d inbound messages (%d distinct) for %d updates; want each once", inbound, distinct, pushed.Load())
	}
	repeats := 0
	for c := range chats {
		chat := int64(5000 + c)
		rows, err := db.Query(`SELECT text, status FROM messages WHERE direction = 'out' AND chat_id = ? ORDER BY id`, strconv.FormatInt(chat, 10))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for rows.Next() {
			var text, status string
			rows.Scan(&text, &status)
			if status != models.StatusSent {
				t.Errorf("chat %d: a reply is %s", chat, status)
			}
			want = append(want, text)
		}
		rows.Close()
		var got []string
		for _, m := range fake.messages(chat, "") {
			got = append(got, m.Text)
		}
		n, err := soakCompare(want, got)
		if err != nil {
			t.Errorf("chat %d: %v", chat, err)
		}
		repeats += n
	}
	var replies int
	db.QueryRow(`SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status = 'sent'`).Scan(&replies)
	t.Logf("%d kills in %s; %d updates, %d replies; %d replies repeated by a kill between send and record",
		kills, time.Since(began).Round(time.Second), pushed.Load(), replies, repeats)
	if repeats > 4*kills {
		t.Errorf("%d repeated replies for %d kills; want at most the sends in flight at each kill", repeats, kills)
	}
}

// soakProgress reads how many inbound messages are stored and how many
// replies are pending.
func soakProgress(t *testing.T, path string) (handled, pending int) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.QueryRow(`SELECT COUNT(*) FROM messages WHERE direction = 'in'`).Scan(&handled)
	db.QueryRow(`SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status = 'pending'`).Scan(&pending)
	return handled, pending
}

// soakCompare checks that got (what Telegram received) is want (the
// recorded replies) in order, where a reply may appear twice in a row (sent,
// then killed before it was recorded). It returns the number of repeats.
func soakCompare(want, got []string) (repeats int, err error) {
	i := 0
	for j, g := range got {
		switch {
		case i < len(want) && g == want[i]:
			i++
		case i > 0 && g == want[i-1]:
			repeats++
		default:
			return repeats, fmt.Errorf("message %d received %q; want reply %d of %d in order", j, g, i, len(want))
		}
	}
	if i != len(want) {
		return repeats, fmt.Errorf("%d of %d replies received", i, len(want))
	}
	return repeats, nil
}
