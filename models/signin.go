package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SignInThrottle is the failed sign-in budget of one key ("ip:…",
// "name:…"), shared by every replica on the database and kept across
// restarts.
//
// It is a token bucket stored as one number (GCRA, the generic cell rate
// algorithm): Until is the time at which the bucket will be full again.
// With a limit of Burst attempts refilled one per Every, an attempt at now
// is allowed when Until <= now + (Burst-1)·Every, and spends one by moving
// Until to max(Until, now) + Every. A row whose Until has passed is a full
// bucket, the same as no row, so it may be deleted at any time.
type SignInThrottle struct {
	Key string `gorm:"column:throttle_key;primaryKey;size:200"`
	// Until is in Unix milliseconds, so both databases do the arithmetic
	// the same way in SQL.
	Until int64 `gorm:"column:until_ms;not null;index"`
}

// SignInLimit is the throttle's rule: Burst attempts, then one more every
// Every.
type SignInLimit struct {
	Burst int
	Every time.Duration
}

// signInKeyMax bounds a key's length (the column's size).
const signInKeyMax = 200

func checkSignInKeys(keys []string) error {
	if len(keys) == 0 {
		return fmt.Errorf("no keys")
	}
	for i, k := range keys {
		if k == "" || len(k) > signInKeyMax {
			return fmt.Errorf("key of %d bytes: want 1..%d", len(k), signInKeyMax)
		}
		for _, o := range keys[:i] {
			if o == k {
				return fmt.Errorf("key %q twice", k)
			}
		}
	}
	return nil
}

// ReserveSignIn spends one attempt of every key at now, before the
// password is checked, so that parallel guesses on any number of replicas
// cannot overrun the limit. It reports false, spending nothing, when any
// key has no attempt left. A sign-in that then succeeds gives its attempt
// back with ReleaseSignIn: only failures count.
//
// One statement: an upsert whose update only applies while the bucket has
// an attempt left; if some key had none, a second one gives back what the
// first took. Run it in a Write.
func (s *Store) ReserveSignIn(ctx context.Context, keys []string, now time.Time, lim SignInLimit) (bool, error) {
	if err := checkSignInKeys(keys); err != nil {
		return false, fmt.Errorf("reserve sign-in: %w", err)
	}
	if lim.Burst < 1 || lim.Every <= 0 {
		return false, fmt.Errorf("reserve sign-in: limit %d per %s: want at least 1 per positive interval", lim.Burst, lim.Every)
	}
	// Rows are locked in key order on every replica: two sign-ins
	// sharing both keys cannot deadlock.
	keys = slices.Sorted(slices.Values(keys))
	at, every := now.UnixMilli(), lim.Every.Milliseconds()
	var b strings.Builder
	b.WriteString("INSERT INTO sign_in_throttles (throttle_key, until_ms) VALUES ")
	args := make([]any, 0, 2*len(keys)+4)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, k, at+every)
	}
	b.WriteString(` ON CONFLICT (throttle_key) DO UPDATE SET until_ms = CASE WHEN sign_in_throttles.until_ms > ?
		THEN sign_in_throttles.until_ms + ? ELSE ? END
		WHERE sign_in_throttles.until_ms <= ? RETURNING throttle_key`)
	args = append(args, at, every, at+every, at+int64(lim.Burst-1)*every)
	rows, err := s.querySQL(ctx, b.String(), args...)
	if err != nil {
		return false, fmt.Errorf("reserve sign-in: %w", err)
	}
	var spent []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return false, fmt.Errorf("reserve sign-in: %w", err)
		}
		spent = append(spent, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("reserve sign-in: %w", err)
	}
	if len(spent) == len(keys) {
		return true, nil
	}
	if len(spent) > 0 {
		if err := s.ReleaseSignIn(ctx, spent, lim); err != nil {
			return false, err
		}
	}
	return false, nil
}

// ReleaseSignIn gives back the attempt ReserveSignIn spent of each key:
// the sign-in succeeded. It does not clear earlier failures.
func (s *Store) ReleaseSignIn(ctx context.Context, keys []string, lim SignInLimit) error {
	if err := checkSignInKeys(keys); err != nil {
		return fmt.Errorf("release sign-in: %w", err)
	}
	q := "UPDATE sign_in_throttles SET until_ms = until_ms - ? WHERE throttle_key IN (?" + strings.Repeat(", ?", len(keys)-1) + ")"
	args := []any{lim.Every.Milliseconds()}
	for _, k := range keys {
		args = append(args, k)
	}
	if _, err := s.execSQL(ctx, q, args...); err != nil {
		return fmt.Errorf("release sign-in: %w", err)
	}
	return nil
}

// SweepSignIns deletes the throttle rows that are full buckets again by
// now (no failure left to count), so a spray of addresses does not grow
// the table: it holds at most the keys that failed within the last
// Burst·Every.
func (s *Store) SweepSignIns(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.execSQL(ctx, "DELETE FROM sign_in_throttles WHERE until_ms <= ?", now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sweep sign-in throttles: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
