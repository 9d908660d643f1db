package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm/clause"
)

// VerifyAttempt is one try of a chat identity to prove it owns an order.
// Failed tries in the last hour lock the identity out of verification.
type VerifyAttempt struct {
	ID         uint64    `gorm:"primaryKey"`
	IdentityID uint64    `gorm:"not null;index:idx_verify_identity,priority:1"`
	OrderRef   string    `gorm:"size:32;index:idx_verify_order,priority:1"`
	OK         bool      `gorm:"not null"`
	At         time.Time `gorm:"not null;index:idx_verify_identity,priority:2;index:idx_verify_order,priority:2"`
}

// IdentityLink says a chat identity proved it may see a customer's orders.
// An identity may be linked to several customers (orders placed for a
// partner); the identity's own customer stays what it was unless it was a
// chat-only record (see AttachVerifiedIdentity).
type IdentityLink struct {
	IdentityID uint64 `gorm:"primaryKey"`
	CustomerID uint64 `gorm:"primaryKey;index"`
	CreatedAt  time.Time
}

// RecordVerifyAttempt stores one verification try.
func (s *Store) RecordVerifyAttempt(ctx context.Context, identityID uint64, orderRef string, ok bool) error {
	a := VerifyAttempt{IdentityID: identityID, OrderRef: orderRef, OK: ok, At: s.Now()}
	if err := s.q(ctx).Create(&a).Error; err != nil {
		return fmt.Errorf("record verify attempt of identity %d: %w", identityID, err)
	}
	return nil
}

// FailedVerifyAttempts returns the identity's last (at most limit) failed
// tries since t, oldest first: with limit the number of tries allowed, the
// first of them tells when the lock lifts.
func (s *Store) FailedVerifyAttempts(ctx context.Context, identityID uint64, since time.Time, limit int) ([]VerifyAttempt, error) {
	out, err := s.failedAttempts(ctx, "identity_id = ?", int64(identityID), since, limit)
	if err != nil {
		return nil, fmt.Errorf("failed verify attempts of identity %d: %w", identityID, err)
	}
	return out, nil
}

// FailedOrderVerifications returns the last (at most limit) failed tries on
// one order number since t, from every identity, oldest first: the
// per-identity lock alone would let someone with many accounts guess an
// order's four digits.
func (s *Store) FailedOrderVerifications(ctx context.Context, orderRef string, since time.Time, limit int) ([]VerifyAttempt, error) {
	out, err := s.failedAttempts(ctx, "order_ref = ?", orderRef, since, limit)
	if err != nil {
		return nil, fmt.Errorf("failed verify attempts on order %s: %w", orderRef, err)
	}
	return out, nil
}

// verifyColumns is every column of verify_attempts (TestHotPathColumns).
const verifyColumns = "id, identity_id, order_ref, ok, at"

// failedAttempts reads the last limit failed tries matching who since t,
// oldest first, scanned by hand: every order question of an unverified
// customer asks twice, and a guessed-at order number may have many.
func (s *Store) failedAttempts(ctx context.Context, who string, arg any, since time.Time, limit int) ([]VerifyAttempt, error) {
	key := verifyKey{who: who, arg: arg, limit: limit}
	if s.rows != nil {
		if out, ok := s.rows.failedAttempts(key, since); ok {
			return out, nil
		}
	}
	out, err := s.readFailedAttempts(ctx, who, arg, since, limit)
	if err == nil && s.rows != nil {
		s.rows.putFailedAttempts(key, since, out)
	}
	return out, err
}

