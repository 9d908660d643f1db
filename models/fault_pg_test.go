package models

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestStorageFaultsPostgres: a PostgreSQL that takes no writes (a standby
// after a failover went the wrong way, or default_transaction_read_only)
// fails every turn of a batch with ErrStorage saying so, stores nothing,
// and the same work commits on a server that takes writes. (The disk-full
// and read-only faults of SQLite, made with PRAGMAs, are TestStorageFaults.)
func TestStorageFaultsPostgres(t *testing.T) {
	if modelstest.Driver() != DriverPostgres {
		t.Skip("PostgreSQL's read-only fault; SQLite's faults are TestStorageFaults")
	}
	ctx := context.Background()
	dsn := modelstest.DSN(t)
	db, err := Open(ctx, Options{Driver: DriverPostgres, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var conv *Conversation
	if err := db.Write(ctx, func(s *Store) (err error) {
		conv, err = s.Conversation(ctx, "web", "c1", KindCustomer, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// The same schema through connections that may not write.
	ro, err := Open(ctx, Options{Driver: DriverPostgres, DSN: modelstest.WithParam(dsn, "default_transaction_read_only", "on")})
	if err != nil {
		t.Fatalf("open a migrated database read-only: %v", err)
	}
	defer ro.Close()
	n := 0
	work := func() []func(*Store) error { return inserts(conv.ID, "hello", &n) }
	for i, err := range ro.Batch(ctx, work()) {
		if !errors.Is(err, ErrStorage) && !errors.Is(err, ErrCommit) {
			t.Errorf("turn %d on a read-only server: %v; want ErrStorage or ErrCommit", i, err)
		} else if !strings.Contains(err.Error(), "read-only") {
			t.Errorf("turn %d: %q does not say read-only", i, err)
		} else if i == 0 {
			t.Logf("read-only: %v", err)
		}
	}
	if got := stored(t, db); got != 0 {
		t.Errorf("%d messages stored by the read-only server; want 0", got)
	}
	for i, err := range db.Batch(ctx, work()) {
		if err != nil {
			t.Errorf("turn %d on a server that writes: %v", i, err)
		}
	}
	if got := stored(t, db); got != 3 {
		t.Errorf("%d messages stored; want 3", got)
	}
}
