package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestMain runs every test on SQLite and, with KEFU_TEST_POSTGRES_DSN, on
// PostgreSQL.
func TestMain(m *testing.M) { modelstest.Main(m) }

func mustOpen(tb testing.TB) *models.DB {
	tb.Helper()
	db, err := models.Open(context.Background(), models.Options{Driver: modelstest.Driver(), DSN: modelstest.DSN(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func ptr(s string) *string { return &s }

func TestInsertInboundDedupes(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	var first, second bool
	err := db.Write(ctx, func(s *models.Store) error {
		c, err := s.Conversation(ctx, "console", "c1", models.KindCustomer, nil)
		if err != nil {
			return err
		}
		first, err = s.InsertInbound(ctx, &models.Message{ConversationID: c.ID, Channel: "console", ChatID: "c1", ExternalID: ptr("m1"), Text: "hi"})
		if err != nil {
			return err
		}
		second, err = s.InsertInbound(ctx, &models.Message{ConversationID: c.ID, Channel: "console", ChatID: "c1", ExternalID: ptr("m1"), Text: "hi"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !first || second {
		t.Fatalf("inserted = %v, %v; want true, false", first, second)
	}
}

func TestBatchRollsBackOnlyTheFailingTurn(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		// fails[i] says whether fn i fails, and whether it wrote first.
		fails []string // "", "after writing", "before writing"
	}{
		{"one fails after writing", []string{"", "after writing", ""}},
		{"one fails before writing", []string{"", "before writing", ""}},
		{"the first and the last fail after writing", []string{"after writing", "", "", "after writing"}},
		{"both kinds", []string{"before writing", "after writing", "", "before writing"}},
		{"all fail", []string{"after writing", "before writing", "after writing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpen(t)
			ctx := context.Background()
			fns := make([]func(*models.Store) error, len(tc.fails))
			for i, fail := range tc.fails {
				fns[i] = func(s *models.Store) error {
					if fail == "before writing" {
						return boom
					}
					if _, err := s.Conversation(ctx, "console", fmt.Sprint("chat", i), models.KindCustomer, nil); err != nil {
						return err
					}
					if fail != "" {
						return boom
					}
					return nil
				}
			}
			errs := db.Batch(ctx, fns)
			for i, fail := range tc.fails {
				if (fail != "") != errors.Is(errs[i], boom) || fail == "" && errs[i] != nil {
					t.Errorf("fn %d (fails %q): %v", i, fail, errs[i])
				}
				_, err := db.Read().FindConversation(ctx, "console", fmt.Sprint("chat", i))
				if exists := err == nil; exists != (fail == "") {
					t.Errorf("fn %d (fails %q): its conversation exists = %v (%v)", i, fail, exists, err)
				}
			}
		})
	}
}

func TestReadStoreRefusesWrites(t *testing.T) {
	db := mustOpen(t)
	if err := db.Read().SetSetting(context.Background(), "k", "v"); err == nil {
		t.Fatal("write through the read pool succeeded; want an error")
	}
}

func TestConcurrentWritesNeverLock(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				errs <- db.Write(ctx, func(s *models.Store) error {
					_, _, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: "console", ExternalID: fmt.Sprintf("u%d-%d", g, i)})
					return err
				})
				if _, err := db.Read().CountPending(ctx); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseTicketRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		id   uint64
		okay bool
	}{
		{"T-1042", 42, true}, {"t1042", 42, true}, {"#1001", 1, true}, {"1001", 1, true},
		{"T-999", 0, false}, {"T-", 0, false}, {"abc", 0, false}, {"T-1042x", 0, false},
	} {
		id, ok := models.ParseTicketRef(tc.in)
		if id != tc.id || ok != tc.okay {
			t.Errorf("ParseTicketRef(%q) = %d, %v; want %d, %v", tc.in, id, ok, tc.id, tc.okay)
		}
	}
	if got := models.TicketRef(42); got != "T-1042" {
		t.Errorf("TicketRef(42) = %q; want T-1042", got)
	}
}

// TestSavepoints checks what a failing savepoint undoes, nested, and when
// nothing inside it wrote (the SQLite writer then never issues it).
func TestSavepoints(t *testing.T) {
	boom := errors.New("boom")
	set := func(ctx context.Context, s *models.Store, k string) error { return s.SetSetting(ctx, k, "v") }
	for _, tc := range []struct {
		name string
		fn   func(ctx context.Context, s *models.Store) error
		kept []string
		gone []string
	}{
		{"the inner savepoint fails", func(ctx context.Context, s *models.Store) error {
			return s.Savepoint(ctx, "sp_outer", func() error {
				if err := set(ctx, s, "a"); err != nil {
					return err
				}
				if err := s.Savepoint(ctx, "sp_inner", func() error { _ = set(ctx, s, "b"); return boom }); !errors.Is(err, boom) {
					return fmt.Errorf("inner: %v", err)
				}
				return nil
			})
		}, []string{"a"}, []string{"b"}},
		{"the outer savepoint fails after the inner one kept its write", func(ctx context.Context, s *models.Store) error {
			err := s.Savepoint(ctx, "sp_outer", func() error {
				if err := s.Savepoint(ctx, "sp_inner", func() error { return set(ctx, s, "b") }); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				return fmt.Errorf("outer: %v", err)
			}
			return set(ctx, s, "c")
		}, []string{"c"}, []string{"b"}},
		{"a savepoint that only read fails", func(ctx context.Context, s *models.Store) error {
			err := s.Savepoint(ctx, "reader", func() error {
				if _, err := s.Setting(ctx, "nothing"); !errors.Is(err, models.ErrNotFound) {
					return fmt.Errorf("read: %v", err)
				}
				return boom
			})
			if !errors.Is(err, boom) {
				return fmt.Errorf("reader: %v", err)
			}
			return set(ctx, s, "d")
		}, []string{"d"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpen(t)
			ctx := context.Background()
			if err := db.Write(ctx, func(s *models.Store) error { return tc.fn(ctx, s) }); err != nil {
				t.Fatal(err)
			}
			for _, k := range tc.kept {
				if _, err := db.Read().Setting(ctx, k); err != nil {
					t.Errorf("%s: %v, want it kept", k, err)
				}
			}
			for _, k := range tc.gone {
				if _, err := db.Read().Setting(ctx, k); !errors.Is(err, models.ErrNotFound) {
					t.Errorf("%s: %v, want it rolled back", k, err)
				}
			}
		})
	}
}
