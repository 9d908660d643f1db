package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/driver/sqlite"
)

// checkpointEvery is how often the WAL is copied back into the database.
const checkpointEvery = 250 * time.Millisecond

// checkpointer moves WAL pages into the database file from its own
// connection. SQLite's automatic checkpoint runs inside the commit that
// crosses the threshold, so one turn in a thousand paid for copying and
// syncing the pages of all the others — the tail of the latency curve. A
// PASSIVE checkpoint on another connection never blocks the writer.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

func startCheckpointer(dsn string, busy time.Duration) (*checkpointer, error) {
	cdb, err := sql.Open(sqlite.DriverName, sqliteDSN(dsn, busy, "deferred", false))
	if err != nil {
		return nil, fmt.Errorf("checkpointer: %w", err)
	}
	cdb.SetMaxOpenConns(1)
	c := &checkpointer{db: cdb, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// Errors (busy, a fault) leave the pages in the WAL for the
			// next tick; the writer is not affected.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _ = c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
			cancel()
		}
	}
}

// close stops the loop, then checkpoints what is left.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	_, _ = c.db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
	return c.db.Close()
}

// Checkpoint copies the whole WAL into the database file and truncates it,
// waiting for readers if it must. kefu bench calls it after prefilling, so a
// run starts from a database that has settled, as a shop's has, instead of
// one whose history is still being copied out of the WAL under the load.
// On PostgreSQL it does nothing.
func (db *DB) Checkpoint(ctx context.Context) error {
	if db.ckpt == nil {
		return nil
	}
	if _, err := db.ckpt.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
