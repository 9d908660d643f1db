package models

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkResolveIdentity looks up known customers inside a write
// transaction, as every turn does.
func BenchmarkResolveIdentity(b *testing.B) {
	ctx := context.Background()
	db := openSQLite(b)
	if err := db.Prefill(ctx, "bench", 2000, 0); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	const perTx = 64
	for i := 0; i < b.N; i += perTx {
		err := db.Write(ctx, func(s *Store) error {
			for j := i; j < min(i+perTx, b.N); j++ {
				if _, _, _, err := s.ResolveIdentity(ctx, Contact{Channel: "bench", ExternalID: fmt.Sprintf("prefill-%d", j%2000)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTurnWrites is the writes of one turn — the inbound message,
// one reply, the conversation's state — 64 turns a transaction.
func BenchmarkTurnWrites(b *testing.B) {
	ctx := context.Background()
	db := openSQLite(b)
	var conv *Conversation
	if err := db.Write(ctx, func(s *Store) (err error) {
		conv, err = s.Conversation(ctx, "bench", "c1", KindCustomer, nil)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 64 {
		err := db.Write(ctx, func(s *Store) error {
			for j := i; j < min(i+64, b.N); j++ {
				ext := fmt.Sprint("m", j)
				in := &Message{ConversationID: conv.ID, Channel: "bench", ChatID: "c1", ExternalID: &ext, Text: "where is my order"}
				if _, err := s.InsertInbound(ctx, in); err != nil {
					return err
				}
				out := []*Message{{ConversationID: conv.ID, Channel: "bench", ChatID: "c1", Text: "It is on its way.",
					Payload: Payload{Buttons: [][]Button{{{Label: "Track", Data: "t:1"}}}}}}
				if err := s.QueueOutbound(ctx, out); err != nil {
					return err
				}
				conv.Step = fmt.Sprint(j)
				if err := s.SaveConversation(ctx, conv); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// openSQLite opens a fresh SQLite database for the package's own tests,
// closed when tb ends. (The tests of models_test use modelstest and run on
// PostgreSQL too; these look inside the SQLite writer.)
func openSQLite(tb testing.TB) *DB {
	db, _ := openSQLiteFile(tb)
	return db
}

// openSQLiteFile is openSQLite for tests that reach the file itself too
// (another connection, the WAL): it returns the path.
func openSQLiteFile(tb testing.TB) (*DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "kefu.db")
	db, err := Open(context.Background(), Options{DSN: path})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, path
}
