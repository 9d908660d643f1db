package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Ledger entry kinds. Credits (earn, a positive adjust) open a lot that
// expires; debits (redeem, expire, a negative adjust, reverse) consume lots.
const (
	PointsEarn    = "earn"
	PointsRedeem  = "redeem"
	PointsExpire  = "expire"
	PointsAdjust  = "adjust"
	PointsReverse = "reverse"
)

// Reference kinds: what a ledger entry is about.
const (
	RefOrder      = "order"
	RefRedemption = "redemption"
	RefTicket     = "ticket"
	RefStaff      = "staff"
	RefBonus      = "bonus"
	RefLot        = "lot" // an expiry names the lot it expires
)

// ErrInsufficientPoints is matched (errors.Is) by *InsufficientPointsError.
var ErrInsufficientPoints = errors.New("insufficient points")

// InsufficientPointsError says a debit asked for more than the balance.
type InsufficientPointsError struct{ Balance, Need int64 }

func (e *InsufficientPointsError) Error() string {
	return fmt.Sprintf("insufficient points: balance %d, need %d", e.Balance, e.Need)
}

// Unwrap lets errors.Is match ErrInsufficientPoints.
func (e *InsufficientPointsError) Unwrap() error { return ErrInsufficientPoints }

// PointsEntry is one line of the append-only points ledger. Points is signed
// (credits positive, debits negative) and never changes after insert. A
// credit is also a lot: ExpiresAt is when it lapses and Remaining how much
// of it no debit has consumed yet (a cache of Points minus its
// allocations, kept in the same transaction).
type PointsEntry struct {
	ID         uint64 `gorm:"primaryKey"`
	CustomerID uint64 `gorm:"not null;index:idx_points_customer,priority:1;index:idx_points_open,priority:1,where:remaining > 0"`
	Kind       string `gorm:"size:8;not null"`
	Points     int64  `gorm:"not null"`
	Reason     string `gorm:"size:255"`
	RefKind    string `gorm:"size:16"`
	RefID      string `gorm:"size:64;index"`
	// Key makes every movement idempotent: "order:R1:earn", "redeem:<msg id>".
	Key string `gorm:"size:128;not null;uniqueIndex"`
	// Amount and Currency are the order's value (minor units) on earn and
	// reverse entries, so tiers can use rolling spend without an order table.
	Amount    int64      `gorm:"not null;default:0"`
	Currency  string     `gorm:"size:3"`
	Actor     string     `gorm:"size:96"`
	ExpiresAt *time.Time `gorm:"index"`
	Remaining int64      `gorm:"not null;default:0"`
	// Balance is the customer's balance right after this entry (running
	// balance for statements).
	Balance   int64     `gorm:"not null"`
	CreatedAt time.Time `gorm:"index:idx_points_customer,priority:2"`
}

// PointsAllocation records which lot a debit took points from, so expiring
// a partly used lot expires only the rest.
type PointsAllocation struct {
	ID      uint64 `gorm:"primaryKey"`
	EntryID uint64 `gorm:"not null;index"`
	LotID   uint64 `gorm:"not null;index"`
	Points  int64  `gorm:"not null"`
}

// Movement is a change to a customer's points, as asked for by a caller.
type Movement struct {
	CustomerID uint64
	Kind       string
	// Points is the size of the change, > 0. Earn and adjust with Credit
	// add; every other kind takes.
	Points  int64
	Credit  bool // for adjust: add rather than take
	Reason  string
	RefKind string
	RefID   string
	Key     string
	Amount  int64
	// Currency of Amount.
	Currency  string
	Actor     string
	ExpiresAt time.Time // lot expiry of a credit; zero never expires
	// Lot, if set, is consumed before any other (an order's reversal takes
	// back the points that order earned); with OnlyLot nothing else is.
	Lot     uint64
	OnlyLot bool
	// Partial takes what there is when the balance is short instead of
	// failing (reversals and expiry must never drive a balance negative).
	Partial bool
}

func (m Movement) credit() bool { return m.Kind == PointsEarn || m.Kind == PointsAdjust && m.Credit }

