package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Thread is the place a ticket has in a staff room that holds one thread per
// ticket: a Telegram forum topic or a Discord thread. Staff talk in it
// reaches the ticket's customer.
type Thread struct {
	ID       uint64 `gorm:"primaryKey"`
	Channel  string `gorm:"size:16;not null;uniqueIndex:idx_thread_ticket,priority:1;index:idx_thread_ext,priority:1"`
	ChatID   string `gorm:"size:64;not null;uniqueIndex:idx_thread_ticket,priority:2;index:idx_thread_ext,priority:2"`
	TicketID uint64 `gorm:"not null;uniqueIndex:idx_thread_ticket,priority:3"`
	// ThreadID is the platform's id: message_thread_id, or the Discord
	// thread's channel id.
	ThreadID  string `gorm:"size:64;not null;index:idx_thread_ext,priority:3"`
	CreatedAt time.Time

	Ticket Ticket `gorm:"constraint:OnDelete:CASCADE"`
}

// TicketThread returns the thread of a ticket in a staff room, or
// ErrNotFound.
func (s *Store) TicketThread(ctx context.Context, channel, chatID string, ticketID uint64) (string, error) {
	var t Thread
	err := s.q(ctx).Where("channel = ? AND chat_id = ? AND ticket_id = ?", channel, chatID, ticketID).Take(&t).Error
	if err != nil {
		if err = notFound(err); errors.Is(err, ErrNotFound) {
			return "", err
		}
		return "", fmt.Errorf("thread of ticket %d in %s:%s: %w", ticketID, channel, chatID, err)
	}
	return t.ThreadID, nil
}

// SaveThread records a ticket's thread in a staff room. A ticket keeps the
// thread it got first.
func (s *Store) SaveThread(ctx context.Context, channel, chatID string, ticketID uint64, threadID string) error {
	t := Thread{Channel: channel, ChatID: chatID, TicketID: ticketID, ThreadID: threadID, CreatedAt: s.Now()}
	if err := s.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&t).Error; err != nil {
		return fmt.Errorf("save thread of ticket %d: %w", ticketID, err)
	}
	return nil
}

// ThreadTicket returns the ticket whose thread in a staff room has the
// given platform id, or ErrNotFound.
func (s *Store) ThreadTicket(ctx context.Context, channel, chatID, threadID string) (uint64, error) {
	var t Thread
	err := s.q(ctx).Where("channel = ? AND chat_id = ? AND thread_id = ?", channel, chatID, threadID).Take(&t).Error
	if err != nil {
		if err = notFound(err); errors.Is(err, ErrNotFound) {
			return 0, err
		}
		return 0, fmt.Errorf("ticket of thread %s in %s:%s: %w", threadID, channel, chatID, err)
	}
	return t.TicketID, nil
}
