package models_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// openAt opens a database whose clock is *now, so tests move time by hand.
func openAt(tb testing.TB, now *time.Time) *models.DB {
	tb.Helper()
	db, err := models.Open(context.Background(), models.Options{Driver: modelstest.Driver(), DSN: modelstest.DSN(tb),
		Now: func() time.Time { return *now }})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustCustomer(tb testing.TB, db *models.DB, ref string) uint64 {
	tb.Helper()
	var id uint64
	err := db.Write(context.Background(), func(s *models.Store) error {
		c, _, _, err := s.ResolveIdentity(context.Background(), models.Contact{Channel: "console", ExternalID: ref, Name: ref})
		id = c.ID
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func move(tb testing.TB, db *models.DB, m models.Movement) (*models.PointsEntry, bool, error) {
	tb.Helper()
	var e *models.PointsEntry
	var created bool
	err := db.Write(context.Background(), func(s *models.Store) error {
		var err error
		e, created, err = s.AddPoints(context.Background(), m)
		return err
	})
	return e, created, err
}

// checkLedger fails unless the cached balance equals the ledger sum, no
// running balance is negative, and every lot's Remaining equals its points
// minus its allocations.
func checkLedger(tb testing.TB, db *models.DB, cust uint64) int64 {
	tb.Helper()
	ctx := context.Background()
	s := db.Read()
	bal, err := s.PointsBalance(ctx, cust)
	if err != nil {
		tb.Fatal(err)
	}
	sum, err := s.LedgerSum(ctx, cust)
	if err != nil {
		tb.Fatal(err)
	}
	if bal != sum || bal < 0 {
		tb.Fatalf("balance %d, ledger sum %d", bal, sum)
	}
	hist, err := s.PointsHistory(ctx, cust)
	if err != nil {
		tb.Fatal(err)
	}
	var run int64
	for _, e := range hist {
		run += e.Points
		if run < 0 || e.Balance != run {
			tb.Fatalf("entry %d (%s): running %d, stored %d", e.ID, e.Key, run, e.Balance)
		}
		if e.Points > 0 {
			al, err := s.Allocations(ctx, e.ID)
			if err != nil {
				tb.Fatal(err)
			}
			left := e.Points
			for _, a := range al {
				left -= a.Points
			}
			if left != e.Remaining || left < 0 {
				tb.Fatalf("lot %d: remaining %d, points minus allocations %d", e.ID, e.Remaining, left)
			}
		}
	}
	return bal
}

func TestAddPoints(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db := openAt(t, &now)
	c := mustCustomer(t, db, "a")
	earn := func(key string, n int64, exp time.Time) models.Movement {
		return models.Movement{CustomerID: c, Kind: models.PointsEarn, Points: n, Key: key, RefKind: models.RefOrder, ExpiresAt: exp}
	}
	year := now.AddDate(1, 0, 0)
	// Lot 1 expires later than lot 2: redemptions take the earliest expiry first.
	l1, _, err := move(t, db, earn("o1", 100, year.AddDate(0, 6, 0)))
	if err != nil {
		t.Fatal(err)
	}
	l2, _, err := move(t, db, earn("o2", 50, year))
	if err != nil {
		t.Fatal(err)
	}
	if _, created, err := move(t, db, earn("o2", 50, year)); err != nil || created {
		t.Fatalf("repeat key: created %v, err %v; want false, nil", created, err)
	}
	r, _, err := move(t, db, models.Movement{CustomerID: c, Kind: models.PointsRedeem, Points: 70, Key: "r1"})
	if err != nil || r.Points != -70 || r.Balance != 80 {
		t.Fatalf("redeem: %+v, %v", r, err)
	}
	_, _, err = move(t, db, models.Movement{CustomerID: c, Kind: models.PointsRedeem, Points: 81, Key: "r2"})
	var ins *models.InsufficientPointsError
	if !errors.As(err, &ins) || ins.Balance != 80 || !errors.Is(err, models.ErrInsufficientPoints) {
		t.Fatalf("overdraw: %v; want insufficient with balance 80", err)
	}
	ctx := context.Background()
	lot2, _ := db.Read().PointsLot(ctx, l2.ID)
	lot1, _ := db.Read().PointsLot(ctx, l1.ID)
	if lot2.Remaining != 0 || lot1.Remaining != 80 {
		t.Fatalf("remaining: lot2 %d lot1 %d; want 0, 80", lot2.Remaining, lot1.Remaining)
	}
	// A partial reversal takes from the named lot only what is there.
	rev, _, err := move(t, db, models.Movement{CustomerID: c, Kind: models.PointsReverse, Points: 50, Key: "o2:rev",
		Lot: l2.ID, Partial: true})
	if err != nil || rev.Points != -50 {
		t.Fatalf("reverse: %+v %v; want -50 taken from the other lot", rev, err)
	}
	if got := checkLedger(t, db, c); got != 30 {
		t.Fatalf("balance %d, want 30", got)
	}
	// Expiring lot 1 (100 earned, 70 used) expires only its 30 left.
	now = year.AddDate(0, 6, 1)
	lots, err := db.Read().ExpiredLots(ctx, now, 10)
	if err != nil || len(lots) != 1 || lots[0].ID != l1.ID {
		t.Fatalf("expired lots: %+v, %v", lots, err)
	}
	ex, _, err := move(t, db, models.Movement{CustomerID: c, Kind: models.PointsExpire, Points: lots[0].Remaining,
		Key: fmt.Sprint("expire:", l1.ID), Lot: l1.ID, OnlyLot: true, Partial: true})
	if err != nil || ex.Points != -30 {
		t.Fatalf("expire: %+v %v", ex, err)
	}
	if got := checkLedger(t, db, c); got != 0 {
		t.Fatalf("balance %d, want 0", got)
	}
	// Nothing left: a partial debit records nothing.
	e, created, err := move(t, db, models.Movement{CustomerID: c, Kind: models.PointsReverse, Points: 5, Key: "x", Partial: true})
	if e != nil || created || err != nil {
		t.Fatalf("empty partial debit: %+v %v %v", e, created, err)
	}
}

func TestRedeemReward(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db := openAt(t, &now)
	ctx := context.Background()
	c := mustCustomer(t, db, "a")
	rw := models.Reward{Code: "MUG", NameEN: "Mug", NameZH: "杯", Cost: 40, Kind: models.RewardGoods, Stock: 1, Active: true}
	if err := db.Write(ctx, func(s *models.Store) error { return s.CreateReward(ctx, &rw) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := move(t, db, models.Movement{CustomerID: c, Kind: models.PointsEarn, Points: 100, Key: "o1"}); err != nil {
		t.Fatal(err)
	}
	redeem := func(key string) (*models.Redemption, bool, error) {
		var red *models.Redemption
		var created bool
		err := db.Write(ctx, func(s *models.Store) error {
			var err error
			red, created, err = s.Redeem(ctx, c, rw.ID, key)
			return err
		})
		return red, created, err
	}
	a, created, err := redeem("k1")
	if err != nil || !created {
		t.Fatalf("redeem: %v %v", created, err)
	}
	b, created, err := redeem("k1")
	if err != nil || created || b.Coupon != a.Coupon {
		t.Fatalf("double click: %+v %v %v; want the first coupon %s", b, created, err, a.Coupon)
	}
	if _, _, err := redeem("k2"); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("out of stock: %v; want ErrConflict", err)
	}
	if got := checkLedger(t, db, c); got != 60 {
		t.Fatalf("balance %d, want 60", got)
	}
}

// TestPointsConcurrent earns and redeems from many goroutines through the
// real write path (one writer, group commit): the balance always equals
// the ledger sum, never goes negative, and no coupon is issued twice.
func TestPointsConcurrent(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db := openAt(t, &now)
	ctx := context.Background()
	custs := []uint64{mustCustomer(t, db, "a"), mustCustomer(t, db, "b")}
	rw := models.Reward{Code: "C", NameEN: "C", NameZH: "C", Cost: 30, Kind: models.RewardCoupon, Stock: -1, Active: true}
	if err := db.Write(ctx, func(s *models.Store) error { return s.CreateReward(ctx, &rw) }); err != nil {
		t.Fatal(err)
	}
	const workers, ops = 8, 40
	var mu sync.Mutex
	coupons := map[string]string{} // coupon → key
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range ops {
				c := custs[rng.IntN(len(custs))]
				// Keys repeat across workers on purpose: double clicks and
				// re-imports racing each other.
				key := fmt.Sprintf("%d:%d", c, rng.IntN(ops))
				fns := []func(*models.Store) error{func(s *models.Store) error {
					if rng.IntN(2) == 0 {
						_, _, err := s.AddPoints(ctx, models.Movement{CustomerID: c, Kind: models.PointsEarn,
							Points: int64(1 + rng.IntN(50)), Key: "earn:" + key, ExpiresAt: now.AddDate(1, 0, 0)})
						return err
					}
					red, _, err := s.Redeem(ctx, c, rw.ID, "redeem:"+key)
					if err != nil {
						return err
					}
					mu.Lock()
					defer mu.Unlock()
					if k, ok := coupons[red.Coupon]; ok && k != red.Key {
						return fmt.Errorf("coupon %s issued for %s and %s", red.Coupon, k, red.Key)
					}
					coupons[red.Coupon] = red.Key
					return nil
				}}
				errs := db.Batch(ctx, fns)
				if err := errs[0]; err != nil && !errors.Is(err, models.ErrInsufficientPoints) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range custs {
		checkLedger(t, db, c)
		reds, err := db.Read().Redemptions(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range reds {
			if seen[r.Coupon] {
				t.Fatalf("coupon %s stored twice", r.Coupon)
			}
			seen[r.Coupon] = true
		}
	}
	if len(coupons) == 0 {
		t.Fatal("no redemption succeeded; the test proves nothing")
	}
}

func BenchmarkPointsBalance(b *testing.B) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db := openAt(b, &now)
	ctx := context.Background()
	c := mustCustomer(b, db, "a")
	for i := range 500 {
		if _, _, err := move(b, db, models.Movement{CustomerID: c, Kind: models.PointsEarn, Points: 10, Key: fmt.Sprint("o", i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Read().PointsBalance(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ledger_sum_500", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Read().LedgerSum(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRedeem(b *testing.B) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db := openAt(b, &now)
	ctx := context.Background()
	c := mustCustomer(b, db, "a")
	rw := models.Reward{Code: "C", NameEN: "C", NameZH: "C", Cost: 1, Kind: models.RewardCoupon, Stock: -1, Active: true}
	if err := db.Write(ctx, func(s *models.Store) error { return s.CreateReward(ctx, &rw) }); err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		if _, _, err := move(b, db, models.Movement{CustomerID: c, Kind: models.PointsEarn, Points: 1_000_000, Key: fmt.Sprint("o", i),
			ExpiresAt: now.AddDate(1, 0, 0)}); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		i++
		if err := db.Write(ctx, func(s *models.Store) error {
			_, _, err := s.Redeem(ctx, c, rw.ID, fmt.Sprint("k", i))
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
