package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestStorageFaults: with the disk full (SQLite's page limit reached) or
// the database read-only, every turn of a batch fails with ErrStorage and a
// message that says which, nothing of it is stored, and once the fault ends
// the same work commits.
//
// SQLite only (the faults are PRAGMAs on a SQLite file); PostgreSQL's is
// TestStorageFaultsPostgres.
func TestStorageFaults(t *testing.T) {
	if modelstest.Driver() != DriverSQLite {
		t.Skip("SQLite's faults, made with PRAGMAs; ran in the SQLite run")
	}
	for _, c := range []struct {
		name, want string
		fault      func(s *Store) error
		lift       string // run outside a transaction: a read-only connection cannot begin one
	}{
		{"disk full", "full", func(s *Store) error {
			var pages int
			if err := s.scanOne(context.Background(), "PRAGMA page_count", nil, &pages); err != nil {
				return err
			}
			return s.exec(context.Background(), fmt.Sprintf("PRAGMA max_page_count = %d", pages))
		}, "PRAGMA max_page_count = 1073741823"},
		{"read-only", "readonly", func(s *Store) error {
			return s.exec(context.Background(), "PRAGMA query_only = 1")
		}, "PRAGMA query_only = 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			db := openSQLite(t)
			var conv *Conversation
			if err := db.Write(ctx, func(s *Store) (err error) {
				conv, err = s.Conversation(ctx, "web", "c1", KindCustomer, nil)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if err := db.Write(ctx, c.fault); err != nil {
				t.Fatal(err)
			}
			n := 0
			work := func() []func(*Store) error { return inserts(conv.ID, strings.Repeat("many words ", 2000), &n) }
			for i, err := range db.Batch(ctx, work()) {
				if !errors.Is(err, ErrStorage) && !errors.Is(err, ErrCommit) {
					t.Errorf("turn %d during the fault: %v; want ErrStorage or ErrCommit", i, err)
				} else if !strings.Contains(err.Error(), c.want) {
					t.Errorf("turn %d: %q does not say %q", i, err, c.want)
				} else if i == 0 {
					t.Logf("during the fault: %v", err)
				}
			}
			if got := stored(t, db); got != 0 {
				t.Errorf("%d messages stored during the fault; want 0", got)
			}
			if _, err := db.stmts.ExecContext(ctx, c.lift); err != nil {
				t.Fatal(err)
			}
			for i, err := range db.Batch(ctx, work()) {
				if err != nil {
					t.Errorf("turn %d after the fault: %v", i, err)
				}
			}
			if got := stored(t, db); got != 3 {
				t.Errorf("%d messages stored after the fault; want 3", got)
			}
		})
	}
}

func stored(t *testing.T, db *DB) int {
	t.Helper()
	var n int64
	if err := db.read.Model(&Message{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// inserts is a batch of three turns, each storing one inbound message with
// text in conversation conv (web chat c1); *n numbers them across calls.
func inserts(conv uint64, text string, n *int) []func(*Store) error {
	var fns []func(*Store) error
	for range 3 {
		*n++
		ext := fmt.Sprint("m", *n)
		fns = append(fns, func(s *Store) error {
			_, err := s.InsertInbound(context.Background(), &Message{ConversationID: conv, Channel: "web", ChatID: "c1",
				ExternalID: &ext, Text: text})
			return err
		})
	}
	return fns
}
