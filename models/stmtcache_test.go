package models

import (
	"context"
	"database/sql/driver"
	"errors"
	"testing"

	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestStmtCacheLearnsBetweenTransactions: a statement is prepared on the
// writer connection at first use and reused by the next transactions,
// rolled back or committed, with the same results.
func TestStmtCacheLearnsBetweenTransactions(t *testing.T) {
	if modelstest.Driver() != DriverSQLite {
		t.Skip("the statement cache is SQLite's; pgx caches statements itself")
	}
	ctx := context.Background()
	db := openSQLite(t)
	cached := func() int {
		db.stmts.mu.Lock()
		defer db.stmts.mu.Unlock()
		return len(db.stmts.stmts)
	}
	set := func(v string, fail bool) error {
		return db.Write(ctx, func(s *Store) error {
			if err := s.SetSetting(ctx, "k", v); err != nil {
				return err
			}
			if fail {
				return errors.New("roll back")
			}
			return nil
		})
	}
	if err := set("1", false); err != nil {
		t.Fatal(err)
	}
	learned := cached()
	if learned == 0 {
		t.Fatal("no statement prepared after a transaction")
	}
	for i, v := range []string{"2", "3", "4"} {
		if err := set(v, i == 1); err != nil && i != 1 {
			t.Fatal(err)
		}
	}
	if got := cached(); got != learned {
		t.Errorf("cached statements = %d after repeating the same work; want %d", got, learned)
	}
	if v, err := db.Read().Setting(ctx, "k"); err != nil || v != "4" {
		t.Errorf("setting = %q, %v; want 4 (the rolled-back 3 never landed, 4 did)", v, err)
	}
}

// TestWriterReplacesABrokenConnection: should database/sql give up on the
// writer's held connection, the next write takes a fresh one, with the
// per-connection pragmas, instead of failing until a restart.
func TestWriterReplacesABrokenConnection(t *testing.T) {
	if modelstest.Driver() != DriverSQLite {
		t.Skip("the held writer connection is SQLite's")
	}
	ctx := context.Background()
	db := openSQLite(t)
	if err := db.Write(ctx, func(s *Store) error { return s.SetSetting(ctx, "k", "1") }); err != nil {
		t.Fatal(err)
	}
	autocheckpoint := func() int {
		var n int
		if err := db.Write(ctx, func(s *Store) error { return s.scanOne(ctx, "PRAGMA wal_autocheckpoint", nil, &n) }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := autocheckpoint(); n != 0 {
		t.Errorf("wal_autocheckpoint on the first connection = %d; want 0", n)
	}
	old := db.stmts.conn
	// What database/sql does with a connection the driver calls bad.
	_ = old.Raw(func(any) error { return driver.ErrBadConn })
	err := db.Write(ctx, func(s *Store) error { return s.SetSetting(ctx, "k", "2") })
	if err == nil {
		t.Fatal("a write on the broken connection succeeded")
	}
	if err := db.Write(ctx, func(s *Store) error { return s.SetSetting(ctx, "k", "3") }); err != nil {
		t.Fatalf("the write after: %v; want a fresh connection", err)
	}
	if db.stmts.conn == old {
		t.Error("still the old connection")
	}
	if n := autocheckpoint(); n != 0 {
		t.Errorf("wal_autocheckpoint on the new connection = %d; want 0", n)
	}
	if v, err := db.Read().Setting(ctx, "k"); err != nil || v != "3" {
		t.Errorf("setting = %q, %v; want 3", v, err)
	}
	// The row cache watches the new connection as it did the old one.
	err = db.Write(ctx, func(s *Store) error {
		c, err := s.Conversation(ctx, "tg", "c1", KindCustomer, nil)
		if err != nil {
			return err
		}
		if _, err := s.FindConversation(ctx, "tg", "c1"); err != nil { // now cached
			return err
		}
		if _, err := s.execSQL(ctx, "UPDATE conversations SET step = 'changed' WHERE id = ?", int64(c.ID)); err != nil {
			return err
		}
		got, err := s.FindConversation(ctx, "tg", "c1")
		if err != nil {
			return err
		}
		if got.Step != "changed" {
			t.Errorf("after an update on the new connection the writer reads step %q; want changed", got.Step)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
