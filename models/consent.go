package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Consent states for proactive messages (surveys, campaigns, care
// messages). Replies to the customer and order notices they asked for are
// transactional and need none.
const (
	ConsentUnknown = ""    // never answered
	ConsentYes     = "yes" // agreed (the question's Yes, or /start after /stop)
	ConsentNo      = "no"  // declined, or /stop
)

// Consent is a customer's answer about proactive messages. AskedAt records
// the one time kefu asked, so it never asks twice.
type Consent struct {
	CustomerID uint64 `gorm:"primaryKey"`
	State      string `gorm:"size:4;not null;default:''"`
	Source     string `gorm:"size:32"` // how it was given: "button", "/stop", "/start"
	AskedAt    *time.Time
	AnsweredAt *time.Time
}

// Consent returns the customer's consent; the zero state if none is on
// record.
func (s *Store) Consent(ctx context.Context, customerID uint64) (Consent, error) {
	c := Consent{CustomerID: customerID}
	err := s.q(ctx).Where("customer_id = ?", customerID).Take(&c).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return c, fmt.Errorf("consent of customer %d: %w", customerID, err)
	}
	return c, nil
}

// SetConsent records the customer's answer.
func (s *Store) SetConsent(ctx context.Context, customerID uint64, state, source string) error {
	now := s.Now().UTC()
	c := Consent{CustomerID: customerID, State: state, Source: source, AnsweredAt: &now}
	err := s.q(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "customer_id"}}, DoUpdates: clause.AssignmentColumns([]string{"state", "source", "answered_at"})}).
		Create(&c).Error
	if err != nil {
		return fmt.Errorf("set consent of customer %d: %w", customerID, err)
	}
	return nil
}

// MarkConsentAsked records that kefu asked the customer; first is false if
// it had asked before (or the customer had answered unasked), so the
// question goes out once.
func (s *Store) MarkConsentAsked(ctx context.Context, customerID uint64) (first bool, err error) {
	now := s.Now().UTC()
	res := s.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&Consent{CustomerID: customerID, AskedAt: &now})
	if res.Error != nil {
		return false, fmt.Errorf("consent asked of customer %d: %w", customerID, res.Error)
	}
	return res.RowsAffected == 1, nil
}
