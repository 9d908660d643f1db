package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// stmtCache is SQLite's one writer connection, held for the life of the
// database, with its prepared statements.
//
// Two costs of database/sql are avoided on this, the hottest path:
// mattn/go-sqlite3 compiles every statement on every call unless it is
// prepared, and GORM's PrepareStmt cannot help (a statement first met in a
// transaction is prepared on that transaction and dies with it); and every
// result set read inside a sql.Tx starts a goroutine that watches the
// transaction's context. So the writer takes one sql.Conn, prepares each
// statement on it once, and runs transactions on it with BEGIN IMMEDIATE
// and COMMIT itself. Statements run with their callers' contexts stripped
// of cancellation: mattn runs a statement with a cancellable context on a
// goroutine of its own, and interrupting the one writer connection
// mid-batch would fail the other turns in it too (the writer checks each
// turn's context before running it).
type stmtCache struct {
	db  *sql.DB
	max int // statements kept; dynamic SQL beyond this runs unprepared

	// turn is the connection's one user at a time: a transaction from
	// BeginTx to Commit or Rollback, or a single statement outside one.
	turn chan struct{}
	conn *sql.Conn // taken from db on first use
	// init runs on every connection taken (per-connection pragmas).
	init []string
	// broken is set when database/sql has given up on conn; the next
	// acquire takes a fresh one instead of failing every write until a
	// restart.
	broken bool
	// rows caches the rows turns read, kept true by conn's update hook.
	rows *rowCache
	// savepoints are the open savepoints of the transaction, outermost
	// first; those not issued yet are issued before the next statement
	// that may write (flush).
	savepoints []deferredSavepoint
	unissued   int
	spSQL      map[string]*savepointSQL
	// changes counts the rows changed on conn (its update hook), and the
	// statements that change rows unseen by the hook: Batch compares it
	// before and after a function to know whether it wrote anything.
	changes uint64
	// restartWAL is raised by the checkpointer when the WAL grows long:
	// the next commit then lets it start over (see checkpointer).
	restartWAL atomic.Bool

	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	closed bool
}

var (
	_ gorm.ConnPool         = (*stmtCache)(nil)
	_ gorm.ConnPoolBeginner = (*stmtCache)(nil)
	_ gorm.GetDBConnector   = (*stmtCache)(nil)
)

var errWriterClosed = errors.New("the database writer is closed")

func newStmtCache(db *sql.DB, max int) *stmtCache {
	return &stmtCache{db: db, max: max, turn: make(chan struct{}, 1), stmts: map[string]*sql.Stmt{}, rows: newRowCache(rowCacheSize)}
}

// acquire waits for the connection and opens it on first use.
func (c *stmtCache) acquire(ctx context.Context) error {
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		c.release()
		return errWriterClosed
	}
	if c.broken {
		c.drop()
	}
	if c.conn == nil {
		conn, err := c.db.Conn(context.WithoutCancel(ctx))
		if err != nil {
			c.release()
			return err
		}
		for _, q := range c.init {
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), q); err != nil {
				conn.Close()
				c.release()
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		if err := c.watch(conn); err != nil {
			conn.Close()
			c.release()
			return err
		}
		c.conn = conn
	}
	return nil
}

// watch keeps the row cache true to conn: its update hook drops changed
// rows (and counts them), its rollback hook everything. A new connection
// starts empty.
func (c *stmtCache) watch(conn *sql.Conn) error {
	c.rows.reset()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("writer connection: %T is not SQLite's", dc)
		}
		sc.RegisterUpdateHook(func(op int, db, table string, rowid int64) {
			c.changes++
			c.rows.onUpdate(op, db, table, rowid)
		})
		sc.RegisterRollbackHook(c.rows.clear)
		return nil
	})
}

// drop forgets the connection and its statements. The caller holds the
// turn.
func (c *stmtCache) drop() {
	c.rows.clear()
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	c.broken = false
}

// check notes an error that means the connection is gone, and returns err.
func (c *stmtCache) check(err error) error {
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		c.broken = true
	}
	return err
}

func (c *stmtCache) release() { <-c.turn }

// stmt returns query prepared on the connection, preparing it on first
// use, or nil when the cache is full or preparing fails (the statement
// then runs unprepared, with the same result). The caller holds the turn.
func (c *stmtCache) stmt(ctx context.Context, query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stmts[query]; st != nil || len(c.stmts) >= c.max {
		return st
	}
	st, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.stmts[query] = st
	return st
}

