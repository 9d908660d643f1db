package models

import (
	"context"
	"database/sql"
	"sync"

	"gorm.io/gorm"
)

// stmtCache is the writer's connection pool, with prepared statements.
//
// mattn/go-sqlite3 compiles every statement on every call, a fifth of a
// turn's CPU. GORM's PrepareStmt cannot help here: a statement first met
// inside a transaction is prepared on that transaction and dies with it,
// and the writer runs everything inside transactions. So this pool learns:
// a statement met inside a transaction is prepared on the database once
// that transaction has ended (the single writer connection is free then),
// and later transactions run it through Tx.StmtContext, which reuses the
// connection's compiled statement.
type stmtCache struct {
	db  *sql.DB
	max int // statements kept; dynamic SQL beyond this runs unprepared

	mu      sync.RWMutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
}

var (
	_ gorm.ConnPool         = (*stmtCache)(nil)
	_ gorm.ConnPoolBeginner = (*stmtCache)(nil)
	_ gorm.GetDBConnector   = (*stmtCache)(nil)
)

func newStmtCache(db *sql.DB, max int) *stmtCache {
	return &stmtCache{db: db, max: max, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// stmt returns the prepared statement for query, or nil after noting the
// query for preparation.
func (c *stmtCache) stmt(query string) *sql.Stmt {
	c.mu.RLock()
	st := c.stmts[query]
	c.mu.RUnlock()
	if st != nil {
		return st
	}
	c.mu.Lock()
	if len(c.stmts)+len(c.pending) < c.max {
		c.pending[query] = true
	}
	c.mu.Unlock()
	return nil
}

// prepare compiles the statements noted since the last call. It runs
// after a transaction, when the connection is usually free; the lock is not
// held while preparing, since another transaction may hold the connection
// and need the cache to finish.
func (c *stmtCache) prepare(ctx context.Context) {
	c.mu.Lock()
	var queries []string
	for q := range c.pending {
		queries = append(queries, q)
		delete(c.pending, q)
	}
	c.mu.Unlock()
	for _, q := range queries {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue // it runs unprepared, as before
		}
		c.mu.Lock()
		if c.stmts[q] == nil {
			c.stmts[q], st = st, nil
		}
		c.mu.Unlock()
		if st != nil {
			st.Close()
		}
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}

func (c *stmtCache) GetDBConn() (*sql.DB, error) { return c.db, nil }

func (c *stmtCache) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.db.PrepareContext(ctx, query)
}

func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.db.ExecContext(ctx, query, args...)
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

func (c *stmtCache) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &stmtCacheTx{c: c, tx: tx, ctx: ctx}, nil
}

// stmtCacheTx is one transaction of a stmtCache.
type stmtCacheTx struct {
	c   *stmtCache
	tx  *sql.Tx
	ctx context.Context
}

var (
	_ gorm.ConnPool    = (*stmtCacheTx)(nil)
	_ gorm.TxCommitter = (*stmtCacheTx)(nil)
)

func (t *stmtCacheTx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, query)
}

func (t *stmtCacheTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.c.stmt(query); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *stmtCacheTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.c.stmt(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *stmtCacheTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.c.stmt(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

func (t *stmtCacheTx) Commit() error {
	err := t.tx.Commit()
	t.c.prepare(context.WithoutCancel(t.ctx))
	return err
}

func (t *stmtCacheTx) Rollback() error {
	err := t.tx.Rollback()
	t.c.prepare(context.WithoutCancel(t.ctx))
	return err
}
