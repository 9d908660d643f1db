package handlers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/handlers/loyalty"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

type pointsFixture struct {
	t    *testing.T
	db   *models.DB
	now  time.Time
	pts  *handlers.Points
	cust uint64
}

func newPointsFixture(t *testing.T) *pointsFixture {
	t.Helper()
	f := &pointsFixture{t: t, now: time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)}
	db, err := models.Open(context.Background(), models.Options{Driver: modelstest.Driver(), DSN: modelstest.DSN(t),
		Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	f.pts = handlers.NewPoints(loyalty.DefaultRules(), time.UTC, "FREESHIP")
	f.write(func(s *models.Store) error {
		for _, r := range models.DemoRewards() {
			if err := s.CreateReward(context.Background(), &r); err != nil {
				return err
			}
		}
		c, _, _, err := s.ResolveIdentity(context.Background(), models.Contact{Channel: "console", ExternalID: "u1"})
		f.cust = c.ID
		return err
	})
	return f
}

func (f *pointsFixture) write(fn func(s *models.Store) error) {
	f.t.Helper()
	if err := f.db.Write(context.Background(), fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *pointsFixture) order(o loyalty.Order) {
	f.t.Helper()
	o.CustomerID = f.cust
	f.write(func(s *models.Store) error { return f.pts.OrderChanged(context.Background(), s, o) })
}

func (f *pointsFixture) balance() int64 {
	f.t.Helper()
	ctx := context.Background()
	b, err := f.db.Read().PointsBalance(ctx, f.cust)
	if err != nil {
		f.t.Fatal(err)
	}
	sum, err := f.db.Read().LedgerSum(ctx, f.cust)
	if err != nil || sum != b {
		f.t.Fatalf("balance %d, ledger sum %d (%v)", b, sum, err)
	}
	return b
}

func TestOrderChanged(t *testing.T) {
	f := newPointsFixture(t)
	o := loyalty.Order{Ref: "R1", Status: "paid", Total: 30000, Currency: "CNY", First: true}
	f.order(o)
	if got := f.balance(); got != 0 {
		t.Fatalf("paid order earned %d, want 0", got)
	}
	o.Status = "delivered"
	for range 3 { // re-imported: earns once
		f.order(o)
	}
	// 300 for ¥300 plus the first-order bonus.
	if got := f.balance(); got != 400 {
		t.Fatalf("after delivery: %d, want 400", got)
	}
	// A second delivered order is not first, whatever the import says of
	// First: the bonus key is per customer.
	f.order(loyalty.Order{Ref: "R2", Status: "delivered", Total: 10000, Currency: "CNY", First: true})
	if got := f.balance(); got != 500 {
		t.Fatalf("after second order: %d, want 500", got)
	}
	// Spend part of R1's points, then return R1: only what is left comes back.
	f.write(func(s *models.Store) error {
		_, _, err := s.AddPoints(context.Background(), models.Movement{CustomerID: f.cust, Kind: models.PointsRedeem, Points: 450, Key: "r"})
		return err
	})
	o.Status = "returned"
	f.order(o)
	f.order(o)
	if got := f.balance(); got != 0 {
		t.Fatalf("after return: %d, want 0 (never negative)", got)
	}
	// A stale "delivered" import after the return earns nothing.
	o.Status = "delivered"
	f.order(o)
	if got := f.balance(); got != 0 {
		t.Fatalf("late delivered import: %d, want 0", got)
	}
	spend, err := f.db.Read().RollingSpend(context.Background(), f.cust, f.now.AddDate(-1, 0, 0))
	if err != nil || spend != 10000 {
		t.Fatalf("rolling spend %d (%v), want 10000: the returned order no longer counts", spend, err)
	}
}

func TestTierUpgradeGivesCouponOnce(t *testing.T) {
	f := newPointsFixture(t)
	ctx := context.Background()
	// ¥5,000 delivered: 资深 straight from 新手 (the first evaluation of a
	// customer without a tier is silent; the second order moves them up).
	f.order(loyalty.Order{Ref: "A", Status: "delivered", Total: 10000, Currency: "CNY"})
	c, _ := f.db.Read().Customer(ctx, f.cust)
	if c.Tier != "新手" {
		t.Fatalf("tier %q, want 新手", c.Tier)
	}
	f.order(loyalty.Order{Ref: "B", Status: "delivered", Total: 500000, Currency: "CNY"})
	c, _ = f.db.Read().Customer(ctx, f.cust)
	if c.Tier != "资深" {
		t.Fatalf("tier %q, want 资深", c.Tier)
	}
	reds, err := f.db.Read().Redemptions(ctx, f.cust)
	if err != nil || len(reds) != 1 || reds[0].Points != 0 {
		t.Fatalf("upgrade coupon: %+v, %v", reds, err)
	}
	// Earning at 资深 is ×1.5.
	f.order(loyalty.Order{Ref: "C", Status: "delivered", Total: 10000, Currency: "CNY"})
	e, err := f.db.Read().PointsEntryByKey(ctx, "order:C:earn")
	if err != nil || e.Points != 150 {
		t.Fatalf("earn at 资深: %+v, %v; want 150", e, err)
	}
	// Returning B drops the tier; coming back does not give a second coupon.
	f.order(loyalty.Order{Ref: "B", Status: "refunded", Total: 500000, Currency: "CNY"})
	c, _ = f.db.Read().Customer(ctx, f.cust)
	if c.Tier != "新手" {
		t.Fatalf("after refund tier %q, want 新手", c.Tier)
	}
	f.order(loyalty.Order{Ref: "D", Status: "delivered", Total: 500000, Currency: "CNY"})
	reds, _ = f.db.Read().Redemptions(ctx, f.cust)
	if len(reds) != 1 {
		t.Fatalf("%d upgrade coupons, want 1", len(reds))
	}
}

func TestSurveyCompletedOnce(t *testing.T) {
	f := newPointsFixture(t)
	for range 2 {
		f.write(func(s *models.Store) error {
			return f.pts.SurveyCompleted(context.Background(), s, f.cust, "csat-T-1001")
		})
	}
	if got := f.balance(); got != 20 {
		t.Fatalf("balance %d, want 20", got)
	}
}

func TestAdjust(t *testing.T) {
	f := newPointsFixture(t)
	ctx := context.Background()
	f.write(func(s *models.Store) error {
		_, err := f.pts.Adjust(ctx, s, f.cust, 100, "goodwill", "cli", models.RefStaff, "", "k1")
		return err
	})
	err := f.db.Write(ctx, func(s *models.Store) error {
		_, err := f.pts.Adjust(ctx, s, f.cust, -101, "too much", "cli", models.RefStaff, "", "k2")
		return err
	})
	if !errors.Is(err, models.ErrInsufficientPoints) {
		t.Fatalf("overdraw: %v", err)
	}
	if got := f.balance(); got != 100 {
		t.Fatalf("balance %d, want 100", got)
	}
	logs, _ := f.db.Read().AuditLogs(ctx, 10)
	if len(logs) != 1 || logs[0].Action != "points.adjust" {
		t.Fatalf("audit: %+v", logs)
	}
}

func TestTierOutsideProgrammeIsKept(t *testing.T) {
	f := newPointsFixture(t)
	ctx := context.Background()
	f.write(func(s *models.Store) error { return s.SetCustomerTier(ctx, f.cust, "VIP") })
	f.order(loyalty.Order{Ref: "A", Status: "delivered", Total: 900000, Currency: "CNY"})
	c, _ := f.db.Read().Customer(ctx, f.cust)
	if c.Tier != "VIP" {
		t.Fatalf("tier %q, want VIP kept", c.Tier)
	}
	if got := f.balance(); got != 9000 {
		t.Fatalf("balance %d, want 9000 (unknown tier earns ×1)", got)
	}
}
