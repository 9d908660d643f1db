package models

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// LinkCode is a one-time code that joins a customer's identities on two
// channels (asked for with /link on one, sent on the other).
type LinkCode struct {
	Code       string `gorm:"primaryKey;size:16"`
	CustomerID uint64 `gorm:"not null;index"`
	ExpiresAt  time.Time
	CreatedAt  time.Time
}

// CreateLinkCode stores a code for the customer, valid until expires. The
// customer's earlier codes stop working.
func (s *Store) CreateLinkCode(ctx context.Context, customerID uint64, code string, expires time.Time) error {
	if err := s.q(ctx).Where("customer_id = ?", customerID).Delete(&LinkCode{}).Error; err != nil {
		return fmt.Errorf("replace link codes of customer %d: %w", customerID, err)
	}
	lc := LinkCode{Code: code, CustomerID: customerID, ExpiresAt: expires.UTC(), CreatedAt: s.Now()}
	if err := s.q(ctx).Create(&lc).Error; err != nil {
		return fmt.Errorf("create link code: %w", err)
	}
	return nil
}

// UseLinkCode consumes a code and returns its customer. A code that does
// not exist or has expired is ErrNotFound (an expired one is deleted).
func (s *Store) UseLinkCode(ctx context.Context, code string, now time.Time) (uint64, error) {
	var lc LinkCode
	if err := s.q(ctx).Where("code = ?", code).Take(&lc).Error; err != nil {
		return 0, fmt.Errorf("link code: %w", notFound(err))
	}
	if err := s.q(ctx).Where("code = ?", code).Delete(&LinkCode{}).Error; err != nil {
		return 0, fmt.Errorf("use link code: %w", err)
	}
	if !now.Before(lc.ExpiresAt) {
		return 0, fmt.Errorf("link code expired: %w", ErrNotFound)
	}
	return lc.CustomerID, nil
}

// MergeCustomers moves everything of customer from onto customer into —
// identities, conversations, tickets, points and redemptions, and any
// other table with a customer_id column — adds the points balances, keeps
// into's shop reference (or takes from's) and deletes from. Both must
// exist and differ. Two records that both carry a shop reference are two
// shop accounts: ErrConflict, nothing changes. A row from would duplicate
// (a key that includes customer_id, such as an opt-out of the same topic)
// is dropped: into already has it.
func (s *Store) MergeCustomers(ctx context.Context, from, into uint64) error {
	if from == into {
		return errors.New("merge customers: same customer")
	}
	src, err := s.Customer(ctx, from)
	if err != nil {
		return fmt.Errorf("merge customers: %w", err)
	}
	dst, err := s.Customer(ctx, into)
	if err != nil {
		return fmt.Errorf("merge customers: %w", err)
	}
	if src.Ref != nil && dst.Ref != nil && *src.Ref != *dst.Ref {
		return fmt.Errorf("merge customers %d and %d: both are shop customers: %w", from, into, ErrConflict)
	}
	// Every table that points at a customer, including those added by
	// features this function does not know of.
	tables, err := s.customerTables(ctx)
	if err != nil {
		return fmt.Errorf("merge customers: list tables: %w", err)
	}
	for _, t := range tables {
		if err := s.moveCustomerRows(ctx, t, from, into); err != nil {
			return fmt.Errorf("merge customers: move %s: %w", t, err)
		}
		if err := s.q(ctx).Exec(`DELETE FROM "`+t+`" WHERE customer_id = ?`, from).Error; err != nil {
			return fmt.Errorf("merge customers: drop duplicates in %s: %w", t, err)
		}
	}
	updates := map[string]any{"points_balance": dst.PointsBalance + src.PointsBalance}
	if dst.Ref == nil && src.Ref != nil {
		// The reference is unique: free it before giving it to into.
		if err := s.q(ctx).Model(&Customer{}).Where("id = ?", from).Update("ref", nil).Error; err != nil {
			return fmt.Errorf("merge customers: move ref: %w", err)
		}
		updates["ref"] = *src.Ref
	}
	if dst.BirthMonth == 0 && src.BirthMonth != 0 {
		updates["birth_month"] = src.BirthMonth
	}
	if err := s.q(ctx).Model(&Customer{}).Where("id = ?", into).Updates(updates).Error; err != nil {
		return fmt.Errorf("merge customers: update %d: %w", into, err)
	}
	if err := s.q(ctx).Delete(&Customer{}, from).Error; err != nil {
		return fmt.Errorf("merge customers: delete %d: %w", from, err)
	}
	return nil
}

// customerTables lists the tables with a customer_id column, read from the
// database's own catalogue.
func (s *Store) customerTables(ctx context.Context) ([]string, error) {
	q := `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND p.name = 'customer_id' ORDER BY m.name`
	if s.postgres() {
		q = `SELECT c.table_name FROM information_schema.columns c
			JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
			WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.column_name = 'customer_id'
			ORDER BY c.table_name`
	}
	var tables []string
	if err := s.q(ctx).Raw(q).Scan(&tables).Error; err != nil {
		return nil, err
	}
	return tables, nil
}

// moveCustomerRows points table t's rows of customer from at into, except
// rows that would duplicate a unique key into already has; the caller
// deletes those. SQLite says this in one statement (UPDATE OR IGNORE);
// PostgreSQL tries the whole update, and on a conflict moves row by row,
// each in a savepoint, since a failed statement aborts its transaction.
func (s *Store) moveCustomerRows(ctx context.Context, t string, from, into uint64) error {
	if !s.postgres() {
		return s.q(ctx).Exec(`UPDATE OR IGNORE "`+t+`" SET customer_id = ? WHERE customer_id = ?`, into, from).Error
	}
	err := s.Savepoint(ctx, "merge_all", func() error {
		return s.q(ctx).Exec(`UPDATE "`+t+`" SET customer_id = ? WHERE customer_id = ?`, into, from).Error
	})
	if err == nil {
		return nil
	}
	var rows []string
	if err := s.q(ctx).Raw(`SELECT ctid::text FROM "`+t+`" WHERE customer_id = ?`, from).Scan(&rows).Error; err != nil {
		return err
	}
	for _, row := range rows {
		// A row that conflicts stays with from and is deleted after.
		_ = s.Savepoint(ctx, "merge_row", func() error {
			return s.q(ctx).Exec(`UPDATE "`+t+`" SET customer_id = ? WHERE ctid = ?::tid`, into, row).Error
		})
	}
	return nil
}
