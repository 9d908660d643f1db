package models

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The staff room's copies of a forgotten customer's story are erased: rows
// tied to their tickets and staff-room rows naming their tickets or orders.
// Rows about other tickets and orders — including refs that merely start
// the same way — and the customer-side rows of others stay.
func TestForgetErasesTheStaffRoomCopies(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	db := openPrivacy(t, &now)
	ann := addPrivacyCustomer(t, db, "ann")
	addPrivacyCustomer(t, db, "ben")
	var annTicket, benTicket uint64 = 1, 2 // the fixture's tickets, in order
	type row struct {
		text   string
		ticket *uint64
		erased bool
	}
	rows := []row{
		{"🆕 card of ann", &annTicket, true},
		{"✉️ relay: ann's words", &annTicket, true},
		{fmt.Sprintf("/note %s about ann", TicketRef(annTicket)), nil, true},
		{fmt.Sprintf("👤 ann · 0 points\n%s · new", TicketRef(annTicket)), nil, true},
		{"Order ann-o1: delivered, phone 139", nil, true},
		{fmt.Sprintf("/reply %s1 about someone else", TicketRef(annTicket)), nil, false}, // T-10011
		{"Order ann-o10: another order", nil, false},                                     // not ann-o1: a digit follows
		{"🆕 card of ben", &benTicket, false},
		{fmt.Sprintf("/note %s about ben", TicketRef(benTicket)), nil, false},
		{"Order ben-o1: delivered", nil, false},
		{"lunch at noon?", nil, false},
	}
	var ids []uint64
	err := db.Write(ctx, func(s *Store) error {
		conv, err := s.Conversation(ctx, "console", "staff", KindStaff, nil)
		if err != nil {
			return err
		}
		for _, r := range rows {
			m := &Message{ConversationID: conv.ID, Channel: "console", ChatID: "staff", Text: r.text, TicketID: r.ticket}
			if err := s.QueueOutbound(ctx, []*Message{m}); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		_, err = s.ForgetCustomer(ctx, ann.cust)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		var m Message
		if err := db.Read().q(ctx).Take(&m, ids[i]).Error; err != nil {
			t.Fatal(err)
		}
		if got := m.Text == ""; got != r.erased {
			t.Errorf("%q: erased = %v; want %v", r.text, got, r.erased)
		}
		if r.erased && m.Status != StatusFailed {
			t.Errorf("%q: a pending erased row is %s; want failed, not sent blank", r.text, m.Status)
		}
	}
}

// A /mydata export leaves the outbox row once the platform has it: the
// file's body goes, its name and size stay; other payloads are untouched.
func TestSentExportDropsItsBody(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	db := openPrivacy(t, &now)
	body := []byte(`{"name":"ann Fullname","phone":"13900000000"}`)
	export := &Message{ConversationID: 1, Channel: "console", ChatID: "c", Text: "here",
		Payload: Payload{Attachments: []Attachment{{Kind: "document", Name: "kefu-mydata.json", Size: int64(len(body)), Data: body}}}}
	plain := &Message{ConversationID: 1, Channel: "console", ChatID: "c", Text: "hi",
		Payload: Payload{Buttons: [][]Button{{{Label: "Yes", Data: "pv:forget"}}}}}
	err := db.Write(ctx, func(s *Store) error {
		if _, err := s.Conversation(ctx, "console", "c", KindCustomer, nil); err != nil {
			return err
		}
		if err := s.QueueOutbound(ctx, []*Message{export, plain}); err != nil {
			return err
		}
		for _, m := range []*Message{export, plain} {
			if err := s.MarkSent(ctx, m.ID, "p", now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got, other Message
	if err := db.Read().q(ctx).Take(&got, export.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Read().q(ctx).Take(&other, plain.ID).Error; err != nil {
		t.Fatal(err)
	}
	a := got.Payload.Attachments
	if got.Status != StatusSent || len(a) != 1 || a[0].Data != nil || a[0].Name != "kefu-mydata.json" || a[0].Size != int64(len(body)) {
		t.Errorf("sent export = %s %+v; want sent, the name and size kept, no body", got.Status, a)
	}
	if len(other.Payload.Buttons) != 1 || other.Payload.Buttons[0][0].Data != "pv:forget" {
		t.Errorf("a payload without a file changed: %+v", other.Payload)
	}
}

// The first chat to prove a never-seen customer's order becomes that
// customer; a second chat proving one of their orders is only linked: it
// sees the orders, but does not take over the customer the first chat is.
func TestSecondProofOnlyLinks(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	db := openPrivacy(t, &now)
	err := db.Write(ctx, func(s *Store) error {
		if _, err := s.UpsertOrders(ctx, []OrderInput{{Ref: "R1", CustomerRef: "C9", Name: "Nina", Phone: "13900001234", Status: OrderPaid}}, "import"); err != nil {
			return err
		}
		o, err := s.OrderByRef(ctx, "R1")
		if err != nil {
			return err
		}
		for i, who := range []string{"nina", "stranger"} {
			_, id, _, err := s.ResolveIdentity(ctx, Contact{Channel: "console", ExternalID: who})
			if err != nil {
				return err
			}
			moved, err := s.AttachVerifiedIdentity(ctx, id.ID, o.CustomerID)
			if err != nil {
				return err
			}
			if want := i == 0; moved != want {
				t.Errorf("%s: moved = %v; want %v", who, moved, want)
			}
			if ids, _ := s.VisibleCustomers(ctx, id.ID); len(ids) != 1 || ids[0] != o.CustomerID {
				t.Errorf("%s sees customers %v; want [%d]", who, ids, o.CustomerID)
			}
			var own Identity
			if err := s.q(ctx).Take(&own, id.ID).Error; err != nil {
				return err
			}
			if got := own.CustomerID == o.CustomerID; got != (i == 0) {
				t.Errorf("%s became the order's customer: %v; want %v", who, got, i == 0)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
