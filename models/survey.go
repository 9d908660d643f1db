package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Survey request states.
const (
	SurveySent      = "sent"      // asked, no answer yet
	SurveyAnswered  = "answered"  // scored (or part answered), the comment or later questions pending
	SurveyCompleted = "completed" // finished
	SurveyExpired   = "expired"   // never answered in time
)

// SurveyRequest is one survey sent to one customer, and the answer it got.
// Key is unique: a trigger (a resolved ticket, a delivered order, a
// campaign) sends its survey once however often it fires.
type SurveyRequest struct {
	ID             uint64 `gorm:"primaryKey"`
	Key            string `gorm:"size:128;not null;uniqueIndex"`
	CustomerID     uint64 `gorm:"not null;index:idx_survey_customer,priority:1"`
	ConversationID uint64 `gorm:"not null"`
	// Kind is csat, nps or questionnaire; Survey the definition's name
	// ("csat" and "nps" for the built-in ones).
	Kind   string `gorm:"size:16;not null"`
	Survey string `gorm:"size:32;not null"`
	// Ref is what the survey is about: a ticket ref, an order ref, a
	// campaign id.
	Ref string `gorm:"size:64"`
	// Channel, Agent and Category are kept for the report: where it was
	// asked, who handled the ticket, the ticket's category.
	Channel     string    `gorm:"size:16"`
	Agent       string    `gorm:"size:64"`
	Category    string    `gorm:"size:32"`
	Lang        string    `gorm:"size:8"`
	State       string    `gorm:"size:10;not null;index"`
	SentAt      time.Time `gorm:"not null;index:idx_survey_customer,priority:2"`
	ExpiresAt   time.Time `gorm:"not null"`
	AnsweredAt  *time.Time
	CompletedAt *time.Time
	// Score is the CSAT (1–5) or NPS (0–10) answer.
	Score   *int
	Comment string `gorm:"type:text"`
	// Answers are a questionnaire's answers by question id; Step is the
	// question being asked.
	Answers map[string][]string `gorm:"serializer:json"`
	Step    string              `gorm:"size:16"`
	// RecoveryTicketID is the follow-up ticket a low score opened.
	RecoveryTicketID *uint64
}

// Answered reports whether the customer answered anything.
func (r *SurveyRequest) Answered() bool { return r.AnsweredAt != nil }

// Open reports whether the survey still takes answers at now.
func (r *SurveyRequest) Open(now time.Time) bool {
	return r.State != SurveyExpired && now.Before(r.ExpiresAt)
}

// FeedbackNote is feedback a customer gave unprompted ("love the new
// packaging"), stored for the shop to read.
type FeedbackNote struct {
	ID             uint64 `gorm:"primaryKey"`
	CustomerID     uint64 `gorm:"not null;index"`
	ConversationID uint64 `gorm:"not null"`
	Channel        string `gorm:"size:16"`
	Text           string `gorm:"type:text"`
	CreatedAt      time.Time
}

