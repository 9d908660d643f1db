package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// refOffset makes ticket references four digits from the start (T-1001),
// which reads better on a phone than T-1 and is as easy to quote.
const refOffset = 1000

// Ref is the reference customers and staff quote, e.g. "T-1042".
func (t *Ticket) Ref() string { return TicketRef(t.ID) }

// TicketRef formats a ticket id as its reference.
func TicketRef(id uint64) string { return "T-" + strconv.FormatUint(id+refOffset, 10) }

// ParseTicketRef accepts "T-1042", "t1042", "#1042" or "1042" and returns the
// ticket id. ok is false for anything else.
func ParseTicketRef(s string) (id uint64, ok bool) {
	s = strings.TrimSpace(strings.ToUpper(s))
	s = strings.TrimPrefix(s, "#")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "T"), "-")
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n <= refOffset {
		return 0, false
	}
	return n - refOffset, true
}

// IsOpen reports whether staff still have work on the ticket.
func (t *Ticket) IsOpen() bool {
	return t.Status != TicketResolved && t.Status != TicketClosed
}

// CreateTicket stores a new ticket and its "created" timeline entry.
func (s *Store) CreateTicket(ctx context.Context, t *Ticket, actor string) error {
	now := s.Now()
	t.CreatedAt, t.UpdatedAt = now, now
	if t.Status == "" {
		t.Status = TicketNew
	}
	if t.Priority == "" {
		t.Priority = "P3"
	}
	if err := s.q(ctx).Omit("Customer", "Conversation").Create(t).Error; err != nil {
		return fmt.Errorf("create ticket: %w", err)
	}
	return s.AddTicketEvent(ctx, t.ID, "created", actor, t.Subject)
}

// Ticket returns a ticket by id.
func (s *Store) Ticket(ctx context.Context, id uint64) (*Ticket, error) {
	var t Ticket
	if err := s.q(ctx).Take(&t, id).Error; err != nil {
		return nil, fmt.Errorf("ticket %s: %w", TicketRef(id), notFound(err))
	}
	return &t, nil
}

// OpenTickets returns tickets not yet resolved, oldest first.
func (s *Store) OpenTickets(ctx context.Context, limit int) ([]Ticket, error) {
	var out []Ticket
	err := s.q(ctx).Where("status NOT IN ?", []string{TicketResolved, TicketClosed}).
		Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("open tickets: %w", err)
	}
	return out, nil
}

// CustomerTickets returns a customer's tickets, newest first.
func (s *Store) CustomerTickets(ctx context.Context, customerID uint64, limit int) ([]Ticket, error) {
	var out []Ticket
	err := s.q(ctx).Where("customer_id = ?", customerID).Order("id DESC").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("tickets of customer %d: %w", customerID, err)
	}
	return out, nil
}

// AddTicketEvent appends an entry to a ticket's timeline.
func (s *Store) AddTicketEvent(ctx context.Context, ticketID uint64, kind, actor, text string) error {
	e := TicketEvent{TicketID: ticketID, Kind: kind, Actor: actor, Text: text, CreatedAt: s.Now()}
	if err := s.q(ctx).Create(&e).Error; err != nil {
		return fmt.Errorf("add %s event to %s: %w", kind, TicketRef(ticketID), err)
	}
	return nil
}

// TicketEvents returns a ticket's timeline in order.
func (s *Store) TicketEvents(ctx context.Context, ticketID uint64) ([]TicketEvent, error) {
	var out []TicketEvent
	if err := s.q(ctx).Where("ticket_id = ?", ticketID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("events of %s: %w", TicketRef(ticketID), err)
	}
	return out, nil
}

// ClaimTicket assigns an unassigned open ticket to staff. If someone else
// holds it, it returns ErrConflict and the ticket as it is.
func (s *Store) ClaimTicket(ctx context.Context, id uint64, staff string) (*Ticket, error) {
	res := s.q(ctx).Model(&Ticket{}).
		Where("id = ? AND (assignee = '' OR assignee IS NULL OR assignee = ?) AND status NOT IN ?", id, staff, []string{TicketResolved, TicketClosed}).
		Updates(map[string]any{"assignee": staff, "status": TicketOpen, "updated_at": s.Now()})
	if res.Error != nil {
		return nil, fmt.Errorf("claim %s: %w", TicketRef(id), res.Error)
	}
	t, err := s.Ticket(ctx, id)
	if err != nil {
		return nil, err
	}
	if res.RowsAffected == 0 {
		return t, fmt.Errorf("claim %s: %w", TicketRef(id), ErrConflict)
	}
	return t, nil
}

// UpdateTicket writes the named columns of t (Go field names).
func (s *Store) UpdateTicket(ctx context.Context, t *Ticket, fields ...string) error {
	t.UpdatedAt = s.Now()
	err := s.q(ctx).Model(t).Select(append(fields, "UpdatedAt")).Omit("Customer", "Conversation").Updates(t).Error
	if err != nil {
		return fmt.Errorf("update %s: %w", t.Ref(), err)
	}
	return nil
}

// CountRecentComplaints counts a customer's complaint tickets since t.
func (s *Store) CountRecentComplaints(ctx context.Context, customerID uint64, since time.Time) (int, error) {
	var n int64
	err := s.q(ctx).Model(&Ticket{}).Where("customer_id = ? AND kind = ? AND created_at >= ?", customerID, TicketKindComplaint, since).
		Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count complaints of customer %d: %w", customerID, err)
	}
	return int(n), nil
}

// TicketsSince returns every ticket created at or after t, oldest first.
func (s *Store) TicketsSince(ctx context.Context, t time.Time) ([]Ticket, error) {
	var out []Ticket
	if err := s.q(ctx).Where("created_at >= ?", t.UTC()).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("tickets since %s: %w", t.Format(time.DateOnly), err)
	}
	return out, nil
}
