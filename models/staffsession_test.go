package models_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
)

func TestStaffSessions(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	now := time.Now().UTC()
	write := func(fn func(s *models.Store) error) {
		t.Helper()
		if err := db.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	write(func(s *models.Store) error {
		if _, err := s.CreateStaff(ctx, "alice", []byte("hash")); err != nil {
			return err
		}
		if _, err := s.CreateStaffSession(ctx, "old-token", "alice", "csrf-old", now.Add(-time.Minute)); err != nil {
			return err
		}
		_, err := s.CreateStaffSession(ctx, "token-1", "alice", "csrf-1", now.Add(time.Hour))
		return err
	})
	if err := db.Write(ctx, func(s *models.Store) error { _, err := s.CreateStaffSession(ctx, "", "alice", "c", now); return err }); err == nil {
		t.Error("a session without a token was stored")
	}

	// The table holds the token's SHA-256, never the token.
	rows, err := db.Read().StaffSessions(ctx, "alice", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d session rows; want 1 (the expired one swept by the next sign-in)", len(rows))
	}
	sum := sha256.Sum256([]byte("token-1"))
	if r := rows[0]; r.TokenHash != hex.EncodeToString(sum[:]) || strings.Contains(r.TokenHash, "token-1") || r.StaffName != "alice" || r.CSRF != "csrf-1" {
		t.Errorf("stored session %+v; want the token's SHA-256, alice, csrf-1", r)
	}

	for _, tc := range []struct {
		name  string
		token string
		at    time.Time
		ok    bool
	}{
		{"Valid", "token-1", now, true},
		{"UnknownToken", "token-2", now, false},
		{"TheHashIsNoToken", rows[0].TokenHash, now, false},
		{"Expired", "token-1", now.Add(2 * time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss, err := db.Read().StaffSessionByToken(ctx, tc.token, tc.at)
			switch {
			case tc.ok && (err != nil || ss.StaffName != "alice" || ss.CSRF != "csrf-1"):
				t.Errorf("session = %+v, %v; want alice's", ss, err)
			case !tc.ok && !errors.Is(err, models.ErrNotFound):
				t.Errorf("session = %+v, %v; want ErrNotFound", ss, err)
			}
		})
	}

	// Extended, it outlives its first expiry.
	write(func(s *models.Store) error { return s.ExtendStaffSession(ctx, rows[0].ID, now.Add(3*time.Hour)) })
	if _, err := db.Read().StaffSessionByToken(ctx, "token-1", now.Add(2*time.Hour)); err != nil {
		t.Errorf("extended session at +2h: %v", err)
	}

	// Signing out deletes it.
	write(func(s *models.Store) error { return s.DeleteStaffSession(ctx, "token-1") })
	if _, err := db.Read().StaffSessionByToken(ctx, "token-1", now); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("session after sign-out: %v; want ErrNotFound", err)
	}

	// A new password ends every session of the account.
	write(func(s *models.Store) error {
		for _, tok := range []string{"a1", "a2"} {
			if _, err := s.CreateStaffSession(ctx, tok, "alice", "c", now.Add(time.Hour)); err != nil {
				return err
			}
		}
		return s.SetStaffPassword(ctx, "alice", []byte("new hash"))
	})
	for _, tok := range []string{"a1", "a2"} {
		if _, err := db.Read().StaffSessionByToken(ctx, tok, now); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("session %s after a password change: %v; want ErrNotFound", tok, err)
		}
	}
}
