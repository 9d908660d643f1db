package models_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
)

func TestLinkCodeAndMerge(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	var tg, dc *models.Customer
	now := time.Now()
	err := db.Write(ctx, func(s *models.Store) error {
		var err error
		if tg, _, _, err = s.ResolveIdentity(ctx, models.Contact{Channel: "telegram", ExternalID: "1", Name: "Ana"}); err != nil {
			return err
		}
		if dc, _, _, err = s.ResolveIdentity(ctx, models.Contact{Channel: "discord", ExternalID: "9", Name: "ana#1"}); err != nil {
			return err
		}
		for _, c := range []*models.Customer{tg, dc} {
			if _, err := s.Conversation(ctx, "x"+c.Name, "chat", models.KindCustomer, &c.ID); err != nil {
				return err
			}
			if _, _, err := s.AddPoints(ctx, models.Movement{CustomerID: c.ID, Kind: models.PointsEarn, Points: 100, Key: "k" + c.Name}); err != nil {
				return err
			}
		}
		// Both opted out of surveys: the merged record keeps one opt-out.
		for _, c := range []*models.Customer{tg, dc} {
			if err := s.SetOptOut(ctx, c.ID, "surveys", true); err != nil {
				return err
			}
		}
		if err := s.CreateLinkCode(ctx, tg.ID, "OLD", now.Add(time.Minute)); err != nil {
			return err
		}
		return s.CreateLinkCode(ctx, tg.ID, "ABCD2345", now.Add(time.Minute))
	})
	if err != nil {
		t.Fatal(err)
	}
	use := func(code string, at time.Time) (id uint64, err error) {
		err = db.Write(ctx, func(s *models.Store) (err error) { id, err = s.UseLinkCode(ctx, code, at); return err })
		return id, err
	}
	if _, err := use("OLD", now); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("a replaced code: err = %v, want ErrNotFound", err)
	}
	if _, err := use("ABCD2345", now.Add(2*time.Minute)); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("an expired code: err = %v, want ErrNotFound", err)
	}
	if err := db.Write(ctx, func(s *models.Store) error { return s.CreateLinkCode(ctx, tg.ID, "ABCD2345", now.Add(time.Minute)) }); err != nil {
		t.Fatal(err)
	}
	id, err := use("ABCD2345", now)
	if err != nil || id != tg.ID {
		t.Fatalf("use = %d, %v; want %d", id, err, tg.ID)
	}
	if _, err := use("ABCD2345", now); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("a used code: err = %v, want ErrNotFound", err)
	}

	if err := db.Write(ctx, func(s *models.Store) error { return s.MergeCustomers(ctx, dc.ID, tg.ID) }); err != nil {
		t.Fatal(err)
	}
	r := db.Read()
	ids, err := r.Identities(ctx, tg.ID)
	if err != nil || len(ids) != 2 {
		t.Errorf("identities of the merged customer = %+v, %v; want telegram and discord", ids, err)
	}
	got, err := r.Customer(ctx, tg.ID)
	if err != nil || got.PointsBalance != 200 {
		t.Errorf("merged balance = %+v, %v; want 200", got, err)
	}
	if _, err := r.Customer(ctx, dc.ID); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("the merged-away customer still exists: %v", err)
	}
	conv, err := r.Conversation(ctx, "xana#1", "chat", models.KindCustomer, nil)
	if err != nil || conv.CustomerID == nil || *conv.CustomerID != tg.ID {
		t.Errorf("discord conversation customer = %v, %v; want %d", conv, err, tg.ID)
	}
	if out, err := r.OptedOut(ctx, tg.ID, "surveys"); err != nil || !out {
		t.Errorf("merged opt-out = %v, %v", out, err)
	}
	if err := db.Write(ctx, func(s *models.Store) error { return s.MergeCustomers(ctx, tg.ID, tg.ID) }); err == nil {
		t.Error("merging a customer into itself succeeded")
	}
}

// TestMergeRefusesTwoShopCustomers: two records with shop references are
// two shop accounts; merging them is left to staff.
func TestMergeRefusesTwoShopCustomers(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	err := db.Write(ctx, func(s *models.Store) error {
		var ids []uint64
		for i := range 2 {
			if _, err := s.UpsertOrders(ctx, []models.OrderInput{{Ref: fmt.Sprint("R-", i), CustomerRef: fmt.Sprint("C-", i),
				Status: "paid", Total: 100, Currency: "CNY", PlacedAt: time.Now()}}, "test"); err != nil {
				return err
			}
			c, err := s.CustomerByRef(ctx, fmt.Sprint("C-", i))
			if err != nil {
				return err
			}
			ids = append(ids, c.ID)
		}
		if err := s.MergeCustomers(ctx, ids[1], ids[0]); !errors.Is(err, models.ErrConflict) {
			t.Errorf("merge of two shop customers: err = %v, want ErrConflict", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
