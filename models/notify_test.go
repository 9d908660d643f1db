package models

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models/modelstest"
)

func TestNotifierUnsupportedOnSQLite(t *testing.T) {
	db, err := Open(context.Background(), Options{DSN: t.TempDir() + "/kefu.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Notifier("web"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Notifier on SQLite = %v; want ErrUnsupported", err)
	}
}

// listening starts n's listener and returns its notices, its (re)starts
// and its failures.
func listening(t *testing.T, n *Notifier) (notices <-chan string, starts <-chan struct{}, broken <-chan error) {
	ns, st, br := make(chan string, 100), make(chan struct{}, 10), make(chan error, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Listen(ctx, ListenFuncs{Listening: func() { st <- struct{}{} }, Notice: func(p string) { ns <- p },
			Broken: func(err error) { br <- err }})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-st:
	case <-time.After(10 * time.Second):
		t.Fatal("listener never listened")
	}
	return ns, st, br
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no notice")
		return ""
	}
}

// TestNotifier: notices reach every process's listener on the same
// database and schema, and no other; a listener whose connection is killed
// reconnects and says so; a quiet listener keeps listening.
func TestNotifier(t *testing.T) {
	if modelstest.Driver() != DriverPostgres {
		t.Skip("PostgreSQL only: runs in the PostgreSQL pass (set " + modelstest.EnvPostgresDSN + ")")
	}
	ctx := context.Background()
	open := func(dsn string) *DB {
		db, err := Open(ctx, Options{Driver: DriverPostgres, DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dsn := modelstest.PostgresDSN(t)
	a, b, other := open(dsn), open(dsn), open(modelstest.PostgresDSN(t))
	na, _ := a.Notifier("web")
	na.idle = 200 * time.Millisecond // exercise the quiet-connection check
	nb, _ := b.Notifier("web")
	no, _ := other.Notifier("web")
	inA, startsA, brokenA := listening(t, na)
	inB, _, _ := listening(t, nb)
	inOther, _, _ := listening(t, no)

	time.Sleep(500 * time.Millisecond) // a few idle checks pass
	if err := nb.Notify(ctx, `{"k":"out","id":7}`); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, inA); got != `{"k":"out","id":7}` {
		t.Errorf("A got %q", got)
	}
	if got := recv(t, inB); got != `{"k":"out","id":7}` {
		t.Errorf("the sender's own listener got %q", got)
	}
	select {
	case got := <-inOther:
		t.Errorf("a listener on another schema got %q", got)
	case <-time.After(300 * time.Millisecond):
	}
	if err := na.Notify(ctx, strings.Repeat("x", MaxNotice+1)); err == nil {
		t.Error("an oversized notice was sent")
	}

	// Kill A's listening connection, as a failover or a network cut would.
	ch, _ := na.Channel(ctx)
	var killed int
	if err := b.write.Raw(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = ?`,
		"kefu listen "+ch).Scan(&killed).Error; err != nil {
		t.Fatal(err)
	}
	if killed != 2 { // A's and B's
		t.Fatalf("terminated %d listeners; want 2", killed)
	}
	select {
	case err := <-brokenA:
		if err == nil {
			t.Error("Broken got nil")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the dropped connection was not noticed")
	}
	select {
	case <-startsA:
	case <-time.After(10 * time.Second):
		t.Fatal("the listener did not reconnect")
	}
	if err := nb.Notify(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, inA); got != "after" {
		t.Errorf("after reconnecting, A got %q", got)
	}
}
