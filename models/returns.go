package models

import (
	"context"
	"fmt"
	"time"
)

// Return request statuses.
const (
	ReturnRequested = "requested"
	ReturnApproved  = "approved"
	ReturnRejected  = "rejected"
)

// ReturnRequest is a customer's request to return items of an order; its
// ticket (kind return) carries the SLA and the staff conversation.
type ReturnRequest struct {
	ID         uint64   `gorm:"primaryKey"`
	TicketID   uint64   `gorm:"not null;uniqueIndex"`
	CustomerID uint64   `gorm:"not null;index"`
	OrderRef   string   `gorm:"size:32;not null;index"`
	Items      []string `gorm:"serializer:json"`
	Reason     string   `gorm:"size:32"`
	Note       string   `gorm:"type:text"`
	Photos     int      `gorm:"not null;default:0"`
	Status     string   `gorm:"size:16;not null"`
	// Decision is staff's message to the customer with the approval or
	// rejection; DecidedBy who made it.
	Decision  string `gorm:"type:text"`
	DecidedBy string `gorm:"size:96"`
	DecidedAt *time.Time
	CreatedAt time.Time
}

// CreateReturn stores a return request (its ticket exists already).
func (s *Store) CreateReturn(ctx context.Context, r *ReturnRequest) error {
	r.CreatedAt = s.Now()
	if r.Status == "" {
		r.Status = ReturnRequested
	}
	if err := s.q(ctx).Create(r).Error; err != nil {
		return fmt.Errorf("create return for order %s: %w", r.OrderRef, err)
	}
	return nil
}

// ReturnByTicket returns the return request of a ticket, or ErrNotFound.
func (s *Store) ReturnByTicket(ctx context.Context, ticketID uint64) (*ReturnRequest, error) {
	var r ReturnRequest
	if err := s.q(ctx).Where("ticket_id = ?", ticketID).Take(&r).Error; err != nil {
		return nil, fmt.Errorf("return of %s: %w", TicketRef(ticketID), notFound(err))
	}
	return &r, nil
}

// ReturnsOf returns the return requests of the given customers, newest first.
func (s *Store) ReturnsOf(ctx context.Context, customerIDs []uint64, limit int) ([]ReturnRequest, error) {
	var out []ReturnRequest
	if len(customerIDs) == 0 {
		return nil, nil
	}
	if err := s.q(ctx).Where("customer_id IN ?", customerIDs).Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("returns: %w", err)
	}
	return out, nil
}

// DecideReturn approves or rejects a requested return. A return decided
// already gives ErrConflict.
func (s *Store) DecideReturn(ctx context.Context, ticketID uint64, status, message, actor string) (*ReturnRequest, error) {
	now := s.Now()
	res := s.q(ctx).Model(&ReturnRequest{}).Where("ticket_id = ? AND status = ?", ticketID, ReturnRequested).
		Updates(map[string]any{"status": status, "decision": message, "decided_by": actor, "decided_at": now})
	if res.Error != nil {
		return nil, fmt.Errorf("decide return of %s: %w", TicketRef(ticketID), res.Error)
	}
	r, err := s.ReturnByTicket(ctx, ticketID)
	if err != nil {
		return nil, err
	}
	if res.RowsAffected == 0 {
		return r, fmt.Errorf("decide return of %s: %w", TicketRef(ticketID), ErrConflict)
	}
	return r, nil
}
