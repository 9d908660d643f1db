package models

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// openPostgres opens kefu on PostgreSQL: a writer pool of several
// connections (PostgreSQL has row locks, not one write lock, so writers do
// not queue behind each other) and a reader pool whose transactions are
// read-only. pgx caches each connection's prepared statements itself, so
// neither GORM's PrepareStmt nor the SQLite statement cache is used.
func openPostgres(ctx context.Context, opt Options) (*DB, error) {
	if opt.DSN == "" {
		return nil, fmt.Errorf("open database: postgres needs a DSN (database.dsn)")
	}
	if opt.MaxReadConns <= 0 {
		opt.MaxReadConns = 4
	}
	if opt.MaxWriteConns <= 0 {
		opt.MaxWriteConns = 8
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	gcfg := &gorm.Config{
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return opt.Now().UTC() },
	}
	open := func(dsn string, conns int) (*gorm.DB, error) {
		g, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn}), gcfg)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		s, err := g.DB()
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		s.SetMaxOpenConns(conns)
		s.SetMaxIdleConns(conns)
		s.SetConnMaxIdleTime(5 * time.Minute)
		return g, nil
	}
	w, err := open(opt.DSN, opt.MaxWriteConns)
	if err != nil {
		return nil, err
	}
	r, err := open(postgresDSN(opt.DSN, "default_transaction_read_only", "on"), opt.MaxReadConns)
	if err != nil {
		closeGorm(w)
		return nil, err
	}
	db := &DB{write: w, read: r, now: opt.Now, dialect: DriverPostgres, leads: map[*Leadership]bool{},
		writeConns: opt.MaxWriteConns, dsn: opt.DSN}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := w.WithContext(ctx).Raw("SELECT current_database() || '/' || COALESCE(current_schema(), '')").Scan(&db.lockScope).Error; err != nil {
		db.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// postgresDSN sets a run-time parameter in a PostgreSQL DSN, in either of
// its forms (URL or key=value), unless the DSN sets it already.
func postgresDSN(dsn, key, value string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return dsn // pgx reports the bad DSN
		}
		q := u.Query()
		if q.Get(key) == "" {
			q.Set(key, value)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	if strings.Contains(dsn, key+"=") {
		return dsn
	}
	return strings.TrimSpace(dsn + " " + key + "=" + value)
}

func closeGorm(g *gorm.DB) {
	if s, err := g.DB(); err == nil {
		_ = s.Close()
	}
}