func (c *stmtCache) exec(ctx context.Context, query string, args []any) (sql.Result, error) {
	ctx = uncancellable(ctx)
	if err := c.flush(ctx, query); err != nil {
		return nil, err
	}
	var (
		res sql.Result
		err error
	)
	if st := c.stmt(ctx, query); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = c.conn.ExecContext(ctx, query, args...)
	}
	c.rows.afterStatement(query, err)
	return res, c.check(err)
}

func (c *stmtCache) query(ctx context.Context, query string, args []any) (*sql.Rows, error) {
	ctx = uncancellable(ctx)
	if err := c.flush(ctx, query); err != nil {
		return nil, err
	}
	var (
		rows *sql.Rows
		err  error
	)
	if st := c.stmt(ctx, query); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = c.conn.QueryContext(ctx, query, args...)
	}
	// A query may write too (INSERT … RETURNING).
	c.rows.afterStatement(query, err)
	return rows, c.check(err)
}

func (c *stmtCache) queryRow(ctx context.Context, query string, args []any) *sql.Row {
	ctx = uncancellable(ctx)
	if err := c.flush(ctx, query); err != nil {
		return c.db.QueryRowContext(errCtx(err), query, args...)
	}
	c.rows.afterStatement(query, nil)
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.conn.QueryRowContext(ctx, query, args...)
}

// uncancellable strips ctx of cancellation (see stmtCache), without
// allocating when it has none.
func uncancellable(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// deferredSavepoint is a savepoint Store.savepoint asked for.
type deferredSavepoint struct {
	sql    *savepointSQL
	issued bool
}

// savepointSQL is the statements of one savepoint name, built once.
type savepointSQL struct{ begin, release, rollback string }

// savepointStatements returns the statements for name. The caller holds
// the turn.
func (c *stmtCache) savepointStatements(name string) *savepointSQL {
	q := c.spSQL[name]
	if q == nil {
		q = &savepointSQL{begin: "SAVEPOINT " + name, release: "RELEASE " + name, rollback: "ROLLBACK TO " + name}
		if c.spSQL == nil {
			c.spSQL = map[string]*savepointSQL{}
		}
		c.spSQL[name] = q
	}
	return q
}

// deferSavepoint opens a savepoint to be issued before the next statement
// that may write, and returns its depth (for savepointIssued and
// endSavepoint). The caller holds the turn.
func (c *stmtCache) deferSavepoint(name string) int {
	c.savepoints = append(c.savepoints, deferredSavepoint{sql: c.savepointStatements(name)})
	c.unissued++
	return len(c.savepoints)
}

func (c *stmtCache) savepointIssued(depth int) bool {
	return depth <= len(c.savepoints) && c.savepoints[depth-1].issued
}

// endSavepoint closes the savepoint at depth and any left open inside it.
func (c *stmtCache) endSavepoint(depth int) {
	for _, sp := range c.savepoints[min(depth-1, len(c.savepoints)):] {
		if !sp.issued {
			c.unissued--
		}
	}
	c.savepoints = c.savepoints[:min(depth-1, len(c.savepoints))]
}

// resetSavepoints forgets them all: the transaction ended.
func (c *stmtCache) resetSavepoints() {
	c.savepoints, c.unissued = c.savepoints[:0], 0
}

// flush readies the connection for query unless it is a plain SELECT (the
// one kind known not to write): it counts a statement whose changes the
// update hook cannot see (changes), and issues the deferred savepoints,
// outermost first.
func (c *stmtCache) flush(ctx context.Context, query string) error {
	q := strings.TrimLeft(query, " \t\r\n")
	if hasPrefixFold(q, "SELECT") {
		return nil
	}
	if hookBlind(q) {
		c.changes++
	}
	if c.unissued == 0 {
		return nil
	}
	for i := range c.savepoints {
		sp := &c.savepoints[i]
		if sp.issued {
			continue
		}
		q := sp.sql.begin
		var err error
		if st := c.stmt(ctx, q); st != nil {
			_, err = st.ExecContext(ctx)
		} else {
			_, err = c.conn.ExecContext(ctx, q)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", q, c.check(err))
		}
		sp.issued = true
		c.unissued--
	}
	return nil
}

// close closes the statements and gives the connection back to db, which
// the caller then closes. It waits for a transaction in progress.
func (c *stmtCache) close() {
	c.turn <- struct{}{}
	defer c.release()
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.drop()
}

func (c *stmtCache) GetDBConn() (*sql.DB, error) { return c.db, nil }

func (c *stmtCache) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.release()
	return c.conn.PrepareContext(ctx, query)
}

