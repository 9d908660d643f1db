package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Store runs kefu's queries on a transaction or on the read pool.
type Store struct {
	db      *gorm.DB
	now     func() time.Time
	dialect string    // DriverSQLite or DriverPostgres
	bound   *sync.Map // query → query with PostgreSQL placeholders
	// lockScope keys the advisory locks (lockKey) on PostgreSQL.
	lockScope string
	// rows, in the SQLite writer's transactions only, answers the reads
	// every turn makes from memory (rowCache).
	rows *rowCache
	// writer is the SQLite writer connection, in its transactions only:
	// it defers savepoints (see savepoint).
	writer *stmtCache
}

// postgres reports whether the store runs on PostgreSQL.
func (s *Store) postgres() bool { return s.dialect == DriverPostgres }

// Now is the store's clock, in UTC.
func (s *Store) Now() time.Time { return s.now().UTC() }

func (s *Store) q(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// notFound turns GORM's missing-row error into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

// Setting returns the value stored under key, or ErrNotFound.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var st Setting
	if err := s.q(ctx).Where("key = ?", key).Take(&st).Error; err != nil {
		return "", fmt.Errorf("setting %s: %w", key, notFound(err))
	}
	return st.Value, nil
}

// SetSetting stores value under key, replacing any earlier value.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	st := Setting{Key: key, Value: value, UpdatedAt: s.Now()}
	err := s.q(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&st).Error
	if err != nil {
		return fmt.Errorf("set setting %s: %w", key, err)
	}
	return nil
}

// Audit records a staff or admin action.
func (s *Store) Audit(ctx context.Context, actor, action, target, detail string) error {
	a := AuditLog{Actor: actor, Action: action, Target: target, Detail: detail, CreatedAt: s.Now()}
	if err := s.q(ctx).Create(&a).Error; err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// AuditLogs returns the most recent audit entries, newest first.
func (s *Store) AuditLogs(ctx context.Context, limit int) ([]AuditLog, error) {
	var out []AuditLog
	if err := s.q(ctx).Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("audit logs: %w", err)
	}
	return out, nil
}

// Savepoint runs fn inside a savepoint: if fn fails, what it wrote is rolled
// back and its error returned, while the enclosing transaction goes on.
func (s *Store) Savepoint(ctx context.Context, name string, fn func() error) error {
	sp, err := s.savepoint(ctx, name)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		if rerr := sp.rollback(ctx); rerr != nil {
			return errors.Join(err, rerr)
		}
		_ = sp.release(ctx)
		return err
	}
	return sp.release(ctx)
}

// savepoint is one open savepoint. On the SQLite writer it is deferred:
// issued only before the first statement inside it that may write
// (stmtCache.flush), and its rollback and release are then no-ops if
// nothing was. Most turns' handlers only read, and a savepoint is two
// statements.
type savepoint struct {
	s     *Store
	sql   *savepointSQL
	depth int // in the writer's stack of deferred savepoints; 0: issued at once
}

func (s *Store) savepoint(ctx context.Context, name string) (savepoint, error) {
	if s.writer != nil {
		depth := s.writer.deferSavepoint(name)
		return savepoint{s: s, sql: s.writer.savepoints[depth-1].sql, depth: depth}, nil
	}
	q := &savepointSQL{begin: "SAVEPOINT " + name, release: "RELEASE " + name, rollback: "ROLLBACK TO " + name}
	if err := s.exec(ctx, q.begin); err != nil {
		return savepoint{}, fmt.Errorf("%s: %w", q.begin, err)
	}
	return savepoint{s: s, sql: q}, nil
}

func (sp savepoint) issued() bool { return sp.depth == 0 || sp.s.writer.savepointIssued(sp.depth) }

// rollback undoes what was written since the savepoint, which stays open.
func (sp savepoint) rollback(ctx context.Context) error {
	if !sp.issued() {
		return nil
	}
	if err := sp.s.exec(ctx, sp.sql.rollback); err != nil {
		return fmt.Errorf("%s: %w", sp.sql.rollback, err)
	}
	return nil
}

// release closes the savepoint, keeping what was written.
func (sp savepoint) release(ctx context.Context) error {
	issued := sp.issued()
	if sp.depth > 0 {
		sp.s.writer.endSavepoint(sp.depth)
	}
	if !issued {
		return nil
	}
	if err := sp.s.exec(ctx, sp.sql.release); err != nil {
		return fmt.Errorf("%s: %w", sp.sql.release, err)
	}
	return nil
}

// exec runs a statement without arguments or results straight on the
// connection: savepoints need none of GORM's statement building, and run
// several times a turn.
func (s *Store) exec(ctx context.Context, query string) error {
	_, err := s.db.Statement.ConnPool.ExecContext(ctx, query)
	return err
}

// execSQL and querySQL run hot-path SQL with ? placeholders straight on the
// connection (prepared once by the writer's statement cache): GORM's
// statement building and reflection cost more than the statement itself on
// the paths every turn takes.
func (s *Store) execSQL(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.db.Statement.ConnPool.ExecContext(ctx, s.bind(query), args...)
}

func (s *Store) querySQL(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.db.Statement.ConnPool.QueryContext(ctx, s.bind(query), args...)
}

// sqlID, sqlString and sqlTime pass optional values to hot-path SQL as
// the plain types database/sql hands the driver as they are; a pointer or
// a uint64 it converts by reflection, allocating twice. IDs stay below
// 1<<63.
func sqlID(p *uint64) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

func sqlString(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func sqlTime(p *time.Time) any {
	if p == nil {
		return nil
	}
	return *p
}

// scanOne reads the first row of query into dest, or returns ErrNotFound.
func (s *Store) scanOne(ctx context.Context, query string, args []any, dest ...any) error {
	rows, err := s.querySQL(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return ErrNotFound
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Err()
}

// bind rewrites ? placeholders to PostgreSQL's $n. The queries are kefu's
// own constants, with no ? inside literals.
func (s *Store) bind(query string) string {
	if !s.postgres() {
		return query
	}
	if q, ok := s.bound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	s.bound.Store(query, b.String())
	return b.String()
}