// AddPoints appends one movement to the ledger and returns its entry. A
// movement whose Key is already in the ledger changes nothing and returns
// the earlier entry with created false. A debit larger than the balance
// fails with *InsufficientPointsError unless Partial; a partial debit of
// nothing available records nothing and returns (nil, false, nil).
//
// The customer row is locked first (SELECT … FOR UPDATE; a no-op on
// SQLite, where the single writer connection already serialises), so two
// writers never compute a balance from the same snapshot.
func (s *Store) AddPoints(ctx context.Context, m Movement) (*PointsEntry, bool, error) {
	if m.Points <= 0 || m.Key == "" || m.CustomerID == 0 {
		return nil, false, fmt.Errorf("add points %q: points, key and customer are required", m.Key)
	}
	var cust Customer
	if err := s.q(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Take(&cust, m.CustomerID).Error; err != nil {
		return nil, false, fmt.Errorf("add points %s: customer %d: %w", m.Key, m.CustomerID, notFound(err))
	}
	if e, err := s.PointsEntryByKey(ctx, m.Key); err == nil {
		return e, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	now := s.Now()
	e := PointsEntry{CustomerID: m.CustomerID, Kind: m.Kind, Reason: truncate(m.Reason, 255), RefKind: m.RefKind,
		RefID: m.RefID, Key: m.Key, Amount: m.Amount, Currency: m.Currency, Actor: m.Actor, CreatedAt: now}
	var allocs []PointsAllocation
	if m.credit() {
		e.Points, e.Remaining = m.Points, m.Points
		if !m.ExpiresAt.IsZero() {
			t := m.ExpiresAt.UTC()
			e.ExpiresAt = &t
		}
	} else {
		want := m.Points
		if want > cust.PointsBalance {
			if !m.Partial {
				return nil, false, fmt.Errorf("add points %s: %w", m.Key,
					&InsufficientPointsError{Balance: cust.PointsBalance, Need: want})
			}
			want = cust.PointsBalance
		}
		var err error
		if allocs, err = s.allocate(ctx, m, want); err != nil {
			return nil, false, err
		}
		var took int64
		for _, a := range allocs {
			took += a.Points
		}
		// A reversal with nothing left to take is still recorded when it
		// carries an order amount, so rolling spend drops by that order.
		if took == 0 && (m.Kind != PointsReverse || m.Amount == 0) {
			return nil, false, nil
		}
		e.Points = -took
	}
	e.Balance = cust.PointsBalance + e.Points
	if e.Balance < 0 {
		return nil, false, fmt.Errorf("add points %s: balance would be %d", m.Key, e.Balance)
	}
	res := s.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&e)
	if res.Error != nil {
		return nil, false, fmt.Errorf("add points %s: %w", m.Key, res.Error)
	}
	if res.RowsAffected == 0 {
		// Lost a race on the key (possible on PostgreSQL only if the lock
		// were skipped): the earlier entry stands.
		old, err := s.PointsEntryByKey(ctx, m.Key)
		return old, false, err
	}
	for i := range allocs {
		allocs[i].EntryID = e.ID
		if err := s.q(ctx).Model(&PointsEntry{}).Where("id = ?", allocs[i].LotID).
			Update("remaining", gorm.Expr("remaining - ?", allocs[i].Points)).Error; err != nil {
			return nil, false, fmt.Errorf("add points %s: lot %d: %w", m.Key, allocs[i].LotID, err)
		}
	}
	if len(allocs) > 0 {
		if err := s.q(ctx).Create(&allocs).Error; err != nil {
			return nil, false, fmt.Errorf("add points %s: allocations: %w", m.Key, err)
		}
	}
	if err := s.q(ctx).Model(&Customer{}).Where("id = ?", m.CustomerID).
		Update("points_balance", e.Balance).Error; err != nil {
		return nil, false, fmt.Errorf("add points %s: balance: %w", m.Key, err)
	}
	return &e, true, nil
}

// allocate picks the lots a debit of want points takes from: m.Lot first,
// then (unless OnlyLot) open lots by earliest expiry — the oldest points
// go first, so the customer loses as few as possible to expiry. Lots
// without expiry go last.
func (s *Store) allocate(ctx context.Context, m Movement, want int64) ([]PointsAllocation, error) {
	var lots []PointsEntry
	if m.Lot != 0 {
		var l PointsEntry
		err := s.q(ctx).Where("id = ? AND customer_id = ? AND remaining > 0", m.Lot, m.CustomerID).Take(&l).Error
		if err == nil {
			lots = append(lots, l)
		} else if err = notFound(err); !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("allocate %s: %w", m.Key, err)
		}
	}
	var out []PointsAllocation
	take := func(lots []PointsEntry) {
		for _, l := range lots {
			if want == 0 {
				return
			}
			n := min(want, l.Remaining)
			out = append(out, PointsAllocation{LotID: l.ID, Points: n})
			want -= n
		}
	}
	take(lots)
	// Read open lots a page at a time: a redemption usually needs one or
	// two, while a loyal customer may hold hundreds.
	const page = 16
	for offset := 0; want > 0 && !m.OnlyLot; offset += page {
		var more []PointsEntry
		err := s.q(ctx).Where("customer_id = ? AND remaining > 0 AND id <> ?", m.CustomerID, m.Lot).
			Order("expires_at IS NULL, expires_at, id").Limit(page).Offset(offset).Find(&more).Error
		if err != nil {
			return nil, fmt.Errorf("allocate %s: %w", m.Key, err)
		}
		take(more)
		if len(more) < page {
			break
		}
	}
	return out, nil
}

