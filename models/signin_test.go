package models_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/kefu-bot/kefu/models"
)

var signInLimit = models.SignInLimit{Burst: 5, Every: time.Minute}

// TestSignInThrottleIsTheTokenBucket checks the stored throttle against
// the in-memory rule it replaces (x/time/rate: 5 failures, then one a
// minute), attempt by attempt.
func TestSignInThrottleIsTheTokenBucket(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		attempts []time.Duration // failed attempts, after t0
	}{
		{"burst then blocked", []time.Duration{0, 0, 0, 0, 0, 0, 0}},
		{"one a minute after the burst", []time.Duration{0, 1, 2, 3, 4, 5 * time.Second, 30 * time.Second, time.Minute, time.Minute + time.Second, 90 * time.Second, 2 * time.Minute, 2 * time.Minute}},
		{"refills to five, no more", []time.Duration{0, 0, 0, 0, 0, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute}},
		{"slow guessing never blocks", []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute, 6 * time.Minute, 7 * time.Minute}},
		{"partly refilled", []time.Duration{0, 0, 0, 0, 0, 150 * time.Second, 150 * time.Second, 150 * time.Second, 150 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpen(t)
			oracle := rate.NewLimiter(rate.Every(signInLimit.Every), signInLimit.Burst)
			for i, d := range tc.attempts {
				now := t0.Add(d)
				want := oracle.TokensAt(now) >= 1
				if want {
					oracle.AllowN(now, 1)
				}
				var got bool
				if err := db.Write(ctx, func(s *models.Store) (err error) {
					got, err = s.ReserveSignIn(ctx, []string{"name:alice"}, now, signInLimit)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("attempt %d at +%s: allowed %v, want %v", i, d, got, want)
				}
			}
		})
	}
}

func TestSignInThrottleKeys(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	now := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	reserve := func(at time.Time, keys ...string) bool {
		t.Helper()
		var ok bool
		if err := db.Write(ctx, func(s *models.Store) (err error) {
			ok, err = s.ReserveSignIn(ctx, keys, at, signInLimit)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// Five failures of bob from one address: bob is blocked from any
	// address, the address for any name.
	for i := range 5 {
		if !reserve(now, "ip:198.51.100.1", "name:bob") {
			t.Fatalf("attempt %d refused", i)
		}
	}
	for _, tc := range []struct {
		keys []string
		want bool
	}{
		{[]string{"ip:198.51.100.2", "name:bob"}, false},
		{[]string{"ip:198.51.100.1", "name:carol"}, false},
		{[]string{"ip:198.51.100.2", "name:carol"}, true},
	} {
		if got := reserve(now, tc.keys...); got != tc.want {
			t.Errorf("reserve %v = %v, want %v", tc.keys, got, tc.want)
		}
	}
	// A refused attempt spent nothing of the key that had attempts left:
	// 198.51.100.2 tried bob (refused) and carol (spent one), so it has
	// four left.
	for i := range 4 {
		if !reserve(now, "ip:198.51.100.2", fmt.Sprintf("name:x%d", i)) {
			t.Fatalf("198.51.100.2 refused after %d more; a refused attempt was counted", i)
		}
	}
	if reserve(now, "ip:198.51.100.2", "name:y") {
		t.Error("198.51.100.2 allowed a sixth attempt")
	}

	// A success gives its attempt back but keeps earlier failures.
	if !reserve(now, "ip:203.0.113.5", "name:dave") {
		t.Fatal("fresh keys refused")
	}
	for range 4 {
		reserve(now, "ip:203.0.113.5", "name:dave")
	}
	if err := db.Write(ctx, func(s *models.Store) error {
		return s.ReleaseSignIn(ctx, []string{"ip:203.0.113.5", "name:dave"}, signInLimit)
	}); err != nil {
		t.Fatal(err)
	}
	if !reserve(now, "ip:203.0.113.5", "name:dave") {
		t.Error("the released attempt was not given back")
	}
	if reserve(now, "ip:203.0.113.5", "name:dave") {
		t.Error("releasing one attempt cleared the earlier failures")
	}

	// Bad keys are refused before any query.
	for _, keys := range [][]string{nil, {""}, {"name:a", "name:a"}, {string(make([]byte, 201))}} {
		if err := db.Write(ctx, func(s *models.Store) error {
			_, err := s.ReserveSignIn(ctx, keys, now, signInLimit)
			return err
		}); err == nil {
			t.Errorf("keys %q accepted", keys)
		}
	}

	// Sweeping deletes only full buckets: after 5 minutes every key above
	// is full again except those with failures queued beyond it.
	var swept int64
	if err := db.Write(ctx, func(s *models.Store) (err error) {
		swept, err = s.SweepSignIns(ctx, now.Add(time.Minute))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// One failure each, full again after a minute: name:carol, name:x0..x3,
	// and name:y, whose attempt was given back as the address was blocked.
	if swept != 6 {
		t.Errorf("swept %d rows at +1m, want 6", swept)
	}
	if err := db.Write(ctx, func(s *models.Store) (err error) {
		swept, err = s.SweepSignIns(ctx, now.Add(5*time.Minute))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if swept == 0 {
		t.Error("nothing swept at +5m")
	}
	if !reserve(now.Add(5*time.Minute), "ip:198.51.100.1", "name:bob") {
		t.Error("bob still blocked after the window")
	}
}

// TestSignInThrottleParallel: guesses racing on the writer's connections
// (several at once on PostgreSQL) get exactly the burst, no more.
func TestSignInThrottleParallel(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	now := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			// Half from their own address, half from one shared address
			// with the keys in either order: no deadlock either way.
			keys := []string{fmt.Sprintf("ip:192.0.2.%d", i), "name:eve"}
			switch i % 4 {
			case 1:
				keys = []string{"ip:192.0.2.250", "name:eve"}
			case 3:
				keys = []string{"name:eve", "ip:192.0.2.250"}
			}
			var ok bool
			err := db.Write(ctx, func(s *models.Store) (err error) {
				ok, err = s.ReserveSignIn(ctx, keys, now, signInLimit)
				return err
			})
			if err != nil {
				t.Error(err)
			}
			if ok {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != int32(signInLimit.Burst) {
		t.Errorf("%d parallel attempts allowed, want %d", n, signInLimit.Burst)
	}
}

// BenchmarkSignInFailure is the throttle's cost of one failed sign-in:
// the reservation and the sweep, each its own write transaction.
func BenchmarkSignInFailure(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b)
	now := time.Now()
	i := 0
	for b.Loop() {
		i++
		keys := []string{fmt.Sprintf("ip:198.51.%d.%d", i/250%250, i%250), "name:alice"}
		if err := db.Write(ctx, func(s *models.Store) error {
			_, err := s.ReserveSignIn(ctx, keys, now, signInLimit)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		if err := db.Write(ctx, func(s *models.Store) error {
			_, err := s.SweepSignIns(ctx, now)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
