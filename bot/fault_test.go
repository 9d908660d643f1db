package bot_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"

	_ "github.com/mattn/go-sqlite3" // a second process's connection, holding the lock
)

// TestDatabaseFaultAndRecovery: while another process holds the database's
// write lock (as a stuck backup or a full disk would stop writes), a turn
// fails cleanly — nothing stored, the update not acknowledged, the health
// signal red — and once the fault ends the redelivered update is handled
// and health is green again.
func TestDatabaseFaultAndRecovery(t *testing.T) {
	if modelstest.Driver() != "sqlite" {
		t.Skip("holds SQLite's file write lock; PostgreSQL has none")
	}
	path := filepath.Join(t.TempDir(), "kefu.db")
	e := newEngine(t, path+"?_busy_timeout=100", nil, nil)
	ctx := context.Background()
	if _, err := e.Handle(ctx, msg("c1", "u1", "hi")); err != nil {
		t.Fatal(err)
	}

	other, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=100")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	res, err := e.Handle(ctx, msg("c1", "u2", "are you there?"))
	if err == nil {
		t.Fatalf("Handle during the fault = %+v, nil; want an error so the platform redelivers", res)
	}
	if e.writer.Err() == nil {
		t.Error("writer reports healthy during the fault")
	}
	if n := counts(t, e.db)["in/received"]; n != 1 {
		t.Errorf("%d inbound messages stored during the fault; want only the first", n)
	}

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	res, err = e.Handle(ctx, msg("c1", "u2", "are you there?"))
	if err != nil || res.Duplicate || res.Replies != 1 {
		t.Fatalf("redelivered update after the fault = %+v, %v; want handled once", res, err)
	}
	if err := e.writer.Err(); err != nil {
		t.Errorf("writer still unhealthy after recovery: %v", err)
	}
}

// TestWriterHealthFollowsStorageFaults: a turn the database refuses to
// store (disk full, read-only: models.ErrStorage, see models'
// TestStorageFaults) turns the writer's health red even though the batch
// itself ended cleanly; the next batch that stores turns it green.
func TestWriterHealthFollowsStorageFaults(t *testing.T) {
	e := newEngine(t, "", nil, nil)
	ctx := context.Background()
	full := fmt.Errorf("insert inbound message: %w", models.ErrStorage)
	if err := e.writer.Do(ctx, func(*models.Store) error { return full }); !errors.Is(err, models.ErrStorage) {
		t.Fatalf("Do = %v; want the storage error", err)
	}
	if e.writer.Err() == nil {
		t.Error("writer reports healthy while the database stores nothing")
	}
	if err := e.writer.Do(ctx, func(s *models.Store) error { return s.SetSetting(ctx, "k", "v") }); err != nil {
		t.Fatal(err)
	}
	if err := e.writer.Err(); err != nil {
		t.Errorf("writer still unhealthy after a batch stored: %v", err)
	}
	// A turn refused for its own reasons says nothing about the database.
	if err := e.writer.Do(ctx, func(*models.Store) error { return models.ErrConflict }); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("Do = %v; want the conflict", err)
	}
	if err := e.writer.Err(); err != nil {
		t.Errorf("a refused turn made the writer unhealthy: %v", err)
	}
}