// PointsEntryByKey returns the ledger entry with an idempotency key.
func (s *Store) PointsEntryByKey(ctx context.Context, key string) (*PointsEntry, error) {
	var e PointsEntry
	if err := s.q(ctx).Where("key = ?", key).Take(&e).Error; err != nil {
		return nil, fmt.Errorf("points entry %s: %w", key, notFound(err))
	}
	return &e, nil
}

// PointsEntriesByRef returns a customer's entries about one reference.
func (s *Store) PointsEntriesByRef(ctx context.Context, customerID uint64, refKind, refID string) ([]PointsEntry, error) {
	var out []PointsEntry
	err := s.q(ctx).Where("customer_id = ? AND ref_kind = ? AND ref_id = ?", customerID, refKind, refID).Order("id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("points entries of %s %s: %w", refKind, refID, err)
	}
	return out, nil
}

// PointsBalance returns a customer's balance (the maintained cache of the
// ledger sum; LedgerSum recomputes it).
func (s *Store) PointsBalance(ctx context.Context, customerID uint64) (int64, error) {
	var b int64
	err := s.q(ctx).Model(&Customer{}).Where("id = ?", customerID).Select("points_balance").Scan(&b).Error
	if err != nil {
		return 0, fmt.Errorf("points balance of %d: %w", customerID, err)
	}
	return b, nil
}

// LedgerSum adds up a customer's ledger from scratch.
func (s *Store) LedgerSum(ctx context.Context, customerID uint64) (int64, error) {
	var b int64
	err := s.q(ctx).Model(&PointsEntry{}).Where("customer_id = ?", customerID).
		Select("COALESCE(SUM(points), 0)").Scan(&b).Error
	if err != nil {
		return 0, fmt.Errorf("ledger sum of %d: %w", customerID, err)
	}
	return b, nil
}

// PointsHistory returns a customer's ledger, oldest first.
func (s *Store) PointsHistory(ctx context.Context, customerID uint64) ([]PointsEntry, error) {
	var out []PointsEntry
	if err := s.q(ctx).Where("customer_id = ?", customerID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("points history of %d: %w", customerID, err)
	}
	return out, nil
}

// OpenLots returns a customer's lots with points left, earliest expiry first.
func (s *Store) OpenLots(ctx context.Context, customerID uint64) ([]PointsEntry, error) {
	var out []PointsEntry
	err := s.q(ctx).Where("customer_id = ? AND remaining > 0", customerID).
		Order("expires_at IS NULL, expires_at, id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("open lots of %d: %w", customerID, err)
	}
	return out, nil
}

// PointsLot returns one ledger entry by id.
func (s *Store) PointsLot(ctx context.Context, id uint64) (*PointsEntry, error) {
	var e PointsEntry
	if err := s.q(ctx).Take(&e, id).Error; err != nil {
		return nil, fmt.Errorf("points lot %d: %w", id, notFound(err))
	}
	return &e, nil
}

// ExpiredLots returns lots with points left whose expiry is at or before
// now, across customers, up to limit.
func (s *Store) ExpiredLots(ctx context.Context, now time.Time, limit int) ([]PointsEntry, error) {
	var out []PointsEntry
	err := s.q(ctx).Where("remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ?", now.UTC()).
		Order("expires_at, id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("expired lots: %w", err)
	}
	return out, nil
}

// ExpiringLots returns lots with points left that expire after from and
// at or before to, across customers, up to limit.
func (s *Store) ExpiringLots(ctx context.Context, from, to time.Time, limit int) ([]PointsEntry, error) {
	var out []PointsEntry
	err := s.q(ctx).Where("remaining > 0 AND expires_at > ? AND expires_at <= ?", from.UTC(), to.UTC()).
		Order("expires_at, id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("expiring lots: %w", err)
	}
	return out, nil
}

// Allocations returns the allocations of a lot.
func (s *Store) Allocations(ctx context.Context, lotID uint64) ([]PointsAllocation, error) {
	var out []PointsAllocation
	if err := s.q(ctx).Where("lot_id = ?", lotID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("allocations of lot %d: %w", lotID, err)
	}
	return out, nil
}

