package models

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"gorm.io/driver/sqlite"
)

// checkpointEvery is how often the WAL is copied back into the database.
const checkpointEvery = 250 * time.Millisecond

// restartFrames is the WAL length (in pages) past which the writer is asked
// to let the WAL start over (see checkpointer).
const restartFrames = 8192 // 32 MiB of 4 KiB pages

// checkpointer moves WAL pages into the database file from its own
// connection. SQLite's automatic checkpoint runs inside the commit that
// crosses the threshold, so one turn in a thousand paid for copying and
// syncing the pages of all the others — the tail of the latency curve. A
// PASSIVE checkpoint on another connection never blocks the writer.
//
// But it never lets the WAL start over under steady load either: SQLite
// rewinds the WAL only when a write begins after every frame in it has
// been copied, and there is always a commit newer than the copy. At 1,000
// turns a second the WAL grew by 50 MB a second. So once the WAL is longer
// than restartFrames, the checkpointer raises restart, and the writer,
// between two transactions, copies the few frames the checkpointer has not
// yet (stmtCache.restartWAL); its next write then rewinds the WAL, and
// journal_size_limit cuts the file back.
type checkpointer struct {
	db      *sql.DB
	every   time.Duration
	frames  int64
	restart *atomic.Bool // read by the writer after each commit
	stop    chan struct{}
	done    chan struct{}
}

// startCheckpointer checkpoints every so often and raises restart when the
// WAL is longer than frames.
func startCheckpointer(dsn string, busy, every time.Duration, frames int64, restart *atomic.Bool) (*checkpointer, error) {
	cdb, err := sql.Open(sqlite.DriverName, sqliteDSN(dsn, busy, "deferred", false))
	if err != nil {
		return nil, fmt.Errorf("checkpointer: %w", err)
	}
	cdb.SetMaxOpenConns(1)
	c := &checkpointer{db: cdb, every: every, frames: frames, restart: restart,
		stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// Errors (busy, a fault) leave the pages in the WAL for the
			// next tick; the writer is not affected.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var busy, frames, copied int64
			err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
			cancel()
			if err == nil && frames > c.frames {
				c.restart.Store(true)
			}
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
