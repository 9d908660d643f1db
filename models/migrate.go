package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// A migration is one numbered change to the schema. Steps run in order,
// once each, and are recorded in schema_migrations; a released step is
// never edited, only followed by a new one.
//
// New tables and new columns need no step: after the steps, every model
// in allModels is synced with GORM's AutoMigrate, which only adds. A step
// is for what AutoMigrate cannot do: data changes, renames, drops,
// dialect-specific indexes.
type migration struct {
	version int
	name    string
	up      func(tx *gorm.DB, dialect string) error
}

var migrations = []migration{
	{1, "baseline: the tables of every model", func(tx *gorm.DB, _ string) error {
		return tx.AutoMigrate(allModels()...)
	}},
	// ClaimOutbound's passes: unleased rows in id order, and leased rows
	// (live: the chats held elsewhere; expired: to take over). Both
	// databases take partial indexes.
	{2, "outbox: lease indexes", func(tx *gorm.DB, _ string) error {
		if err := tx.Exec(`CREATE INDEX IF NOT EXISTS idx_message_unleased ON messages (channel, claim_owner, id)
			WHERE status = 'pending'`).Error; err != nil {
			return err
		}
		return tx.Exec(`CREATE INDEX IF NOT EXISTS idx_message_lease ON messages (claim_until)
			WHERE status = 'pending' AND claim_owner <> ''`).Error
	}},
	// Web inbox sessions move from one process's memory to the database,
	// so every replica behind a load balancer knows them.
	{3, "staff sessions: table", func(tx *gorm.DB, _ string) error {
		return tx.AutoMigrate(&StaffSession{})
	}},
	// The staff sign-in throttle moves from each replica's memory to the
	// database: N replicas no longer give N times the guesses, and a
	// restart no longer forgets them.
	{4, "sign-in throttles: table", func(tx *gorm.DB, _ string) error {
		return tx.AutoMigrate(&SignInThrottle{})
	}},
}

// schemaMigration records an applied step.
type schemaMigration struct {
	Version   int `gorm:"primaryKey;autoIncrement:false"`
	Name      string
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// migrateLock is the advisory lock key that serialises migrations of
// replicas starting together on one PostgreSQL ("kefu" in ASCII).
const migrateLock = 0x6b656675

// migrate brings the schema up to date. On PostgreSQL it runs in one
// transaction under an advisory lock, so replicas starting at once migrate
// one after another and a failed step leaves nothing behind (PostgreSQL's
// DDL is transactional). On SQLite there is one writer connection and
// AutoMigrate rebuilds tables itself, so it runs as before, step by step.
func (db *DB) migrate(ctx context.Context) error {
	run := func(tx *gorm.DB) error {
		if db.dialect == DriverPostgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrateLock).Error; err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if err := tx.AutoMigrate(&schemaMigration{}); err != nil {
			return err
		}
		var applied []int
		if err := tx.Model(&schemaMigration{}).Pluck("version", &applied).Error; err != nil {
			return err
		}
		done := map[int]bool{}
		for _, v := range applied {
			done[v] = true
		}
		ran := false
		for _, m := range migrations {
			if done[m.version] {
				continue
			}
			if err := m.up(tx, db.dialect); err != nil {
				return fmt.Errorf("step %d (%s): %w", m.version, m.name, err)
			}
			rec := schemaMigration{Version: m.version, Name: m.name, AppliedAt: db.now().UTC()}
			if err := tx.Create(&rec).Error; err != nil {
				return fmt.Errorf("record step %d: %w", m.version, err)
			}
			ran = true
		}
		if ran && len(applied) == 0 {
			return nil // the baseline has just synced every model
		}
		if err := tx.AutoMigrate(allModels()...); err != nil {
			return fmt.Errorf("sync models: %w", err)
		}
		return nil
	}
	var err error
	if db.dialect == DriverPostgres {
		err = db.write.WithContext(ctx).Transaction(run)
	} else {
		err = run(db.write.WithContext(ctx))
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// SchemaVersion is the highest migration step applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v *int
	if err := db.read.WithContext(ctx).Model(&schemaMigration{}).Select("MAX(version)").Scan(&v).Error; err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}
