package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestRowCacheStaysTrue changes the cached rows every way kefu or anyone
// else can — hand-written SQL, GORM, cascades, rollbacks, another
// process — and after each change compares what the writer's cached reads
// answer with what the database holds, inside the transaction and after
// it.
func TestRowCacheStaysTrue(t *testing.T) {
	ctx := context.Background()
	db, path := openSQLiteFile(t)
	other, err := sql.Open("sqlite3", sqliteDSN(path, 5*time.Second, "immediate", false))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	const chat, ref = "c1", "A-1"
	var custID, convID, identID uint64
	write := func(fn func(s *Store) error) error { return db.Write(ctx, fn) }
	mustWrite := func(t *testing.T, fn func(s *Store) error) {
		t.Helper()
		if err := write(fn); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, func(s *Store) error {
		cust, id, _, err := s.ResolveIdentity(ctx, Contact{Channel: "tg", ExternalID: chat, Name: "Li", Language: "zh"})
		if err != nil {
			return err
		}
		custID, identID = cust.ID, id.ID
		c, err := s.Conversation(ctx, "tg", chat, KindCustomer, &cust.ID)
		if err != nil {
			return err
		}
		convID = c.ID
		return s.q(ctx).Create(&Order{Ref: ref, CustomerID: cust.ID, Status: "paid", Phone: "13800001234",
			Items: []OrderItem{{Name: "tea", Qty: 2}}, PlacedAt: s.Now()}).Error
	})

	// compare reads everything the cache holds through s, and again with
	// the cache bypassed, and says where they differ.
	compare := func(t *testing.T, s *Store) {
		t.Helper()
		direct := *s
		direct.rows = nil
		since := s.Now().Add(-time.Hour)
		for _, src := range []*Store{s, s} { // the second pass is answered from memory
			for _, read := range []struct {
				name string
				fn   func(*Store) (any, error)
			}{
				{"identity", func(s *Store) (any, error) { return s.identityByExternal(ctx, "tg", chat) }},
				{"conversation", func(s *Store) (any, error) { return s.FindConversation(ctx, "tg", chat) }},
				{"order", func(s *Store) (any, error) { return s.OrderByRef(ctx, ref) }},
				{"missing order", func(s *Store) (any, error) { return s.OrderByRef(ctx, "B-2") }},
				{"identity attempts", func(s *Store) (any, error) { return s.FailedVerifyAttempts(ctx, identID, since, 3) }},
				{"order attempts", func(s *Store) (any, error) { return s.FailedOrderVerifications(ctx, ref, since, 5) }},
			} {
				got, gerr := read.fn(src)
				want, werr := read.fn(&direct)
				if !reflect.DeepEqual(got, want) || !sameErr(gerr, werr) {
					t.Errorf("%s: the cache answers\n  %+v (%v)\nthe database holds\n  %+v (%v)", read.name, got, gerr, want, werr)
				}
			}
		}
	}
	// step runs change in a transaction, comparing before it commits (or
	// rolls back) and after.
	step := func(t *testing.T, change func(s *Store) error) {
		t.Helper()
		mustWrite(t, func(s *Store) error { compare(t, s); return nil }) // cache filled
		_ = write(func(s *Store) error {
			err := change(s)
			compare(t, s)
			return err
		})
		mustWrite(t, func(s *Store) error { compare(t, s); return nil })
	}
	errRollback := errors.New("roll back")

	for _, tc := range []struct {
		name   string
		change func(s *Store) error
	}{
		{"a turn saves the conversation", func(s *Store) error {
			c, err := s.FindConversation(ctx, "tg", chat)
			if err != nil {
				return err
			}
			c.Flow, c.Step, c.Slots = "order", "verify", Slots{"order": ref}
			c.LastActivityAt = s.Now()
			return s.SaveConversation(ctx, c)
		}},
		{"GORM changes a column the turn does not save", func(s *Store) error {
			if err := s.q(ctx).Model(&Conversation{}).Where("id = ?", convID).Update("kind", KindStaff).Error; err != nil {
				return err
			}
			// and a turn that read the conversation before saves it after
			c, err := s.FindConversation(ctx, "tg", chat)
			if err != nil {
				return err
			}
			return s.SaveConversation(ctx, c)
		}},
		{"a save after a change it did not read", func(s *Store) error {
			c, err := s.FindConversation(ctx, "tg", chat)
			if err != nil {
				return err
			}
			if _, err := s.execSQL(ctx, "UPDATE conversations SET customer_id = NULL WHERE id = ?", convID); err != nil {
				return err
			}
			c.Step = "ask"
			return s.SaveConversation(ctx, c)
		}},
		{"the customer changes language", func(s *Store) error { return s.SetCustomerLanguage(ctx, custID, "en") }},
		{"the identity is verified", func(s *Store) error {
			return s.q(ctx).Model(&Identity{}).Where("id = ?", identID).Update("verified", true).Error
		}},
		{"a failed verification", func(s *Store) error { return s.RecordVerifyAttempt(ctx, identID, ref, false) }},
		{"the order ships", func(s *Store) error {
			return s.q(ctx).Model(&Order{}).Where("ref = ?", ref).Updates(map[string]any{"status": "shipped", "tracking_no": "SF1"}).Error
		}},
		{"the missing order arrives", func(s *Store) error {
			return s.q(ctx).Create(&Order{Ref: "B-2", CustomerID: custID, Status: "paid", PlacedAt: s.Now()}).Error
		}},
		{"a savepoint rolls back what was read inside it", func(s *Store) error {
			err := s.Savepoint(ctx, "handler", func() error {
				if _, err := s.execSQL(ctx, "UPDATE conversations SET step = 'lost' WHERE id = ?", convID); err != nil {
					return err
				}
				if _, err := s.execSQL(ctx, "UPDATE customers SET name = 'lost' WHERE id = ?", custID); err != nil {
					return err
				}
				if err := s.RecordVerifyAttempt(ctx, identID, ref, false); err != nil {
					return err
				}
				compare(t, s)
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				return err
			}
			return nil
		}},
		{"the transaction rolls back what was read inside it", func(s *Store) error {
			if _, err := s.execSQL(ctx, "UPDATE conversations SET step = 'lost' WHERE id = ?", convID); err != nil {
				return err
			}
			if _, err := s.execSQL(ctx, "UPDATE identities SET display_name = 'lost' WHERE id = ?", identID); err != nil {
				return err
			}
			compare(t, s)
			return errRollback
		}},
		{"a failing statement", func(s *Store) error {
			_, err := s.execSQL(ctx, "UPDATE conversations SET step = 'x', no_such_column = 1 WHERE id = ?", convID)
			return err
		}},
		{"REPLACE swaps the conversation's row", func(s *Store) error {
			_, err := s.execSQL(ctx, `INSERT OR REPLACE INTO conversations (channel, chat_id, kind, mode, step, slots)
				VALUES ('tg', ?, 'customer', 'bot', 'replaced', '{}')`, chat)
			return err
		}},
		{"DELETE without WHERE (SQLite truncates without the update hook)", func(s *Store) error {
			if _, err := s.execSQL(ctx, "DELETE FROM verify_attempts"); err != nil {
				return err
			}
			_, err := s.execSQL(ctx, "DELETE FROM orders")
			return err
		}},
		{"another process changes every table", func(s *Store) error {
			for _, q := range []string{
				"UPDATE conversations SET step = 'other' WHERE chat_id = 'c1'",
				"UPDATE customers SET name = 'other'",
				"UPDATE identities SET display_name = 'other'",
				"UPDATE orders SET status = 'other'",
				"UPDATE verify_attempts SET ok = true",
			} {
				if _, err := other.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		}},
		{"the customer is forgotten (cascade)", func(s *Store) error {
			if _, err := s.execSQL(ctx, "UPDATE conversations SET customer_id = ?", custID); err != nil {
				return err
			}
			_, err := s.execSQL(ctx, "DELETE FROM customers WHERE id = ?", custID)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The other process's change must happen between two writer
			// transactions, not inside one (it waits for the write lock).
			if tc.name == "another process changes every table" {
				mustWrite(t, func(s *Store) error { compare(t, s); return nil })
				if err := tc.change(nil); err != nil {
					t.Fatal(err)
				}
				mustWrite(t, func(s *Store) error { compare(t, s); return nil })
				return
			}
			step(t, tc.change)
		})
	}
}

func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}

// TestRowCacheAnswersFromMemory checks the cache is used at all: a row
// read once is answered again without the database.
func TestRowCacheAnswersFromMemory(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	err := db.Write(ctx, func(s *Store) error {
		cust, _, _, err := s.ResolveIdentity(ctx, Contact{Channel: "tg", ExternalID: "u1"})
		if err != nil {
			return err
		}
		if _, err := s.Conversation(ctx, "tg", "u1", KindCustomer, &cust.ID); err != nil {
			return err
		}
		if _, _, _, err := s.ResolveIdentity(ctx, Contact{Channel: "tg", ExternalID: "u1"}); err != nil {
			return err
		}
		_, err = s.FindConversation(ctx, "tg", "u1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rc := db.stmts.rows
	if _, ok := rc.identity("tg", "u1"); !ok {
		t.Error("the identity read in the last turn is not cached")
	}
	if _, ok := rc.conversation("tg", "u1"); !ok {
		t.Error("the conversation read in the last turn is not cached")
	}
	if db.Read().rows != nil {
		t.Error("the read pool uses the writer's cache, which holds uncommitted rows")
	}
}

func TestUnseenWrite(t *testing.T) {
	for q, want := range map[string]bool{
		"ROLLBACK":                           true,
		" rollback to handler":               true,
		"ROLLBACK TO SAVEPOINT sp1":          true,
		"DELETE FROM orders":                 true,
		"delete from `orders`":               true,
		"DELETE FROM orders WHERE id = 1":    false,
		"DELETE FROM t\nwhere x":             false,
		"REPLACE INTO orders VALUES (1)":     true,
		"INSERT OR REPLACE INTO t VALUES(1)": true,
		"insert or replace into t":           true,
		"INSERT INTO messages VALUES (1)":    false,
		"UPDATE conversations SET step = ''": false,
		"SELECT 1":                           false,
		"SAVEPOINT turn":                     false,
		"RELEASE turn":                       false,
	} {
		if got := unseenWrite(q); got != want {
			t.Errorf("unseenWrite(%q) = %v, want %v", q, got, want)
		}
	}
}

// TestSavepointsWaitForAWrite checks the writer issues a savepoint only
// once something inside it may write, and that GORM's own savepoints nest
// inside deferred ones.
func TestSavepointsWaitForAWrite(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	boom := errors.New("boom")
	err := db.Write(ctx, func(s *Store) error {
		return s.Savepoint(ctx, "outer", func() error {
			depth := len(s.writer.savepoints)
			if _, err := s.Setting(ctx, "x"); !errors.Is(err, ErrNotFound) {
				return err
			}
			if s.writer.savepointIssued(depth) {
				t.Error("a read issued the savepoint")
			}
			_ = s.q(ctx).Transaction(func(tx *gorm.DB) error {
				if err := tx.Create(&Setting{Key: "gorm", Value: "v"}).Error; err != nil {
					return err
				}
				return boom
			})
			if !s.writer.savepointIssued(depth) {
				t.Error("GORM's savepoint inside was issued before the outer one")
			}
			return s.SetSetting(ctx, "kept", "v")
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Read().Setting(ctx, "gorm"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GORM's rolled-back savepoint: %v, want not found", err)
	}
	if _, err := db.Read().Setting(ctx, "kept"); err != nil {
		t.Errorf("kept: %v", err)
	}
}

// TestBatchRunsWithoutSavepointsUntilAWriteFails checks the SQLite batch's
// two passes: without savepoints while nothing fails after writing (each
// fn runs once), again with savepoints when one does (those up to it run
// twice).
func TestBatchRunsWithoutSavepointsUntilAWriteFails(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		failWrote bool
		noop      bool // the failing fn runs an UPDATE that changes no row
		runs      []int
	}{
		{"a fn fails before writing", false, false, []int{1, 1, 1}},
		{"a fn fails after writing", true, false, []int{2, 2, 1}},
		{"a fn fails after an update that changed nothing", false, true, []int{1, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openSQLite(t)
			runs := make([]int, 3)
			savepoints := 0
			fns := make([]func(*Store) error, 3)
			for i := range fns {
				fns[i] = func(s *Store) error {
					runs[i]++
					savepoints = max(savepoints, len(s.writer.savepoints))
					if i == 1 && !tc.failWrote {
						if tc.noop {
							if _, err := s.execSQL(ctx, "UPDATE settings SET value = 'x' WHERE key = 'none'"); err != nil {
								return err
							}
						}
						return boom
					}
					if err := s.SetSetting(ctx, fmt.Sprint("k", i), "v"); err != nil {
						return err
					}
					if i == 1 {
						return boom
					}
					return nil
				}
			}
			errs := db.Batch(ctx, fns)
			if errs[0] != nil || !errors.Is(errs[1], boom) || errs[2] != nil {
				t.Fatalf("errs = %v", errs)
			}
			if !reflect.DeepEqual(runs, tc.runs) {
				t.Errorf("the fns ran %v times, want %v", runs, tc.runs)
			}
			if want := tc.runs[0] - 1; savepoints != want {
				t.Errorf("fns ran inside %d savepoints, want %d", savepoints, want)
			}
		})
	}
}
