package models

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestWALStartsOverUnderSteadyLoad writes without a pause, as a sale day
// does, and checks the WAL keeps starting over instead of growing: a
// checkpoint beside the writer never catches up with it alone.
func TestWALStartsOverUnderSteadyLoad(t *testing.T) {
	ctx := context.Background()
	db, path := openSQLiteFile(t)
	// Quicker than in production, so the test is short: a checkpoint every
	// 5 ms, a restart asked for past 100 pages.
	if err := db.ckpt.close(); err != nil {
		t.Fatal(err)
	}
	ckpt, err := startCheckpointer(path, time.Second, 5*time.Millisecond, 100, &db.stmts.restartWAL)
	if err != nil {
		t.Fatal(err)
	}
	db.ckpt = ckpt
	text := strings.Repeat("x", 2000)
	const commits = 4000 // some 16,000 pages, 64 MiB of WAL if it never started over
	for i := range commits {
		err := db.Write(ctx, func(s *Store) error { return s.SetSetting(ctx, fmt.Sprintf("k%d", i), text) })
		if err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 16<<20 {
		t.Errorf("after %d commits without a pause the WAL is %.1f MiB; it should keep starting over", commits, float64(fi.Size())/(1<<20))
	}
}
