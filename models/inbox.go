package models

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm/clause"
)

// StaffAccount is a person who signs in to the web inbox. The password is
// kept only as a bcrypt hash; the hashing happens in the caller (bot/web),
// so models never sees a plain password.
type StaffAccount struct {
	ID           uint64 `gorm:"primaryKey"`
	Name         string `gorm:"size:64;not null;uniqueIndex"`
	PasswordHash []byte `gorm:"not null"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CreateStaff adds a staff account. A taken name is ErrConflict.
func (s *Store) CreateStaff(ctx context.Context, name string, hash []byte) (*StaffAccount, error) {
	now := s.Now()
	a := &StaffAccount{Name: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	res := s.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(a)
	if res.Error != nil {
		return nil, fmt.Errorf("create staff %s: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, fmt.Errorf("create staff %s: %w", name, ErrConflict)
	}
	return a, nil
}

// StaffByName returns a staff account, or ErrNotFound.
func (s *Store) StaffByName(ctx context.Context, name string) (*StaffAccount, error) {
	var a StaffAccount
	if err := s.q(ctx).Where("name = ?", name).Take(&a).Error; err != nil {
		return nil, fmt.Errorf("staff %s: %w", name, notFound(err))
	}
	return &a, nil
}

// SetStaffPassword replaces a staff account's password hash and ends the
// account's inbox sessions: whoever knew the old password is signed out.
func (s *Store) SetStaffPassword(ctx context.Context, name string, hash []byte) error {
	res := s.q(ctx).Model(&StaffAccount{}).Where("name = ?", name).
		Updates(map[string]any{"password_hash": hash, "updated_at": s.Now()})
	if res.Error != nil {
		return fmt.Errorf("set password of staff %s: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("set password of staff %s: %w", name, ErrNotFound)
	}
	if _, err := s.DeleteStaffSessionsOf(ctx, name); err != nil {
		return fmt.Errorf("set password of staff %s: %w", name, err)
	}
	return nil
}

// StaffAccounts lists every staff account by name.
func (s *Store) StaffAccounts(ctx context.Context) ([]StaffAccount, error) {
	var out []StaffAccount
	if err := s.q(ctx).Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("staff accounts: %w", err)
	}
	return out, nil
}

// NextDue is the deadline a ticket is working towards: the first answer's
// until staff answered, then the resolution's. Tickets without one sort
// last (year 9999).
func (t *Ticket) NextDue() time.Time {
	switch {
	case t.FirstResponseAt == nil && t.FirstResponseDue != nil:
		return *t.FirstResponseDue
	case t.ResolutionDue != nil:
		return *t.ResolutionDue
	}
	return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
}

// InboxFilter selects tickets for the staff inbox. Status "" means every
// ticket staff still have work on; "all" means every ticket.
type InboxFilter struct {
	Status   string
	Priority string // "" any, else P1..P4
	Limit    int
}

// InboxTicket is a ticket with what the inbox list shows of its customer.
type InboxTicket struct {
	Ticket
	CustomerName string
}

// InboxTickets returns tickets matching f, the one due soonest first.
func (s *Store) InboxTickets(ctx context.Context, f InboxFilter) ([]InboxTicket, error) {
	q := s.q(ctx).Model(&Ticket{}).Select("tickets.*, customers.name AS customer_name").
		Joins("JOIN customers ON customers.id = tickets.customer_id")
	switch f.Status {
	case "":
		q = q.Where("tickets.status NOT IN ?", []string{TicketResolved, TicketClosed})
	case "all":
	default:
		q = q.Where("tickets.status = ?", f.Status)
	}
	if f.Priority != "" {
		q = q.Where("tickets.priority = ?", strings.ToUpper(f.Priority))
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	// Due times depend on whether staff answered yet; sorting the newest
	// few hundred in Go keeps that rule in one place (NextDue).
	var out []InboxTicket
	if err := q.Order("tickets.id DESC").Limit(f.Limit).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("inbox tickets: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].NextDue(), out[j].NextDue()
		if !a.Equal(b) {
			return a.Before(b)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// MessagesAfter returns a conversation's messages with an id above afterID,
// in order, at most limit: what a web page missed while it was away.
func (s *Store) MessagesAfter(ctx context.Context, conversationID, afterID uint64, limit int) ([]Message, error) {
	var out []Message
	err := s.q(ctx).Where("conversation_id = ? AND id > ?", conversationID, afterID).Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("messages of conversation %d after %d: %w", conversationID, afterID, err)
	}
	return out, nil
}

// CustomerSurveys returns the surveys a customer answered, newest first,
// for the inbox's customer panel.
func (s *Store) CustomerSurveys(ctx context.Context, customerID uint64, limit int) ([]SurveyRequest, error) {
	var out []SurveyRequest
	err := s.q(ctx).Where("customer_id = ? AND answered_at IS NOT NULL", customerID).
		Order("answered_at DESC, id DESC").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("surveys of customer %d: %w", customerID, err)
	}
	return out, nil
}
