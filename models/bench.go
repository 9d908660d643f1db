package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Prefill fills the database for load tests: customers known customers on
// channel, each with an identity and a conversation, and messages stored
// messages spread over them, as a shop that has run for a while has. It
// writes in large multi-row batches.
func (db *DB) Prefill(ctx context.Context, channel string, customers, messages int) error {
	return db.PrefillWith(ctx, Prefill{Channel: channel, Customers: customers, Messages: messages})
}

// Prefill is what PrefillWith writes: customers (each with an identity and
// a conversation on Channel), stored inbound messages spread over them,
// and Pending outbound rows waiting for the dispatcher (a backlog).
type Prefill struct {
	Channel                      string
	Customers, Messages, Pending int
}

// PrefillWith writes p in batches of 2,000 rows per transaction.
func (db *DB) PrefillWith(ctx context.Context, p Prefill) error {
	channel, customers, messages := p.Channel, p.Customers, p.Messages
	if customers <= 0 {
		if messages <= 0 && p.Pending <= 0 {
			return nil
		}
		customers = 1
	}
	now := db.now().UTC()
	const batch = 2000
	convIDs := make([]uint64, 0, customers)
	for start := 0; start < customers; start += batch {
		n := min(batch, customers-start)
		err := db.Write(ctx, func(s *Store) error {
			custs := make([]*Customer, n)
			for i := range custs {
				custs[i] = &Customer{Name: fmt.Sprintf("prefill %d", start+i), Language: "en", CreatedAt: now, LastSeenAt: now}
			}
			if err := s.q(ctx).CreateInBatches(custs, 500).Error; err != nil {
				return err
			}
			ids := make([]*Identity, n)
			convs := make([]*Conversation, n)
			for i, c := range custs {
				chat := fmt.Sprintf("prefill-%d", start+i)
				ids[i] = &Identity{CustomerID: c.ID, Channel: channel, ExternalID: chat, DisplayName: c.Name, CreatedAt: now}
				convs[i] = &Conversation{Channel: channel, ChatID: chat, Kind: KindCustomer, CustomerID: &c.ID, Mode: ModeBot,
					Slots: Slots{}, LastActivityAt: now, CreatedAt: now, UpdatedAt: now}
			}
			if err := s.q(ctx).Omit("Customer").CreateInBatches(ids, 500).Error; err != nil {
				return err
			}
			if err := s.q(ctx).Omit("Customer").CreateInBatches(convs, 500).Error; err != nil {
				return err
			}
			for _, c := range convs {
				convIDs = append(convIDs, c.ID)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("prefill customers: %w", err)
		}
	}
	for start := 0; start < messages; start += batch {
		n := min(batch, messages-start)
		err := db.Write(ctx, func(s *Store) error {
			ms := make([]*Message, n)
			for i := range ms {
				k := start + i
				conv := convIDs[k%len(convIDs)]
				ext := fmt.Sprintf("prefill-%d", k)
				ms[i] = &Message{ConversationID: conv, Channel: channel, ChatID: fmt.Sprintf("prefill-%d", k%len(convIDs)),
					Direction: DirIn, ExternalID: &ext, SenderID: "prefill", Text: "where is my order 12345678",
					Status: StatusReceived, CreatedAt: now}
			}
			return s.q(ctx).CreateInBatches(ms, 400).Error
		})
		if err != nil {
			return fmt.Errorf("prefill messages: %w", err)
		}
	}
	for start := 0; start < p.Pending; start += batch {
		n := min(batch, p.Pending-start)
		err := db.Write(ctx, func(s *Store) error {
			ms := make([]*Message, n)
			for i := range ms {
				k := start + i
				ms[i] = &Message{ConversationID: convIDs[k%len(convIDs)], Channel: channel,
					ChatID: fmt.Sprintf("prefill-%d", k%len(convIDs)), Text: "Your order is on its way."}
			}
			return s.QueueOutbound(ctx, ms)
		})
		if err != nil {
			return fmt.Errorf("prefill backlog: %w", err)
		}
	}
	return nil
}

// StorageLimit measures what this machine's SQLite can store without kefu:
// raw database/sql, one connection, batch turns per transaction, each turn
// an inbound insert, an outbox insert and a conversation update (the
// writes of a kefu turn). It runs for about d in a fresh file under dir and
// returns turns per second. kefu's own figures are judged against it.
func StorageLimit(ctx context.Context, dir string, batch int, d time.Duration) (float64, error) {
	path := filepath.Join(dir, "storage-limit.db")
	for _, f := range []string{path, path + "-wal", path + "-shm"} { // an earlier measurement's
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("storage limit: %w", err)
		}
	}
	sqldb, err := sql.Open("sqlite3", sqliteDSN(path, 5*time.Second, "immediate", false))
	if err != nil {
		return 0, fmt.Errorf("storage limit: %w", err)
	}
	defer sqldb.Close()
	sqldb.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE conversations (id INTEGER PRIMARY KEY, chat_id TEXT NOT NULL UNIQUE, step TEXT, last_activity_at DATETIME)`,
		`CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL, channel TEXT NOT NULL,
			chat_id TEXT NOT NULL, direction TEXT NOT NULL, external_id TEXT, text TEXT, status TEXT NOT NULL,
			created_at DATETIME)`,
		`CREATE UNIQUE INDEX idx_message_ext ON messages(channel, external_id)`,
		`CREATE INDEX idx_message_conv ON messages(conversation_id)`,
	} {
		if _, err := sqldb.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("storage limit: %w", err)
		}
	}
	const convs = 1000
	for i := range convs {
		if _, err := sqldb.ExecContext(ctx, `INSERT INTO conversations (id, chat_id) VALUES (?, ?)`, i+1, fmt.Sprint("c", i)); err != nil {
			return 0, fmt.Errorf("storage limit: %w", err)
		}
	}
	start, n := time.Now(), 0
	for time.Since(start) < d {
		tx, err := sqldb.BeginTx(ctx, nil)
		if err != nil {
			return 0, fmt.Errorf("storage limit: %w", err)
		}
		for range batch {
			conv, now := n%convs+1, time.Now().UTC()
			_, err1 := tx.ExecContext(ctx, `INSERT INTO messages (conversation_id, channel, chat_id, direction, external_id, text, status, created_at)
				VALUES (?, 'bench', ?, 'in', ?, 'where is my order', 'received', ?)`, conv, fmt.Sprint("c", conv), fmt.Sprint("m", n), now)
			_, err2 := tx.ExecContext(ctx, `INSERT INTO messages (conversation_id, channel, chat_id, direction, text, status, created_at)
				VALUES (?, 'bench', ?, 'out', 'Your order is on its way.', 'pending', ?)`, conv, fmt.Sprint("c", conv), now)
			_, err3 := tx.ExecContext(ctx, `UPDATE conversations SET step = '', last_activity_at = ? WHERE id = ?`, now, conv)
			if err := firstErr(err1, err2, err3); err != nil {
				tx.Rollback()
				return 0, fmt.Errorf("storage limit: %w", err)
			}
			n++
		}
		if err := tx.Commit(); err != nil {
			return 0, fmt.Errorf("storage limit: %w", err)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
