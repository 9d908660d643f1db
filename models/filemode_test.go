package models

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A new database and its WAL are readable by their owner only; an existing
// world-readable one is reported, not changed.
func TestNewDatabaseIsPrivate(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{filepath.Join(dir, "a.db"), "file:" + filepath.Join(dir, "b.db") + "?_busy_timeout=100"} {
		db, err := Open(context.Background(), Options{DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		path := dbPath(dsn)
		for _, f := range []string{path, path + "-wal"} {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("%s: mode %o; want no access for group and others", f, perm)
			}
		}
		if ExposedDatabase(dsn) {
			t.Errorf("%s reported exposed", dsn)
		}
		db.Close()
	}
	old := filepath.Join(dir, "old.db")
	if err := os.WriteFile(old, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(old, 0o644); err != nil {
		t.Fatal(err)
	}
	if !ExposedDatabase(old) || !ExposedDatabase("file:"+old+"?x=1") {
		t.Error("a 0644 database is not reported")
	}
	if ExposedDatabase("file::memory:?cache=shared") || ExposedDatabase("file:x?mode=memory") {
		t.Error("an in-memory database reported exposed")
	}
}
