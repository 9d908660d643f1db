package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Reward kinds.
const (
	RewardCoupon  = "coupon"
	RewardGoods   = "goods"
	RewardService = "service"
)

// Reward is one entry of the rewards catalogue. Stock < 0 means unlimited.
// Rewards are deactivated, never deleted, so redemptions keep their name.
type Reward struct {
	ID        uint64    `gorm:"primaryKey" json:"id"`
	Code      string    `gorm:"size:32;not null;uniqueIndex" json:"code"`
	NameEN    string    `gorm:"size:128;not null" json:"name_en"`
	NameZH    string    `gorm:"size:128;not null" json:"name_zh"`
	Cost      int64     `gorm:"not null" json:"cost"`
	Kind      string    `gorm:"size:8;not null" json:"kind"`
	Stock     int64     `gorm:"not null;default:-1" json:"stock"`
	Active    bool      `gorm:"not null;default:true" json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Name returns the reward's name in lang.
func (r *Reward) Name(lang string) string {
	if lang == "zh" && r.NameZH != "" {
		return r.NameZH
	}
	return r.NameEN
}

// Redemption is a reward a customer took for points, with the coupon code
// that proves it. Key is the idempotency key shared with the ledger entry.
type Redemption struct {
	ID         uint64 `gorm:"primaryKey"`
	CustomerID uint64 `gorm:"not null;index"`
	RewardID   uint64 `gorm:"not null;index"`
	Points     int64  `gorm:"not null"`
	Coupon     string `gorm:"size:48;not null;uniqueIndex"`
	Key        string `gorm:"size:128;not null;uniqueIndex"`
	EntryID    uint64 `gorm:"not null"`
	CreatedAt  time.Time
}

// Rewards returns the catalogue, cheapest first; active only unless all.
func (s *Store) Rewards(ctx context.Context, all bool) ([]Reward, error) {
	q := s.q(ctx).Order("cost, id")
	if !all {
		q = q.Where("active")
	}
	var out []Reward
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("rewards: %w", err)
	}
	return out, nil
}

// Reward returns a reward by id.
func (s *Store) Reward(ctx context.Context, id uint64) (*Reward, error) {
	var r Reward
	if err := s.q(ctx).Take(&r, id).Error; err != nil {
		return nil, fmt.Errorf("reward %d: %w", id, notFound(err))
	}
	return &r, nil
}

// CreateReward adds a reward; a duplicate code is ErrConflict.
func (s *Store) CreateReward(ctx context.Context, r *Reward) error {
	res := s.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(r)
	if res.Error != nil {
		return fmt.Errorf("create reward %s: %w", r.Code, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("create reward %s: %w", r.Code, ErrConflict)
	}
	return nil
}

// SaveReward writes every field of an existing reward.
func (s *Store) SaveReward(ctx context.Context, r *Reward) error {
	r.UpdatedAt = s.Now()
	err := s.q(ctx).Model(r).Select("code", "name_en", "name_zh", "cost", "kind", "stock", "active", "updated_at").Updates(r).Error
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return fmt.Errorf("save reward %d: %w", r.ID, ErrConflict)
		}
		return fmt.Errorf("save reward %d: %w", r.ID, err)
	}
	return nil
}

// Redeem spends points on a reward: the ledger entry, the stock, and a
// unique coupon code, all in the caller's transaction. key makes it
// idempotent: a second call with the same key returns the first
// redemption and created false. Errors: ErrNotFound (no such active
// reward), ErrConflict (out of stock), *InsufficientPointsError.
func (s *Store) Redeem(ctx context.Context, customerID, rewardID uint64, key string) (*Redemption, bool, error) {
	var old Redemption
	if err := s.q(ctx).Where("key = ?", key).Take(&old).Error; err == nil {
		return &old, false, nil
	} else if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, false, fmt.Errorf("redeem %s: %w", key, err)
	}
	var r Reward
	if err := s.q(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("active").Take(&r, rewardID).Error; err != nil {
		return nil, false, fmt.Errorf("redeem %s: reward %d: %w", key, rewardID, notFound(err))
	}
	if r.Stock == 0 {
		return nil, false, fmt.Errorf("redeem %s: %s out of stock: %w", key, r.Code, ErrConflict)
	}
	e, created, err := s.AddPoints(ctx, Movement{CustomerID: customerID, Kind: PointsRedeem, Points: r.Cost,
		Reason: "reward " + r.Code, RefKind: RefRedemption, RefID: r.Code, Key: key})
	if err != nil {
		return nil, false, err
	}
	if !created {
		// A concurrent call with the same key got the customer lock first
		// (possible on PostgreSQL): its redemption stands.
		if err := s.q(ctx).Where("key = ?", key).Take(&old).Error; err != nil {
			return nil, false, fmt.Errorf("redeem %s: %w", key, notFound(err))
		}
		return &old, false, nil
	}
	if r.Stock > 0 {
		if err := s.q(ctx).Model(&r).Update("stock", gorm.Expr("stock - 1")).Error; err != nil {
			return nil, false, fmt.Errorf("redeem %s: stock: %w", key, err)
		}
	}
	red := Redemption{CustomerID: customerID, RewardID: r.ID, Points: r.Cost, Key: key, EntryID: e.ID, CreatedAt: s.Now()}
	// A collision of 40 random bits is unlikely; the unique index would
	// turn one into an error rather than a shared code.
	red.Coupon = couponCode(r.Code)
	if err := s.q(ctx).Create(&red).Error; err != nil {
		return nil, false, fmt.Errorf("redeem %s: %w", key, err)
	}
	return &red, true, nil
}

// IssueCoupon records a coupon given for free (a tier upgrade perk) as a
// zero-point redemption of the reward with the given code; key makes it
// idempotent.
func (s *Store) IssueCoupon(ctx context.Context, customerID uint64, rewardCode, key string) (*Redemption, error) {
	var old Redemption
	if err := s.q(ctx).Where("key = ?", key).Take(&old).Error; err == nil {
		return &old, nil
	}
	var r Reward
	if err := s.q(ctx).Where("code = ?", rewardCode).Take(&r).Error; err != nil {
		return nil, fmt.Errorf("issue coupon %s: %w", rewardCode, notFound(err))
	}
	red := Redemption{CustomerID: customerID, RewardID: r.ID, Key: key, Coupon: couponCode(r.Code), CreatedAt: s.Now()}
	if err := s.q(ctx).Create(&red).Error; err != nil {
		return nil, fmt.Errorf("issue coupon %s: %w", key, err)
	}
	return &red, nil
}

// Redemptions returns a customer's redemptions, newest first.
func (s *Store) Redemptions(ctx context.Context, customerID uint64) ([]Redemption, error) {
	var out []Redemption
	if err := s.q(ctx).Where("customer_id = ?", customerID).Order("id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("redemptions of %d: %w", customerID, err)
	}
	return out, nil
}

// couponCode is the reward's code and 8 characters of a base-32 alphabet
// without look-alikes (no 0/O, 1/I).
func couponCode(prefix string) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return strings.ToUpper(prefix) + "-" + string(b)
}
