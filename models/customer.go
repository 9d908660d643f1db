package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Contact is who wrote: a platform identity and what the platform says of it.
type Contact struct {
	Channel    string
	ExternalID string
	Name       string
	Language   string // "en" or "zh", inferred from the platform; "" if unknown
	// NewLanguage is the language of a new customer whose platform gave none.
	NewLanguage string
}

// ResolveIdentity returns the customer behind a platform identity, creating
// both on first contact. created reports a new customer.
func (s *Store) ResolveIdentity(ctx context.Context, c Contact) (cust *Customer, id *Identity, created bool, err error) {
	now := s.Now()
	id, err = s.identityByExternal(ctx, c.Channel, c.ExternalID)
	if err == nil {
		cust = &id.Customer
		updates := map[string]any{}
		// last_seen_at is kept to the minute: a customer writing fast costs
		// no extra write per message.
		if now.Sub(cust.LastSeenAt) >= time.Minute {
			updates["last_seen_at"] = now
		}
		if c.Language != "" && !cust.LanguageChosen && cust.Language != c.Language {
			updates["language"] = c.Language
		}
		if len(updates) > 0 {
			if err := s.q(ctx).Model(&Customer{ID: cust.ID}).Updates(updates).Error; err != nil {
				return nil, nil, false, fmt.Errorf("resolve identity: %w", err)
			}
			if _, ok := updates["last_seen_at"]; ok {
				cust.LastSeenAt = now
			}
			if _, ok := updates["language"]; ok {
				cust.Language = c.Language
			}
		}
		return cust, id, false, nil
	}
	if err = notFound(err); err != ErrNotFound {
		return nil, nil, false, fmt.Errorf("resolve identity: %w", err)
	}
	lang := c.Language
	if lang == "" {
		lang = c.NewLanguage
	}
	if lang == "" {
		lang = "en"
	}
	cust = &Customer{Name: c.Name, Language: lang, CreatedAt: now, LastSeenAt: now}
	if err := s.q(ctx).Create(cust).Error; err != nil {
		return nil, nil, false, fmt.Errorf("create customer: %w", err)
	}
	id = &Identity{CustomerID: cust.ID, Channel: c.Channel, ExternalID: c.ExternalID, DisplayName: c.Name, CreatedAt: now}
	if err := s.q(ctx).Omit(clause.Associations).Create(id).Error; err != nil {
		return nil, nil, false, fmt.Errorf("create identity: %w", err)
	}
	id.Customer = *cust
	return cust, id, true, nil
}

// identityColumns and customerColumns are what identityByExternal reads:
// every column of both tables (TestHotPathColumns keeps them complete).
const (
	identityColumns = "id, customer_id, channel, external_id, display_name, verified, unreachable, created_at"
	customerColumns = "id, ref, name, language, language_chosen, tier, points_balance, birth_month, created_at, last_seen_at"
)

// identityByExternal loads a platform account and its customer, scanned by
// hand: every turn starts here, and GORM's statement building and
// reflection cost more than the queries. Two indexed lookups, not a join:
// SQLite runs the join several times slower than both.
func (s *Store) identityByExternal(ctx context.Context, channel, externalID string) (*Identity, error) {
	if s.rows != nil {
		if id, ok := s.rows.identity(channel, externalID); ok {
			return id, nil
		}
	}
	id := &Identity{}
	err := s.scanOne(ctx, "SELECT "+identityColumns+" FROM identities WHERE channel = ? AND external_id = ?",
		[]any{channel, externalID}, &id.ID, &id.CustomerID, &id.Channel, &id.ExternalID, &id.DisplayName, &id.Verified,
		&id.Unreachable, &id.CreatedAt)
	if err != nil {
		return nil, err
	}
	c := &id.Customer
	err = s.scanOne(ctx, "SELECT "+customerColumns+" FROM customers WHERE id = ?", []any{int64(id.CustomerID)},
		&c.ID, &c.Ref, &c.Name, &c.Language, &c.LanguageChosen, &c.Tier, &c.PointsBalance, &c.BirthMonth, &c.CreatedAt, &c.LastSeenAt)
	if err == ErrNotFound {
		return nil, fmt.Errorf("identity %d: customer %d is missing", id.ID, id.CustomerID)
	}
	if err == nil && s.rows != nil {
		s.rows.putIdentity(id)
	}
	return id, err
}

// Customer returns the customer with the given id.
func (s *Store) Customer(ctx context.Context, id uint64) (*Customer, error) {
	var c Customer
	if err := s.q(ctx).Take(&c, id).Error; err != nil {
		return nil, fmt.Errorf("customer %d: %w", id, notFound(err))
	}
	return &c, nil
}

// SetCustomerLanguage records the customer's explicit language choice.
func (s *Store) SetCustomerLanguage(ctx context.Context, id uint64, lang string) error {
	err := s.q(ctx).Model(&Customer{}).Where("id = ?", id).
		Updates(map[string]any{"language": lang, "language_chosen": true}).Error
	if err != nil {
		return fmt.Errorf("set language of customer %d: %w", id, err)
	}
	return nil
}

// Identities returns the identities of a customer.
func (s *Store) Identities(ctx context.Context, customerID uint64) ([]Identity, error) {
	var out []Identity
	if err := s.q(ctx).Where("customer_id = ?", customerID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("identities of customer %d: %w", customerID, err)
	}
	return out, nil
}

// MarkUnreachable flags the identity behind a channel chat as refusing
// delivery (the customer blocked the bot). The chat is the user's id on
// platforms where a private chat has it (Telegram); elsewhere (a Discord
// DM channel) the identity is the one of the customer of that chat.
func (s *Store) MarkUnreachable(ctx context.Context, channel, externalID string) error {
	err := s.q(ctx).Model(&Identity{}).Where(`channel = ? AND (external_id = ? OR customer_id IN
		(SELECT customer_id FROM conversations WHERE channel = ? AND chat_id = ? AND kind = ?))`,
		channel, externalID, channel, externalID, KindCustomer).
		Update("unreachable", true).Error
	if err != nil {
		return fmt.Errorf("mark %s:%s unreachable: %w", channel, externalID, err)
	}
	return nil
}
