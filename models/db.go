package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Options say which database to open and how.
type Options struct {
	Driver       string // "sqlite" (the default) or "postgres"
	DSN          string // sqlite: a file path or "file:" URI; postgres: a URL or key=value DSN
	MaxReadConns int
	// MaxWriteConns bounds the writer pool on PostgreSQL (default 8).
	// SQLite always has exactly one writer connection.
	MaxWriteConns int
	BusyTimeout   time.Duration
	Log           *slog.Logger
	// Now is the clock; tests pass a fake one.
	Now func() time.Time
}

// Database drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// DB is an open kefu database: a writer pool (one connection on SQLite)
// and a pool of readers.
type DB struct {
	write   *gorm.DB
	read    *gorm.DB
	now     func() time.Time
	dialect string
	stmts   *stmtCache // the writer's prepared statements (SQLite only)
	ckpt    *checkpointer

	writeConns int    // 1 on SQLite
	dsn        string // PostgreSQL: for connections of their own (Listen)

	leadMu sync.Mutex
	leads  map[*Leadership]bool // held leader locks (PostgreSQL)

	bound     sync.Map // hot-path SQL rewritten for PostgreSQL (Store.bind)
	lockScope string   // PostgreSQL: database and schema, for advisory lock keys
}

// Open opens (creating if needed) the database and runs the migrations.
func Open(ctx context.Context, opt Options) (*DB, error) {
	switch opt.Driver {
	case "", DriverSQLite:
	case DriverPostgres, "postgresql", "pgx":
		return openPostgres(ctx, opt)
	default:
		return nil, fmt.Errorf("open database: driver %q is not supported (use sqlite or postgres)", opt.Driver)
	}
	if opt.MaxReadConns <= 0 {
		opt.MaxReadConns = 4
	}
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 5 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	gcfg := func() *gorm.Config {
		return &gorm.Config{
			// Every write already runs in a transaction we open ourselves.
			SkipDefaultTransaction: true,
			Logger:                 logger.Discard,
			NowFunc:                func() time.Time { return opt.Now().UTC() },
		}
	}
	if err := createPrivate(opt.DSN); err != nil {
		return nil, err
	}
	// The writer takes the write lock at BEGIN (_txlock=immediate), so a
	// transaction never fails half-way trying to upgrade a read lock.
	wsql, err := sql.Open(sqlite.DriverName, sqliteDSN(opt.DSN, opt.BusyTimeout, "immediate", false))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// Exactly one writer: more writer connections only contend for SQLite's
	// single write lock and grow the WAL.
	wsql.SetMaxOpenConns(1)
	wsql.SetMaxIdleConns(1)
	wsql.SetConnMaxLifetime(0)
	stmts := newStmtCache(wsql, 512)
	// Checkpoints run beside the writer, not inside its commits; the WAL
	// file is cut back to 64 MiB whenever it restarts. Per connection: the
	// writer applies them to every connection it takes, the first included.
	stmts.init = []string{"PRAGMA wal_autocheckpoint = 0", "PRAGMA journal_size_limit = 67108864"}
	w, err := gorm.Open(sqlite.New(sqlite.Config{Conn: stmts}), gcfg())
	if err != nil {
		_ = wsql.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}

	r, err := gorm.Open(sqlite.Open(sqliteDSN(opt.DSN, opt.BusyTimeout, "deferred", true)), gcfg())
	if err != nil {
		_ = wsql.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	rsql, err := r.DB()
	if err != nil {
		_ = wsql.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	rsql.SetMaxOpenConns(opt.MaxReadConns)
	rsql.SetMaxIdleConns(opt.MaxReadConns)

	db := &DB{write: w, read: r, now: opt.Now, stmts: stmts, dialect: DriverSQLite, writeConns: 1}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.ckpt, err = startCheckpointer(opt.DSN, opt.BusyTimeout, checkpointEvery, restartFrames, &stmts.restartWAL); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// sqliteDSN adds the pragmas kefu relies on to a file path or URI: WAL so
// readers never block the writer, a busy timeout for other processes (kefu
// chat beside kefu run), foreign keys, and synchronous=NORMAL, which in WAL
// mode keeps every commit across a process crash.
func sqliteDSN(dsn string, busy time.Duration, txlock string, readOnly bool) string {
	if dsn == "" {
		dsn = "kefu.db"
	}
	base, query, _ := strings.Cut(dsn, "?")
	if !strings.HasPrefix(base, "file:") {
		base = "file:" + base
	}
	q, _ := url.ParseQuery(query)
	set := func(k, v string) {
		if q.Get(k) == "" {
			q.Set(k, v)
		}
	}
	set("_journal_mode", "WAL")
	set("_busy_timeout", fmt.Sprint(busy.Milliseconds()))
	set("_foreign_keys", "on")
	set("_synchronous", "NORMAL")
	set("_txlock", txlock)
	if readOnly {
		set("_query_only", "true")
	}
	return base + "?" + q.Encode()
}

// Close closes every connection. The WAL is checkpointed by SQLite on the
// last close.
func (db *DB) Close() error {
	db.releaseLeads()
	var errs []error
	if db.ckpt != nil {
		errs = append(errs, db.ckpt.close())
	}
	if db.stmts != nil {
		db.stmts.close()
	}
	for _, g := range []*gorm.DB{db.read, db.write} {
		if s, err := g.DB(); err == nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers a read and, unless the writer is
// busy, a write-capable connection too.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Now is the database's clock.
func (db *DB) Now() time.Time { return db.now() }

// WriteConns is how many write transactions may run at once: 1 on SQLite
// (one write lock), the writer pool's size on PostgreSQL.
func (db *DB) WriteConns() int { return db.writeConns }

// Dialect is the driver in use: DriverSQLite or DriverPostgres.
func (db *DB) Dialect() string { return db.dialect }

// Read returns a Store on the read pool. Its writes fail: SQLite refuses
// them on query-only connections, PostgreSQL in read-only transactions.
func (db *DB) Read() *Store {
	return &Store{db: db.read, now: db.now, dialect: db.dialect, bound: &db.bound, lockScope: db.lockScope}
}

// Write runs fn in one transaction on the writer. fn's error rolls it back.
func (db *DB) Write(ctx context.Context, fn func(*Store) error) error {
	return db.Batch(ctx, []func(*Store) error{fn})[0]
}

// storageErr marks err as ErrStorage when the database itself failed.
func storageErr(err error) error {
	if err != nil && storageFault(err) && !errors.Is(err, ErrStorage) {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return err
}

// Batch runs every fn in one transaction, each as if inside its own
// savepoint: a failing fn is rolled back alone and gets its error; the
// others commit together (group commit). If the commit itself fails, every
// fn gets that error. The result has one error (or nil) per fn, in order.
//
// On SQLite the fns first run without savepoints, which cost two
// statements each and are nearly never used: a fn fails rarely, and one
// that fails before changing any row (a redelivered update, a job another
// runner finished) leaves nothing to undo. Only when a fn fails after
// changing rows is the transaction rolled back and the batch run again,
// each fn in its savepoint. A fn may therefore run twice; what it did the
// first time is rolled back, and it must start afresh (not append to what
// its last run left). On PostgreSQL, where a failed statement aborts the
// transaction, every fn runs in a savepoint at once.
func (db *DB) Batch(ctx context.Context, fns []func(*Store) error) []error {
	errs := make([]error, len(fns))
	safe := db.stmts == nil
	err := db.batch(ctx, fns, errs, safe)
	if errors.Is(err, errRunSafely) {
		clear(errs)
		err = db.batch(ctx, fns, errs, true)
	}
	if err != nil {
		for i := range errs {
			switch {
			case errs[i] != nil:
			case errors.Is(err, ErrStorage):
				errs[i] = err // stored nothing, for the same reason
			default:
				errs[i] = fmt.Errorf("%w: %w", ErrCommit, err)
			}
		}
	}
	return errs
}

// errRunSafely rolls back a batch run without savepoints in which a fn
// failed after writing: only its savepoint could have undone that alone.
var errRunSafely = errors.New("a function failed after writing; run the batch with savepoints")

// batch runs fns in one transaction, each in a savepoint if safe, and
// sets their errors.
func (db *DB) batch(ctx context.Context, fns []func(*Store) error, errs []error, safe bool) error {
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		s := &Store{db: tx, now: db.now, dialect: db.dialect, bound: &db.bound, lockScope: db.lockScope}
		if db.stmts != nil {
			s.rows, s.writer = db.stmts.rows, db.stmts
		}
		if len(fns) == 1 {
			errs[0] = storageErr(fns[0](s))
			return errs[0]
		}
		for i, fn := range fns {
			if !safe {
				before := s.writer.changes
				if errs[i] = storageErr(fn(s)); errs[i] != nil {
					if errors.Is(errs[i], ErrStorage) {
						return errs[i] // see below
					}
					if s.writer.changes != before {
						return errRunSafely
					}
				}
				continue
			}
			sp, err := s.savepoint(ctx, "turn")
			if err != nil {
				return err
			}
			if errs[i] = storageErr(fn(s)); errs[i] != nil {
				if errors.Is(errs[i], ErrStorage) {
					// SQLite may have rolled the whole transaction back
					// already (a full disk does), and the next turns would
					// fail the same way: the batch ends here.
					return errs[i]
				}
				if err := sp.rollback(ctx); err != nil {
					return err
				}
			}
			if err := sp.release(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}