// The statements outside a transaction are the migrations' and pragmas' at
// start. A result set is read after the turn is given back: SQLite keeps
// several statements active on one connection, and database/sql
// serialises the calls.

func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.release()
	return c.exec(ctx, query, args)
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.release()
	return c.query(ctx, query, args)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if err := c.acquire(ctx); err != nil {
		// sql.Row carries its error only from a query; run one that fails
		// the same way on the pool, which has no free connection to give.
		return c.db.QueryRowContext(errCtx(err), query, args...)
	}
	defer c.release()
	return c.queryRow(ctx, query, args)
}

// errCtx is a cancelled context whose error is err's, for QueryRowContext.
func errCtx(err error) context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(err)
	return ctx
}

// BeginTx starts a write transaction. BEGIN IMMEDIATE takes SQLite's write
// lock at once, so a transaction never fails half-way upgrading a read
// lock.
func (c *stmtCache) BeginTx(ctx context.Context, _ *sql.TxOptions) (gorm.ConnPool, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	if _, err := c.conn.ExecContext(context.WithoutCancel(ctx), "BEGIN IMMEDIATE"); err != nil {
		c.check(err)
		c.release()
		return nil, err
	}
	// Holding the write lock, the connection sees every commit there will
	// be until its own: if another connection committed since the last
	// transaction, the cached rows may be stale.
	var version int64
	if err := c.queryRow(ctx, "PRAGMA data_version", nil).Scan(&version); err != nil {
		c.rows.reset()
	} else {
		c.rows.checkVersion(version)
	}
	c.resetSavepoints()
	return &stmtCacheTx{c: c, ctx: context.WithoutCancel(ctx)}, nil
}

// stmtCacheTx is one transaction on the writer connection. Its statements
// run with the context it began with, stripped of cancellation once, not
// their callers' (see stmtCache).
type stmtCacheTx struct {
	c    *stmtCache
	ctx  context.Context
	done bool
}

var (
	_ gorm.ConnPool    = (*stmtCacheTx)(nil)
	_ gorm.TxCommitter = (*stmtCacheTx)(nil)
)

func (t *stmtCacheTx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.c.conn.PrepareContext(ctx, query)
}

func (t *stmtCacheTx) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	return t.c.exec(t.ctx, query, args)
}

func (t *stmtCacheTx) QueryContext(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.c.query(t.ctx, query, args)
}

func (t *stmtCacheTx) QueryRowContext(_ context.Context, query string, args ...any) *sql.Row {
	return t.c.queryRow(t.ctx, query, args)
}

// Commit commits; when SQLite refuses (another process holds the database
// busy), the transaction, which SQLite leaves open then, is rolled back.
func (t *stmtCacheTx) Commit() error {
	if t.done {
		return sql.ErrTxDone
	}
	t.done = true
	defer t.c.release()
	t.c.resetSavepoints()
	ctx := t.ctx
	if _, err := t.c.conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.c.rows.clear()
		t.c.check(err)
		if _, rerr := t.c.conn.ExecContext(ctx, "ROLLBACK"); rerr != nil && !isNoTransaction(rerr) {
			return fmt.Errorf("%w (and rollback: %v)", err, rerr)
		}
		return err
	}
	if t.c.restartWAL.Load() {
		t.c.checkpointTail(ctx)
	}
	return nil
}

// checkpointTail copies into the database what of the WAL the
// checkpointer has not, between two of the writer's transactions, so the
// next one rewinds the WAL. It fails harmlessly (busy) while the
// checkpointer is copying; the next commit tries again.
func (c *stmtCache) checkpointTail(ctx context.Context) {
	var busy, frames, copied int64
	err := c.queryRow(ctx, "PRAGMA wal_checkpoint(PASSIVE)", nil).Scan(&busy, &frames, &copied)
	if err == nil && busy == 0 && copied == frames {
		c.restartWAL.Store(false)
	}
}

func (t *stmtCacheTx) Rollback() error {
	if t.done {
		return sql.ErrTxDone
	}
	t.done = true
	defer t.c.release()
	t.c.resetSavepoints()
	t.c.rows.clear()
	if _, err := t.c.conn.ExecContext(t.ctx, "ROLLBACK"); err != nil && !isNoTransaction(err) {
		return t.c.check(err)
	}
	return nil
}

// isNoTransaction reports SQLite's answer to a rollback after an error
// that already rolled the transaction back (a full disk, an I/O error).
func isNoTransaction(err error) bool {
	return strings.Contains(err.Error(), "no transaction is active")
}