// CreateSurveyRequest stores r unless a request with its key exists;
// created is false then (the trigger fired before) and r is unchanged.
func (s *Store) CreateSurveyRequest(ctx context.Context, r *SurveyRequest) (bool, error) {
	res := s.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(r)
	if res.Error != nil {
		return false, fmt.Errorf("create survey request %s: %w", r.Key, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// SurveyRequest returns a request by id, or ErrNotFound.
func (s *Store) SurveyRequest(ctx context.Context, id uint64) (*SurveyRequest, error) {
	var r SurveyRequest
	if err := s.q(ctx).Take(&r, id).Error; err != nil {
		return nil, fmt.Errorf("survey request %d: %w", id, notFound(err))
	}
	return &r, nil
}

// SaveSurveyRequest writes every field of r.
func (s *Store) SaveSurveyRequest(ctx context.Context, r *SurveyRequest) error {
	if err := s.q(ctx).Save(r).Error; err != nil {
		return fmt.Errorf("save survey request %d: %w", r.ID, err)
	}
	return nil
}

// LastSurveySent returns when the customer was last sent a survey; ok is
// false if never.
func (s *Store) LastSurveySent(ctx context.Context, customerID uint64) (t time.Time, ok bool, err error) {
	var r SurveyRequest
	err = s.q(ctx).Select("sent_at").Where("customer_id = ?", customerID).Order("sent_at DESC").Take(&r).Error
	if err = notFound(err); err == ErrNotFound {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("last survey of customer %d: %w", customerID, err)
	}
	return r.SentAt, true, nil
}

// SurveyRequestsSince returns the requests sent at or after since, oldest
// first, for reports.
func (s *Store) SurveyRequestsSince(ctx context.Context, since time.Time) ([]SurveyRequest, error) {
	var out []SurveyRequest
	if err := s.q(ctx).Where("sent_at >= ?", since.UTC()).Order("sent_at, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("survey requests: %w", err)
	}
	return out, nil
}

// AddFeedbackNote stores unprompted feedback.
func (s *Store) AddFeedbackNote(ctx context.Context, n *FeedbackNote) error {
	n.CreatedAt = s.Now()
	// Plain SQL: a tenth of a busy shop's turns are feedback, and GORM's
	// Create costs several times the insert.
	const q = "INSERT INTO feedback_notes (" + feedbackNoteColumns + ") VALUES (?, ?, ?, ?, ?)"
	args := []any{int64(n.CustomerID), int64(n.ConversationID), n.Channel, n.Text, n.CreatedAt}
	if s.postgres() {
		if err := s.scanOne(ctx, q+" RETURNING id", args, &n.ID); err != nil {
			return fmt.Errorf("add feedback: %w", err)
		}
		return nil
	}
	res, err := s.execSQL(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("add feedback: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("add feedback: %w", err)
	}
	n.ID = uint64(id)
	return nil
}

// feedbackNoteColumns is every column of feedback_notes but id
// (TestHotPathColumns).
const feedbackNoteColumns = "customer_id, conversation_id, channel, text, created_at"

// FeedbackNotes returns the latest unprompted feedback, newest first.
func (s *Store) FeedbackNotes(ctx context.Context, limit int) ([]FeedbackNote, error) {
	var out []FeedbackNote
	if err := s.q(ctx).Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("feedback notes: %w", err)
	}
	return out, nil
}

// Reachable reports whether the customer has an identity on channel that
// the platform has not refused (blocked the bot).
func (s *Store) Reachable(ctx context.Context, customerID uint64, channel string) (bool, error) {
	var n int64
	err := s.q(ctx).Model(&Identity{}).Where("customer_id = ? AND channel = ? AND NOT unreachable", customerID, channel).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("reachable customer %d: %w", customerID, err)
	}
	return n > 0, nil
}

// Segment selects customers for a survey campaign. Zero fields do not
// filter.
type Segment struct {
	Language  string    // "en" or "zh"
	Tier      string    // stored tier name
	Channel   string    // has a reachable identity on this channel
	SeenSince time.Time // wrote to the shop at or after
	// HasOrders: true only customers with a delivered order on record
	// (orders.delivered_at set), false only those without.
	HasOrders *bool
	// Stage and Value: the lifecycle stage and value segment of the last
	// segment refresh (customer_segments).
	Stage string
	Value string
}

// SegmentCustomers returns the ids of customers in the segment who have a
// customer conversation, have not opted out of surveys and can be reached
// on at least one channel, in id order.
func (s *Store) SegmentCustomers(ctx context.Context, g Segment) ([]uint64, error) {
	q := s.q(ctx).Model(&Customer{}).
		Where("EXISTS (SELECT 1 FROM conversations v WHERE v.customer_id = customers.id AND v.kind = ?)", KindCustomer).
		Where("NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.customer_id = customers.id AND o.topic = ?)", TopicSurveys)
	if g.Channel != "" {
		q = q.Where("EXISTS (SELECT 1 FROM identities i WHERE i.customer_id = customers.id AND i.channel = ? AND NOT i.unreachable)", g.Channel)
	} else {
		q = q.Where("EXISTS (SELECT 1 FROM identities i WHERE i.customer_id = customers.id AND NOT i.unreachable)")
	}
	if g.Language != "" {
		q = q.Where("language = ?", g.Language)
	}
	if g.Tier != "" {
		q = q.Where("tier = ?", g.Tier)
	}
	if !g.SeenSince.IsZero() {
		q = q.Where("last_seen_at >= ?", g.SeenSince.UTC())
	}
	if g.HasOrders != nil {
		// Verification moves a chat-only customer onto the order's
		// customer, so the order's own customer is the one to look at.
		orders := "EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = customers.id AND o.delivered_at IS NOT NULL)"
		if !*g.HasOrders {
			orders = "NOT " + orders
		}
		q = q.Where(orders)
	}
	if g.Stage != "" {
		q = q.Where("EXISTS (SELECT 1 FROM customer_segments g WHERE g.customer_id = customers.id AND g.stage = ?)", g.Stage)
	}
	if g.Value != "" {
		q = q.Where("EXISTS (SELECT 1 FROM customer_segments g WHERE g.customer_id = customers.id AND g.value = ?)", g.Value)
	}
	var ids []uint64
	if err := q.Order("id").Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("segment customers: %w", err)
	}
	return ids, nil
}