func (s *Store) readFailedAttempts(ctx context.Context, who string, arg any, since time.Time, limit int) ([]VerifyAttempt, error) {
	rows, err := s.querySQL(ctx, "SELECT "+verifyColumns+" FROM verify_attempts WHERE "+who+
		" AND ok = ? AND at > ? ORDER BY at DESC, id DESC LIMIT ?", arg, false, since.UTC(), int64(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []VerifyAttempt
	for rows.Next() {
		var a VerifyAttempt
		if err := rows.Scan(&a.ID, &a.IdentityID, &a.OrderRef, &a.OK, &a.At); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	slices.Reverse(out)
	return out, rows.Err()
}

// AttachVerifiedIdentity links an identity that proved it owns one of
// customerID's orders: the link lets it see that customer's orders, and
// the identity is marked verified. If the identity's own customer is a
// chat-only record (no shop reference) and no other identity belongs to
// customerID yet, the identity and its conversations move to customerID,
// so notices about the orders reach this chat; the chat-only record keeps
// its past tickets and points (no merge: merging ledgers and tickets
// silently is worse than a leftover record). A customer who already has a
// chat is never taken over this way: the new chat is only linked. moved
// reports that move.
func (s *Store) AttachVerifiedIdentity(ctx context.Context, identityID, customerID uint64) (moved bool, err error) {
	var id Identity
	if err := s.q(ctx).Take(&id, identityID).Error; err != nil {
		return false, fmt.Errorf("attach identity %d: %w", identityID, notFound(err))
	}
	link := IdentityLink{IdentityID: identityID, CustomerID: customerID, CreatedAt: s.Now()}
	if err := s.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&link).Error; err != nil {
		return false, fmt.Errorf("attach identity %d: %w", identityID, err)
	}
	if id.CustomerID != customerID {
		own, err := s.Customer(ctx, id.CustomerID)
		if err != nil {
			return false, err
		}
		// Four digits printed on every parcel label are proof enough to
		// see an order, not to become someone who already talks to the
		// shop: a customer with a chat of their own keeps it to themselves
		// (their points, tickets and data); another chat that proves one
		// of their orders only gets the link.
		var claimed int64
		if err := s.q(ctx).Model(&Identity{}).Where("customer_id = ? AND id <> ?", customerID, identityID).Count(&claimed).Error; err != nil {
			return false, fmt.Errorf("attach identity %d: %w", identityID, err)
		}
		if own.Ref == nil && claimed == 0 {
			// The person in this chat is who kefu talks to about the orders.
			if err := s.q(ctx).Model(&Customer{}).Where("id = ? AND language_chosen = ?", customerID, false).
				Updates(map[string]any{"language": own.Language, "language_chosen": own.LanguageChosen}).Error; err != nil {
				return false, fmt.Errorf("attach identity %d: %w", identityID, err)
			}
			if err := s.q(ctx).Model(&Conversation{}).Where("customer_id = ? AND kind = ?", own.ID, KindCustomer).
				Update("customer_id", customerID).Error; err != nil {
				return false, fmt.Errorf("attach identity %d: %w", identityID, err)
			}
			id.CustomerID, moved = customerID, true
		}
	}
	err = s.q(ctx).Model(&Identity{}).Where("id = ?", identityID).
		Updates(map[string]any{"customer_id": id.CustomerID, "verified": true}).Error
	if err != nil {
		return false, fmt.Errorf("attach identity %d: %w", identityID, err)
	}
	return moved, nil
}

// VisibleCustomers returns the customers whose orders an identity may see:
// those it was linked to by verification.
func (s *Store) VisibleCustomers(ctx context.Context, identityID uint64) ([]uint64, error) {
	var ids []uint64
	err := s.q(ctx).Model(&IdentityLink{}).Where("identity_id = ?", identityID).Order("customer_id").Pluck("customer_id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("links of identity %d: %w", identityID, err)
	}
	return ids, nil
}

// LinkedCustomers returns the customers whose chats hear about
// customerID's orders: the own customer of every identity linked to it.
func (s *Store) LinkedCustomers(ctx context.Context, customerID uint64) ([]uint64, error) {
	var ids []uint64
	err := s.q(ctx).Model(&Identity{}).Distinct("identities.customer_id").
		Joins("JOIN identity_links l ON l.identity_id = identities.id").
		Where("l.customer_id = ? AND identities.unreachable = ?", customerID, false).
		Order("identities.customer_id").Pluck("identities.customer_id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("identities linked to customer %d: %w", customerID, err)
	}
	return ids, nil
}

// WebhookDelivery remembers a signed webhook request already accepted, so
// a replay of it within the timestamp tolerance is refused.
type WebhookDelivery struct {
	Signature string    `gorm:"primaryKey;size:80"`
	At        time.Time `gorm:"not null;index"`
}

// AcceptWebhook records a delivery's signature. It returns ErrConflict if
// the same signature was accepted before, and forgets deliveries older
// than forgetBefore (the timestamp check refuses those anyway).
func (s *Store) AcceptWebhook(ctx context.Context, signature string, forgetBefore time.Time) error {
	if err := s.q(ctx).Where("at < ?", forgetBefore.UTC()).Delete(&WebhookDelivery{}).Error; err != nil {
		return fmt.Errorf("accept webhook: %w", err)
	}
	res := s.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&WebhookDelivery{Signature: signature, At: s.Now()})
	if res.Error != nil {
		return fmt.Errorf("accept webhook: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("accept webhook: %w", ErrConflict)
	}
	return nil
}