// RollingSpend is what a customer's earning orders added up to since t
// (minor units): earn amounts minus reversed amounts.
func (s *Store) RollingSpend(ctx context.Context, customerID uint64, since time.Time) (int64, error) {
	var v int64
	err := s.q(ctx).Model(&PointsEntry{}).
		Where("customer_id = ? AND ref_kind = ? AND kind IN ? AND created_at >= ?", customerID, RefOrder,
			[]string{PointsEarn, PointsReverse}, since.UTC()).
		Select("COALESCE(SUM(CASE WHEN kind = 'earn' THEN amount ELSE -amount END), 0)").Scan(&v).Error
	if err != nil {
		return 0, fmt.Errorf("rolling spend of %d: %w", customerID, err)
	}
	return v, nil
}

// PointsEarnedSince adds up the credits of a customer since t.
func (s *Store) PointsEarnedSince(ctx context.Context, customerID uint64, since time.Time) (int64, error) {
	var v int64
	err := s.q(ctx).Model(&PointsEntry{}).
		Where("customer_id = ? AND points > 0 AND created_at >= ?", customerID, since.UTC()).
		Select("COALESCE(SUM(points), 0)").Scan(&v).Error
	if err != nil {
		return 0, fmt.Errorf("points earned by %d: %w", customerID, err)
	}
	return v, nil
}

// SetCustomerTier records a customer's loyalty tier.
func (s *Store) SetCustomerTier(ctx context.Context, id uint64, tier string) error {
	if err := s.q(ctx).Model(&Customer{}).Where("id = ?", id).Update("tier", tier).Error; err != nil {
		return fmt.Errorf("set tier of customer %d: %w", id, err)
	}
	return nil
}

// CustomerByRef returns the customer with the shop's reference.
func (s *Store) CustomerByRef(ctx context.Context, ref string) (*Customer, error) {
	var c Customer
	if err := s.q(ctx).Where("ref = ?", ref).Take(&c).Error; err != nil {
		return nil, fmt.Errorf("customer %s: %w", ref, notFound(err))
	}
	return &c, nil
}

// CustomerConversation returns the customer's most recently active
// private conversation, for notices the customer did not ask for.
func (s *Store) CustomerConversation(ctx context.Context, customerID uint64) (*Conversation, error) {
	var c Conversation
	err := s.q(ctx).Where("customer_id = ? AND kind = ?", customerID, KindCustomer).
		Order("last_activity_at DESC, id DESC").Take(&c).Error
	if err != nil {
		return nil, fmt.Errorf("conversation of customer %d: %w", customerID, notFound(err))
	}
	return &c, nil
}

// LoyaltyCustomers returns the ids of customers with any ledger entry, for
// the nightly tier review.
func (s *Store) LoyaltyCustomers(ctx context.Context) ([]uint64, error) {
	var ids []uint64
	if err := s.q(ctx).Model(&PointsEntry{}).Distinct("customer_id").Order("customer_id").Pluck("customer_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("loyalty customers: %w", err)
	}
	return ids, nil
}

// Liability is the points a shop owes its customers.
type Liability struct {
	Outstanding int64            `json:"outstanding"`
	Expiring30  int64            `json:"expiring_30d"`
	Expiring90  int64            `json:"expiring_90d"`
	Customers   int64            `json:"customers"`
	ByTier      map[string]int64 `json:"by_tier"`
}

// PointsLiability sums outstanding points, what expires within 30 and 90
// days of now, and the balance per tier.
func (s *Store) PointsLiability(ctx context.Context, now time.Time) (Liability, error) {
	l := Liability{ByTier: map[string]int64{}}
	var rows []struct {
		Tier  string
		N     int64
		Total int64
	}
	err := s.q(ctx).Model(&Customer{}).Where("points_balance > 0").
		Select("tier, COUNT(*) AS n, SUM(points_balance) AS total").Group("tier").Scan(&rows).Error
	if err != nil {
		return l, fmt.Errorf("points liability: %w", err)
	}
	for _, r := range rows {
		l.Outstanding += r.Total
		l.Customers += r.N
		l.ByTier[r.Tier] = r.Total
	}
	exp := func(d time.Duration) (int64, error) {
		var v int64
		err := s.q(ctx).Model(&PointsEntry{}).Where("remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ?", now.Add(d).UTC()).
			Select("COALESCE(SUM(remaining), 0)").Scan(&v).Error
		return v, err
	}
	if l.Expiring30, err = exp(30 * 24 * time.Hour); err != nil {
		return l, fmt.Errorf("points liability: %w", err)
	}
	if l.Expiring90, err = exp(90 * 24 * time.Hour); err != nil {
		return l, fmt.Errorf("points liability: %w", err)
	}
	return l, nil
}
