package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// StaffSession is a signed-in web inbox session. It lives in the database
// so that every replica behind a load balancer knows it and a restart
// keeps it. Only the SHA-256 of the session token is stored: someone who
// reads the table (a backup, a replica) cannot sign in with what it holds.
type StaffSession struct {
	ID        uint64    `gorm:"primaryKey"`
	TokenHash string    `gorm:"size:64;not null;uniqueIndex"` // hex SHA-256 of the cookie's token
	StaffName string    `gorm:"size:64;not null;index"`
	CSRF      string    `gorm:"size:64;not null"` // the inbox forms' token
	ExpiresAt time.Time `gorm:"not null;index"`
	CreatedAt time.Time
}

// sessionHash is what is stored of a session token.
func sessionHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateStaffSession stores a session of staff member name for token
// (kept only as its hash) until expires, and deletes the sessions that
// have expired, so the table does not grow with every sign-in.
func (s *Store) CreateStaffSession(ctx context.Context, token, name, csrf string, expires time.Time) (*StaffSession, error) {
	if token == "" {
		return nil, fmt.Errorf("create staff session: empty token")
	}
	now := s.Now()
	if err := s.q(ctx).Where("expires_at < ?", now).Delete(&StaffSession{}).Error; err != nil {
		return nil, fmt.Errorf("sweep staff sessions: %w", err)
	}
	ss := &StaffSession{TokenHash: sessionHash(token), StaffName: name, CSRF: csrf, ExpiresAt: expires.UTC(), CreatedAt: now}
	if err := s.q(ctx).Create(ss).Error; err != nil {
		return nil, fmt.Errorf("create staff session of %s: %w", name, err)
	}
	return ss, nil
}

// StaffSessionByToken returns the session of token unless it has expired
// by now; otherwise ErrNotFound.
func (s *Store) StaffSessionByToken(ctx context.Context, token string, now time.Time) (*StaffSession, error) {
	var ss StaffSession
	err := s.q(ctx).Where("token_hash = ? AND expires_at > ?", sessionHash(token), now.UTC()).Take(&ss).Error
	if err != nil {
		return nil, fmt.Errorf("staff session: %w", notFound(err))
	}
	return &ss, nil
}

// ExtendStaffSession moves a session's expiry to expires (sliding
// sessions: active staff stay signed in).
func (s *Store) ExtendStaffSession(ctx context.Context, id uint64, expires time.Time) error {
	if err := s.q(ctx).Model(&StaffSession{}).Where("id = ?", id).Update("expires_at", expires.UTC()).Error; err != nil {
		return fmt.Errorf("extend staff session: %w", err)
	}
	return nil
}

// DeleteStaffSession ends the session of token (signing out). A session
// already gone is no error.
func (s *Store) DeleteStaffSession(ctx context.Context, token string) error {
	if err := s.q(ctx).Where("token_hash = ?", sessionHash(token)).Delete(&StaffSession{}).Error; err != nil {
		return fmt.Errorf("delete staff session: %w", err)
	}
	return nil
}

// DeleteStaffSessionsOf ends every session of staff member name, on
// every replica at once.
func (s *Store) DeleteStaffSessionsOf(ctx context.Context, name string) (int64, error) {
	res := s.q(ctx).Where("staff_name = ?", name).Delete(&StaffSession{})
	if res.Error != nil {
		return 0, fmt.Errorf("delete staff sessions of %s: %w", name, res.Error)
	}
	return res.RowsAffected, nil
}

// StaffSessions lists staff member name's sessions that have not expired
// by now, newest first.
func (s *Store) StaffSessions(ctx context.Context, name string, now time.Time) ([]StaffSession, error) {
	var out []StaffSession
	if err := s.q(ctx).Where("staff_name = ? AND expires_at > ?", name, now.UTC()).Order("id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("staff sessions of %s: %w", name, err)
	}
	return out, nil
}
