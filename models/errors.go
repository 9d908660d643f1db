package models

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// Sentinel errors returned by Store methods. Callers check them with errors.Is.
var (
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the change lost a race or breaks a uniqueness rule,
	// e.g. a ticket already claimed by someone else.
	ErrConflict = errors.New("conflict")
	// ErrCommit wraps the error of a transaction that could not commit
	// (disk full, read-only file): nothing of it was stored.
	ErrCommit = errors.New("commit failed")
	// ErrStorage wraps an error of the database itself — disk full,
	// read-only, I/O — rather than of the work: nothing of that work was
	// stored, and no other work will be until the fault ends.
	ErrStorage = errors.New("the database cannot store")
)

// storageFault reports whether err is the database failing to store
// anything, as opposed to one piece of work being refused.
func storageFault(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrFull, sqlite3.ErrReadonly, sqlite3.ErrIoErr, sqlite3.ErrCorrupt, sqlite3.ErrCantOpen, sqlite3.ErrNotADB:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && len(pe.Code) == 5 {
		switch {
		case pe.Code == "25006", // read_only_sql_transaction (a standby, or default_transaction_read_only)
			pe.Code[:2] == "53", // insufficient resources: disk full, out of memory, too many connections
			pe.Code[:2] == "58": // system error: I/O
			return true
		}
	}
	return false
}
