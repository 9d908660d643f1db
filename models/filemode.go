package models

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
)

// dbPath returns the file behind a DSN ("kefu.db", "file:kefu.db?…"), or ""
// for an in-memory database.
func dbPath(dsn string) string {
	if dsn == "" {
		dsn = "kefu.db"
	}
	base, query, _ := strings.Cut(dsn, "?")
	if q, _ := url.ParseQuery(query); q.Get("mode") == "memory" {
		return ""
	}
	base = strings.TrimPrefix(base, "file:")
	if base == "" || base == ":memory:" {
		return ""
	}
	return base
}

// createPrivate creates a missing database file readable by its owner
// only. SQLite would create it 0644, readable by every user of the
// machine; its -wal and -shm files take the database file's permissions,
// so they are private too. An existing file is left as it is (see
// ExposedDatabase).
func createPrivate(dsn string) error {
	path := dbPath(dsn)
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	return f.Close()
}

// ExposedDatabase reports whether the database file of dsn may be read by
// other users of the machine (mode o+r): it holds every customer's
// conversations. kefu run warns about it.
func ExposedDatabase(dsn string) bool {
	path := dbPath(dsn)
	if path == "" {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().Perm()&0o004 != 0
}
