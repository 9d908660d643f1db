package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// Conversation returns the conversation of a channel chat, creating it with
// the given kind and customer on first use.
func (s *Store) Conversation(ctx context.Context, channel, chatID, kind string, customerID *uint64) (*Conversation, error) {
	c, err := s.FindConversation(ctx, channel, chatID)
	if err != ErrNotFound {
		return c, err
	}
	now := s.Now()
	c = &Conversation{Channel: channel, ChatID: chatID, Kind: kind, CustomerID: customerID, Mode: ModeBot,
		Slots: Slots{}, LastActivityAt: now, CreatedAt: now, UpdatedAt: now}
	if err := s.q(ctx).Create(c).Error; err != nil {
		return nil, fmt.Errorf("create conversation %s:%s: %w", channel, chatID, err)
	}
	return c, nil
}

// FindConversation returns the conversation of a channel chat, or
// ErrNotFound (unwrapped, so callers may compare it directly).
func (s *Store) FindConversation(ctx context.Context, channel, chatID string) (*Conversation, error) {
	if s.rows != nil {
		if c, ok := s.rows.conversation(channel, chatID); ok {
			return c, nil
		}
	}
	c, err := s.scanConversation(ctx, "channel = ? AND chat_id = ?", channel, chatID)
	if err != nil && err != ErrNotFound {
		return nil, fmt.Errorf("load conversation %s:%s: %w", channel, chatID, err)
	}
	if err == nil && s.rows != nil {
		s.rows.putConversation(c)
	}
	return c, err
}

// conversationColumns is every column of conversations, in the order
// scanConversation reads them (TestHotPathColumns keeps it complete).
const conversationColumns = "id, channel, chat_id, kind, customer_id, mode, flow, step, slots, ticket_id, " +
	"last_activity_at, created_at, updated_at"

// scanConversation loads the conversation matching where, scanned by hand:
// every turn loads one, and GORM's reflection costs more than the query.
func (s *Store) scanConversation(ctx context.Context, where string, args ...any) (*Conversation, error) {
	var (
		c     Conversation
		slots sql.NullString
	)
	err := s.scanOne(ctx, "SELECT "+conversationColumns+" FROM conversations WHERE "+where, args,
		&c.ID, &c.Channel, &c.ChatID, &c.Kind, &c.CustomerID, &c.Mode, &c.Flow, &c.Step, &slots,
		&c.TicketID, &c.LastActivityAt, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if slots.Valid && slots.String != "" && slots.String != "null" {
		if err := json.Unmarshal([]byte(slots.String), &c.Slots); err != nil {
			return nil, fmt.Errorf("conversation %d slots: %w", c.ID, err)
		}
	}
	return &c, nil
}

// ConversationByID returns a conversation by id.
func (s *Store) ConversationByID(ctx context.Context, id uint64) (*Conversation, error) {
	var c Conversation
	if err := s.q(ctx).Take(&c, id).Error; err != nil {
		return nil, fmt.Errorf("conversation %d: %w", id, notFound(err))
	}
	return &c, nil
}

// SaveConversation writes the conversation's state back.
func (s *Store) SaveConversation(ctx context.Context, c *Conversation) error {
	c.UpdatedAt = s.Now()
	slots, err := json.Marshal(c.Slots)
	if err != nil {
		return fmt.Errorf("save conversation %d: %w", c.ID, err)
	}
	var before *Conversation
	if s.rows != nil {
		// Taken before the update drops it from the cache.
		before = s.rows.peekConversation(c.ID)
	}
	// Plain SQL: this runs every turn, and GORM's Updates costs several
	// times the statement.
	_, err = s.execSQL(ctx, `UPDATE conversations SET mode = ?, flow = ?, step = ?, slots = ?, ticket_id = ?,
		last_activity_at = ?, updated_at = ? WHERE id = ?`,
		c.Mode, c.Flow, c.Step, string(slots), sqlID(c.TicketID), c.LastActivityAt, c.UpdatedAt, int64(c.ID))
	if err != nil {
		return fmt.Errorf("save conversation %d: %w", c.ID, err)
	}
	if s.rows != nil {
		s.rows.savedConversation(before, c)
	}
	return nil
}

// StaffRooms returns the staff conversations, oldest first.
func (s *Store) StaffRooms(ctx context.Context) ([]Conversation, error) {
	var out []Conversation
	if err := s.q(ctx).Where("kind = ?", KindStaff).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("staff rooms: %w", err)
	}
	return out, nil
}
