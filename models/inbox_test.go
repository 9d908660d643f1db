package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
)

func TestInboxTickets(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { v := now.Add(time.Duration(h) * time.Hour); return &v }
	// subject → (priority, status, first-response due, answered, resolution due)
	type spec struct {
		subject, prio, status string
		frDue, answered, res  *time.Time
	}
	specs := []spec{
		{"late answer", "P3", models.TicketNew, at(5), nil, at(50)},
		{"answered, resolution soon", "P2", models.TicketWaitingCustomer, at(1), at(-1), at(3)},
		{"urgent", "P1", models.TicketOpen, at(1), nil, at(4)},
		{"no sla", "P4", models.TicketNew, nil, nil, nil},
		{"done", "P1", models.TicketResolved, at(0), at(0), at(1)},
	}
	err := db.Write(ctx, func(s *models.Store) error {
		cust, _, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: "web", ExternalID: "v1", Name: "Mei"})
		if err != nil {
			return err
		}
		conv, err := s.Conversation(ctx, "web", "v1", models.KindCustomer, &cust.ID)
		if err != nil {
			return err
		}
		for _, sp := range specs {
			tk := &models.Ticket{CustomerID: cust.ID, ConversationID: conv.ID, Kind: models.TicketKindComplaint, Priority: sp.prio,
				Status: sp.status, Subject: sp.subject, FirstResponseDue: sp.frDue, FirstResponseAt: sp.answered, ResolutionDue: sp.res}
			if err := s.CreateTicket(ctx, tk, "customer"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	subjects := func(ts []models.InboxTicket) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Subject)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    models.InboxFilter
		want []string
	}{
		{"ActiveByDue", models.InboxFilter{}, []string{"urgent", "answered, resolution soon", "late answer", "no sla"}},
		{"P1", models.InboxFilter{Priority: "p1"}, []string{"urgent"}},
		{"Resolved", models.InboxFilter{Status: models.TicketResolved}, []string{"done"}},
		{"All", models.InboxFilter{Status: "all"}, []string{"urgent", "done", "answered, resolution soon", "late answer", "no sla"}},
		{"None", models.InboxFilter{Status: models.TicketClosed}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Read().InboxTickets(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if g := subjects(got); len(g) != len(tc.want) || len(g) > 0 && !equal(g, tc.want) {
				t.Errorf("got %q; want %q", g, tc.want)
			}
			for _, it := range got {
				if it.CustomerName != "Mei" {
					t.Errorf("customer name %q; want Mei", it.CustomerName)
				}
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStaffAccounts(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	err := db.Write(ctx, func(s *models.Store) error {
		if _, err := s.CreateStaff(ctx, "alice", []byte("hash1")); err != nil {
			return err
		}
		if _, err := s.CreateStaff(ctx, "alice", []byte("hash2")); !errors.Is(err, models.ErrConflict) {
			t.Errorf("second alice: %v; want ErrConflict", err)
		}
		if err := s.SetStaffPassword(ctx, "bob", []byte("x")); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("password of nobody: %v; want ErrNotFound", err)
		}
		return s.SetStaffPassword(ctx, "alice", []byte("hash3"))
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.Read().StaffByName(ctx, "alice")
	if err != nil || string(a.PasswordHash) != "hash3" {
		t.Fatalf("alice = %+v, %v; want hash3", a, err)
	}
	all, err := db.Read().StaffAccounts(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("accounts = %v, %v", all, err)
	}
}
