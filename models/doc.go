// Package models is kefu's domain model and its storage: the GORM models for
// customers, identities, conversations, messages (the outbox), tickets and
// scheduled jobs, and the Store that runs every query.
//
// models is the bottom layer: it imports no other kefu package. It is the only
// package that builds queries; no *gorm.DB leaves it. Callers get a *Store
// bound to a transaction (DB.Batch, DB.Write) or to the read pool (DB.Read).
//
// SQLite runs with exactly one writer connection and a separate pool of
// read-only connections, so concurrent turns never fail with "database is
// locked": writes queue in Go, not in SQLite's busy handler.
package models
