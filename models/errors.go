package models

import "errors"

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
)
