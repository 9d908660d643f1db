package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers/loyalty"
	"github.com/kefu-bot/kefu/models"
)

// TestPointsUnderLoad drives order imports (deliveries, re-imports,
// refunds) and redemptions from many goroutines through the engine's
// Writer — group commit, each call in its own savepoint — and then checks
// the ledger: cached balance = sum = every running balance, never
// negative; every lot's remaining = points − allocations; an order earns
// at most once and is reversed at most once; no coupon twice.
func TestPointsUnderLoad(t *testing.T) {
	f := newPointsFixture(t)
	ctx := context.Background()
	w := bot.NewWriter(f.db, 16, 256, nil)
	done := make(chan struct{})
	go func() { w.Run(); close(done) }()
	defer func() { w.Stop(); <-done }()
	rewards, err := f.db.Read().Rewards(ctx, false)
	if err != nil || len(rewards) == 0 {
		t.Fatalf("rewards: %v", err)
	}
	const workers, ops = 8, 60
	var wg sync.WaitGroup
	var mu sync.Mutex
	redeemed := 0
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range ops {
				var fn func(*models.Store) error
				switch ref := fmt.Sprint("R", rng.IntN(20)); rng.IntN(3) {
				case 0, 1:
					status := "delivered"
					if rng.IntN(4) == 0 {
						status = "refunded"
					}
					o := loyalty.Order{Ref: ref, CustomerID: f.cust, Status: status, Total: int64(1000 + rng.IntN(200000)), Currency: "CNY"}
					fn = func(s *models.Store) error { return f.pts.OrderChanged(ctx, s, o) }
				default:
					rw := rewards[rng.IntN(len(rewards))]
					key := fmt.Sprint("redeem:", rng.IntN(40))
					fn = func(s *models.Store) error {
						_, created, err := s.Redeem(ctx, f.cust, rw.ID, key)
						if created {
							mu.Lock()
							redeemed++
							mu.Unlock()
						}
						return err
					}
				}
				if err := w.Do(ctx, fn); err != nil && !errors.Is(err, models.ErrInsufficientPoints) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	s := f.db.Read()
	bal := f.balance()
	hist, err := s.PointsHistory(ctx, f.cust)
	if err != nil {
		t.Fatal(err)
	}
	var run int64
	earned, reversed := map[string]int{}, map[string]int{}
	for _, e := range hist {
		run += e.Points
		if run < 0 || e.Balance != run {
			t.Fatalf("entry %s: running %d, stored %d", e.Key, run, e.Balance)
		}
		if e.RefKind == models.RefOrder {
			switch e.Kind {
			case models.PointsEarn:
				earned[e.RefID]++
			case models.PointsReverse:
				reversed[e.RefID]++
			}
		}
		if e.Points > 0 {
			al, err := s.Allocations(ctx, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			left := e.Points
			for _, a := range al {
				left -= a.Points
			}
			if left != e.Remaining {
				t.Fatalf("lot %s: remaining %d, points − allocations %d", e.Key, e.Remaining, left)
			}
		}
	}
	if run != bal {
		t.Fatalf("sum %d, balance %d", run, bal)
	}
	for ref, n := range earned {
		if n > 1 || reversed[ref] > 1 {
			t.Errorf("order %s earned %d times, reversed %d times", ref, n, reversed[ref])
		}
	}
	for ref := range reversed {
		if earned[ref] == 0 {
			t.Errorf("order %s reversed without having earned", ref)
		}
	}
	reds, err := s.Redemptions(ctx, f.cust)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range reds {
		if seen[r.Coupon] || seen[r.Key] {
			t.Fatalf("coupon %s / key %s twice", r.Coupon, r.Key)
		}
		seen[r.Coupon], seen[r.Key] = true, true
	}
	if len(earned) == 0 || redeemed == 0 {
		t.Fatalf("earned %d orders, %d redemptions: the load proved nothing", len(earned), redeemed)
	}
}
