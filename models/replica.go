package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"gorm.io/gorm/clause"
)

// Several kefu replicas may share one PostgreSQL database. What keeps them
// from doing the same work twice lives here: outbox leases, a per-chat
// lock around turns, and a leader lock for the scheduler. On SQLite there
// is one writer process, and each of these is trivially held.

// ClaimOutbound leases to owner, until until, the pending outbound rows of
// f.Channel (f.ChatID and f.Limit apply; f.AfterID does not) that nobody
// holds or whose lease ran out, and returns them in id order. Rows owner
// holds already are not returned again: the caller has them. A chat in
// which another replica holds a live lease is skipped whole, so one
// chat's messages are only ever sent by one replica, in order. On PostgreSQL the claims of one channel are serialised by an
// advisory lock (a chat's rows cannot be split between two claimers
// running at once) and the candidate rows are read FOR UPDATE SKIP LOCKED,
// so a claim never waits on a row another replica is settling.
func (s *Store) ClaimOutbound(ctx context.Context, f OutboxFilter, owner string, until time.Time) ([]Message, error) {
	now := s.Now()
	if s.postgres() {
		if err := s.q(ctx).Exec("SELECT pg_advisory_xact_lock(?)", lockKey(s.lockScope, "outbox", f.Channel)).Error; err != nil {
			return nil, fmt.Errorf("claim outbound on %s: lock: %w", f.Channel, err)
		}
	}
	// The chats another replica holds a live lease in are left alone: they
	// are few (leases end as rows are sent), and listing them first keeps
	// the passes below plain index ranges in id order, whatever the
	// planner's statistics say.
	var held []string
	err := s.q(ctx).Model(&Message{}).Distinct("chat_id").
		Where("status = ? AND claim_owner <> '' AND claim_owner <> ? AND claim_until >= ? AND channel = ?",
			StatusPending, owner, now, f.Channel).Pluck("chat_id", &held).Error
	if err != nil {
		return nil, fmt.Errorf("claim outbound on %s: %w", f.Channel, err)
	}
	// Two passes: rows nobody holds, then (if room is left) rows whose
	// lease ran out.
	ids, err := s.claimable(ctx, f, held, f.Limit, "m.claim_owner = ''")
	if err != nil {
		return nil, fmt.Errorf("claim outbound on %s: %w", f.Channel, err)
	}
	if f.Limit <= 0 || len(ids) < f.Limit {
		more, err := s.claimable(ctx, f, held, f.Limit-len(ids), "m.claim_owner <> '' AND m.claim_until < ?", now)
		if err != nil {
			return nil, fmt.Errorf("claim outbound on %s: %w", f.Channel, err)
		}
		ids = append(ids, more...)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if err := s.q(ctx).Model(&Message{}).Where("id IN ?", ids).
		Updates(map[string]any{"claim_owner": owner, "claim_until": until.UTC()}).Error; err != nil {
		return nil, fmt.Errorf("claim outbound on %s: %w", f.Channel, err)
	}
	var out []Message
	if err := s.q(ctx).Where("id IN ?", ids).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("claim outbound on %s: %w", f.Channel, err)
	}
	return out, nil
}

// claimable returns the ids of pending rows matching which (with its
// args), outside the held chats, in id order; at most limit when
// f.Limit > 0.
func (s *Store) claimable(ctx context.Context, f OutboxFilter, held []string, limit int, which string, args ...any) ([]uint64, error) {
	if f.Limit > 0 && limit <= 0 {
		return nil, nil
	}
	q := `SELECT m.id FROM messages m WHERE m.status = ? AND m.direction = ? AND m.channel = ? AND ` + which
	all := append([]any{StatusPending, DirOut, f.Channel}, args...)
	if f.ChatID != "" {
		q += " AND m.chat_id = ?"
		all = append(all, f.ChatID)
	}
	if len(held) > 0 {
		q += " AND m.chat_id NOT IN ?"
		all = append(all, held)
	}
	q += " ORDER BY m.id"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	if s.postgres() {
		q += " FOR UPDATE OF m SKIP LOCKED"
	}
	var ids []uint64
	if err := s.q(ctx).Raw(q, all...).Scan(&ids).Error; err != nil {
		return nil, err
	}
	return ids, nil
}

