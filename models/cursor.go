package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Cursor is the last platform message id an adapter handled in one of its
// platform channels (a Discord DM or thread), so that after a lost
// connection it can fetch what it missed. It trails the stored messages: a
// late cursor only makes the adapter fetch messages the engine then drops
// as duplicates.
type Cursor struct {
	Channel string `gorm:"primaryKey;size:16"`
	// ChatID is the platform channel the cursor reads (not necessarily a
	// conversation's chat: a ticket thread is read on its own).
	ChatID string `gorm:"primaryKey;size:64"`
	// LastID is a snowflake: decimal, ordered by length then value.
	LastID    string    `gorm:"size:64;not null"`
	UpdatedAt time.Time `gorm:"index"`
}

// Cursors returns the channel's cursors updated since the given time,
// platform chat id → last id.
func (s *Store) Cursors(ctx context.Context, channel string, since time.Time) (map[string]string, error) {
	var cs []Cursor
	if err := s.q(ctx).Where("channel = ? AND updated_at >= ?", channel, since.UTC()).Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("cursors of %s: %w", channel, err)
	}
	out := make(map[string]string, len(cs))
	for _, c := range cs {
		out[c.ChatID] = c.LastID
	}
	return out, nil
}

// AdvanceCursors moves the given cursors forward: an id that is not after
// the stored one (by length, then value) leaves it as it is.
func (s *Store) AdvanceCursors(ctx context.Context, channel string, ids map[string]string) error {
	if len(ids) == 0 {
		return nil
	}
	now := s.Now()
	rows := make([]Cursor, 0, len(ids))
	for chat, id := range ids {
		rows = append(rows, Cursor{Channel: channel, ChatID: chat, LastID: id, UpdatedAt: now})
	}
	err := s.q(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "channel"}, {Name: "chat_id"}},
		DoUpdates: clause.Assignments(map[string]any{
			"last_id":    clause.Expr{SQL: "CASE WHEN length(excluded.last_id) > length(cursors.last_id) OR (length(excluded.last_id) = length(cursors.last_id) AND excluded.last_id > cursors.last_id) THEN excluded.last_id ELSE cursors.last_id END"},
			"updated_at": clause.Expr{SQL: "excluded.updated_at"},
		}),
	}).Create(&rows).Error
	if err != nil {
		return fmt.Errorf("advance %s cursors: %w", channel, err)
	}
	return nil
}

// InboundMessage returns the stored inbound message of a channel with the
// platform's id, or ErrNotFound.
func (s *Store) InboundMessage(ctx context.Context, channel, externalID string) (*Message, error) {
	var m Message
	if err := s.q(ctx).Where("channel = ? AND external_id = ?", channel, externalID).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("inbound %s message %s: %w", channel, externalID, notFound(err))
	}
	return &m, nil
}
