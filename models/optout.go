package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Opt-out topics: kinds of proactive message a customer can turn off.
const (
	TopicSurveys = "surveys" // surveys and survey campaigns (/nosurvey)
	TopicOrders  = "orders"  // order status notifications (/stop)
)

// OptOut records that a customer asked not to get messages of a topic.
type OptOut struct {
	CustomerID uint64 `gorm:"primaryKey"`
	Topic      string `gorm:"primaryKey;size:16"`
	CreatedAt  time.Time
}

// SetOptOut records (out true) or withdraws a customer's opt-out of a
// topic. Repeating either changes nothing.
func (s *Store) SetOptOut(ctx context.Context, customerID uint64, topic string, out bool) error {
	var err error
	if out {
		err = s.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).
			Create(&OptOut{CustomerID: customerID, Topic: topic, CreatedAt: s.Now()}).Error
	} else {
		err = s.q(ctx).Where("customer_id = ? AND topic = ?", customerID, topic).Delete(&OptOut{}).Error
	}
	if err != nil {
		return fmt.Errorf("opt-out of customer %d from %s: %w", customerID, topic, err)
	}
	return nil
}

// OptedOut reports whether the customer opted out of the topic.
func (s *Store) OptedOut(ctx context.Context, customerID uint64, topic string) (bool, error) {
	var n int64
	if err := s.q(ctx).Model(&OptOut{}).Where("customer_id = ? AND topic = ?", customerID, topic).Count(&n).Error; err != nil {
		return false, fmt.Errorf("opt-out of customer %d from %s: %w", customerID, topic, err)
	}
	return n > 0, nil
}