// RenewClaims extends owner's leases on its pending rows to until.
func (s *Store) RenewClaims(ctx context.Context, owner string, until time.Time) (int64, error) {
	// Rows being settled are skipped, not waited for: waiting would order
	// this statement's row locks against the writer's, a deadlock.
	lock := ""
	if s.postgres() {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	mine := s.q(ctx).Model(&Message{}).Select("id").Where("claim_owner = ? AND status = ?", owner, StatusPending).
		Order("id")
	if lock != "" {
		mine = mine.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
	}
	res := s.q(ctx).Model(&Message{}).Where("id IN (?)", mine).Update("claim_until", until.UTC())
	if res.Error != nil {
		return 0, fmt.Errorf("renew outbox claims: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// ReleaseClaims hands owner's pending rows back, for another replica to
// take at once (at shutdown).
func (s *Store) ReleaseClaims(ctx context.Context, owner string) error {
	err := s.q(ctx).Model(&Message{}).Where("claim_owner = ? AND status = ?", owner, StatusPending).
		Updates(map[string]any{"claim_owner": "", "claim_until": nil}).Error
	if err != nil {
		return fmt.Errorf("release outbox claims: %w", err)
	}
	return nil
}

// LockConversation holds, until the transaction ends, the lock of one chat:
// a turn takes it first, so turns of one conversation run one at a time
// across replicas and each sees the state the previous one left. On SQLite
// the single writer already runs one transaction at a time.
func (s *Store) LockConversation(ctx context.Context, channel, chatID string) error {
	if !s.postgres() {
		return nil
	}
	if err := s.q(ctx).Exec("SELECT pg_advisory_xact_lock(?)", lockKey(s.lockScope, "chat", channel+"\x00"+chatID)).Error; err != nil {
		return fmt.Errorf("lock conversation %s:%s: %w", channel, chatID, err)
	}
	return nil
}

// lockKey maps a name to a PostgreSQL advisory lock key. Advisory locks
// belong to the whole database, so the key includes the scope (database
// and schema): two installations in one database — or two test runs in
// their own schemas — never hold each other's locks.
func lockKey(scope, kind, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// Leadership is a held leader lock (TryLead). On PostgreSQL it is a
// session advisory lock on a connection of its own: if the process dies or
// the connection breaks, PostgreSQL releases it and another replica takes
// over on its next try.
type Leadership struct {
	db   *DB
	conn *sql.Conn
	key  int64
}

// TryLead tries to become the leader for name. It returns nil, nil when
// another replica leads. On SQLite the caller always leads.
func (db *DB) TryLead(ctx context.Context, name string) (*Leadership, error) {
	if db.dialect != DriverPostgres {
		return &Leadership{}, nil
	}
	sqldb, err := db.write.DB()
	if err != nil {
		return nil, fmt.Errorf("lead %s: %w", name, err)
	}
	conn, err := sqldb.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lead %s: %w", name, err)
	}
	key := lockKey(db.lockScope, "leader", name)
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lead %s: %w", name, err)
	}
	if !ok {
		conn.Close()
		return nil, nil
	}
	l := &Leadership{db: db, conn: conn, key: key}
	db.leadMu.Lock()
	db.leads[l] = true
	db.leadMu.Unlock()
	return l, nil
}

// Check reports whether the lock is still held: its connection answers.
func (l *Leadership) Check(ctx context.Context) error {
	if l == nil {
		return nil
	}
	if l.conn == nil {
		return nil // SQLite: always held
	}
	l.db.leadMu.Lock()
	held := l.db.leads[l]
	l.db.leadMu.Unlock()
	if !held {
		return errors.New("leadership released")
	}
	if err := l.conn.PingContext(ctx); err != nil {
		return fmt.Errorf("leadership lost: %w", err)
	}
	return nil
}

// Release gives the lock up.
func (l *Leadership) Release() {
	if l == nil || l.conn == nil {
		return
	}
	// Only the first of concurrent calls (the scheduler stopping, the
	// database closing) goes on.
	l.db.leadMu.Lock()
	held := l.db.leads[l]
	delete(l.db.leads, l)
	l.db.leadMu.Unlock()
	if !held {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := l.conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", l.key)
	if err != nil {
		// A broken connection is discarded, and its lock with it.
		_ = l.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	l.conn.Close()
}

// releaseLeads gives up every lock still held, so closing the database
// hands leadership over at once.
func (db *DB) releaseLeads() {
	db.leadMu.Lock()
	leads := make([]*Leadership, 0, len(db.leads))
	for l := range db.leads {
		leads = append(leads, l)
	}
	db.leadMu.Unlock()
	for _, l := range leads {
		l.Release()
	}
}
