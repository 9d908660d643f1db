package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
)

func TestParseOrderStatus(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"shipped", "shipped", true}, {" Delivered ", "delivered", true}, {"已签收", "delivered", true},
		{"待付款", "pending", true}, {"已付款", "paid", true}, {"已发货", "shipped", true}, {"运输中", "in_transit", true},
		{"已取消", "cancelled", true}, {"canceled", "cancelled", true}, {"已退货", "returned", true}, {"已退款", "refunded", true},
		{"lost in space", "", false}, {"", "", false},
	} {
		got, ok := models.ParseOrderStatus(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseOrderStatus(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func upsert(t *testing.T, db *models.DB, in ...models.OrderInput) []models.UpsertResult {
	t.Helper()
	ctx := context.Background()
	var res []models.UpsertResult
	if err := db.Write(ctx, func(s *models.Store) (err error) { res, err = s.UpsertOrders(ctx, in, "import"); return err }); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestUpsertOrdersRecordsChangesOnce(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	o := models.OrderInput{Ref: "R1", CustomerRef: "C9", Name: "Mei", Phone: "13800000142", Status: "paid", Total: 1000, Currency: "cny",
		Items: []models.OrderItem{{Name: "tea", Qty: 1, Price: 1000}}}
	res := upsert(t, db, o)
	if res[0].Outcome != models.OrderCreated || res[0].Event == nil || res[0].Event.From != "" || res[0].Event.To != "paid" {
		t.Fatalf("first import = %+v; want created with event '' → paid", res[0])
	}
	res = upsert(t, db, o)
	if res[0].Outcome != models.OrderUnchanged || res[0].Event != nil {
		t.Fatalf("re-import = %+v; want unchanged without event", res[0])
	}
	o.Status, o.Tracking = "shipped", "SF1"
	res = upsert(t, db, o)
	if res[0].Outcome != models.OrderUpdated || res[0].Event == nil || res[0].Event.From != "paid" || res[0].Event.To != "shipped" {
		t.Fatalf("status change = %+v; want updated with paid → shipped", res[0])
	}
	o.Tracking = "SF2" // no status change: updated, no event
	res = upsert(t, db, o)
	if res[0].Outcome != models.OrderUpdated || res[0].Event != nil {
		t.Fatalf("tracking change = %+v; want updated without event", res[0])
	}
	s := db.Read()
	got, err := s.OrderByRef(ctx, "R1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Tracking != "SF2" || got.Currency != "CNY" || len(got.Items) != 1 {
		t.Errorf("stored order = %+v", got)
	}
	evs, err := s.OrderEvents(ctx, got.ID)
	if err != nil || len(evs) != 2 {
		t.Fatalf("events = %v, %v; want 2", evs, err)
	}
	due, err := s.DueJobs(ctx, time.Now().Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range due {
		if j.Kind == models.JobOrderChanged {
			n++
		}
	}
	if n != 2 {
		t.Errorf("order.changed jobs = %d; want 2 (one per event)", n)
	}
	c, err := s.CustomerByRef(ctx, "C9")
	if err != nil || c.ID != got.CustomerID {
		t.Errorf("customer C9 = %v, %v; want the order's customer %d", c, err, got.CustomerID)
	}
}

func TestUpsertOrdersAllOrNothing(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	err := db.Write(ctx, func(s *models.Store) error {
		_, err := s.UpsertOrders(ctx, []models.OrderInput{{Ref: "A", Status: "paid"}, {Ref: "B", Status: "nonsense"}}, "api")
		return err
	})
	if err == nil {
		t.Fatal("UpsertOrders with a bad status succeeded")
	}
	if _, err := db.Read().OrderByRef(ctx, "A"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("order A after a failed batch: %v; want not found", err)
	}
}

func TestAttachVerifiedIdentity(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	upsert(t, db, models.OrderInput{Ref: "R1", CustomerRef: "C9", Status: "paid"})
	err := db.Write(ctx, func(s *models.Store) error {
		chat, id, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: "console", ExternalID: "mei"})
		if err != nil {
			return err
		}
		if _, err := s.Conversation(ctx, "console", "customer:mei", models.KindCustomer, &chat.ID); err != nil {
			return err
		}
		if ids, _ := s.VisibleCustomers(ctx, id.ID); len(ids) != 0 {
			t.Errorf("visible before verification: %v", ids)
		}
		o, err := s.OrderByRef(ctx, "R1")
		if err != nil {
			return err
		}
		moved, err := s.AttachVerifiedIdentity(ctx, id.ID, o.CustomerID)
		if err != nil {
			return err
		}
		if !moved {
			t.Error("a chat-only identity was not moved to the order's customer")
		}
		if ids, _ := s.VisibleCustomers(ctx, id.ID); len(ids) != 1 || ids[0] != o.CustomerID {
			t.Errorf("visible after verification = %v; want [%d]", ids, o.CustomerID)
		}
		if ids, _ := s.LinkedCustomers(ctx, o.CustomerID); len(ids) != 1 || ids[0] != o.CustomerID {
			t.Errorf("linked = %v; want [%d]", ids, o.CustomerID)
		}
		conv, err := s.CustomerConversation(ctx, o.CustomerID)
		if err != nil || conv.ChatID != "customer:mei" {
			t.Errorf("conversation of order customer = %v, %v; want mei's chat", conv, err)
		}
		// Again: idempotent.
		_, err = s.AttachVerifiedIdentity(ctx, id.ID, o.CustomerID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVerifyAttemptsAndOptOut(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	err := db.Write(ctx, func(s *models.Store) error {
		for _, ok := range []bool{false, true, false} {
			if err := s.RecordVerifyAttempt(ctx, 7, "R1", ok); err != nil {
				return err
			}
		}
		failed, err := s.FailedVerifyAttempts(ctx, 7, s.Now().Add(-time.Hour), 3)
		if err != nil || len(failed) != 2 {
			t.Errorf("failed = %v, %v; want 2", failed, err)
		}
		if last, _ := s.FailedVerifyAttempts(ctx, 7, s.Now().Add(-time.Hour), 1); len(last) != 1 || last[0].ID != failed[1].ID {
			t.Errorf("the last failure = %v; want %v", last, failed[1:])
		}
		if failed, _ := s.FailedVerifyAttempts(ctx, 8, s.Now().Add(-time.Hour), 3); len(failed) != 0 {
			t.Errorf("another identity has %d failed attempts", len(failed))
		}
		for _, on := range []bool{true, true, false} {
			if err := s.SetOptOut(ctx, 7, "orders", on); err != nil {
				return err
			}
			if got, err := s.OptedOut(ctx, 7, "orders"); err != nil || got != on {
				t.Errorf("OptedOut after SetOptOut(%v) = %v, %v", on, got, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAcceptWebhookRefusesReplay(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	accept := func(sig string) error {
		return db.Write(ctx, func(s *models.Store) error { return s.AcceptWebhook(ctx, sig, s.Now().Add(-time.Hour)) })
	}
	if err := accept("abc"); err != nil {
		t.Fatal(err)
	}
	if err := accept("abc"); !errors.Is(err, models.ErrConflict) {
		t.Errorf("replay = %v; want ErrConflict", err)
	}
	if err := accept("abd"); err != nil {
		t.Errorf("another signature = %v", err)
	}
}

func TestSeedDemoOrders(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	if err := db.Write(ctx, func(s *models.Store) error { _, err := s.SeedDemo(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	o, err := db.Read().OrderByRef(ctx, "20261101001")
	if err != nil || o.Status != models.OrderShipped {
		t.Fatalf("demo order = %v, %v", o, err)
	}
}

// A birthday on an order sets the customer's birth month (for loyalty's
// birthday bonus); an order without one leaves it alone.
func TestUpsertOrdersBirthMonth(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	month := func() int {
		t.Helper()
		c, err := db.Read().CustomerByRef(ctx, "C-B")
		if err != nil {
			t.Fatal(err)
		}
		return c.BirthMonth
	}
	for _, tc := range []struct {
		in   models.OrderInput
		want int
	}{
		{models.OrderInput{Ref: "B1", CustomerRef: "C-B", Status: "paid", BirthMonth: 5}, 5},
		{models.OrderInput{Ref: "B2", CustomerRef: "C-B", Status: "paid"}, 5},
		{models.OrderInput{Ref: "B1", CustomerRef: "C-B", Status: "shipped", BirthMonth: 6}, 6},
	} {
		if err := db.Write(ctx, func(s *models.Store) error {
			_, err := s.UpsertOrders(ctx, []models.OrderInput{tc.in}, "import")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got := month(); got != tc.want {
			t.Errorf("after %s: birth month %d; want %d", tc.in.Ref, got, tc.want)
		}
	}
}

// A campaign's coupon on an imported order counts as the campaign
// redeemed; another code does not.
func TestCampaignRedeemedByCouponOnOrder(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	db := openAt(t, &now)
	ann, bob := mustCustomer(t, db, "ann"), mustCustomer(t, db, "bob")
	err := db.Write(ctx, func(s *models.Store) error {
		for _, c := range []*models.CampaignSend{
			{Key: "win-back:2026-11:ann", Campaign: "win-back", Occurrence: "2026-11", CustomerID: ann, Coupon: "CNY10-AAAA2222", SentAt: now},
			{Key: "win-back:2026-11:bob", Campaign: "win-back", Occurrence: "2026-11", CustomerID: bob, Coupon: "CNY10-BBBB3333", SentAt: now},
		} {
			if _, err := s.CreateCampaignSend(ctx, c); err != nil {
				return err
			}
		}
		_, err := s.UpsertOrders(ctx, []models.OrderInput{
			{Ref: "P1", CustomerRef: "C-ANN", Status: "paid", PlacedAt: now.Add(2 * time.Hour), Coupon: "CNY10-AAAA2222"},
			{Ref: "P2", CustomerRef: "C-BOB", Status: "paid", PlacedAt: now.Add(2 * time.Hour), Coupon: "OTHER-CODE"},
		}, "import")
		if err != nil {
			return err
		}
		_, err = s.TrackCampaignOutcomes(ctx, 14*24*time.Hour, now.Add(24*time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sends, err := db.Read().CampaignSends(ctx, "win-back", time.Time{})
	if err != nil || len(sends) != 2 {
		t.Fatalf("sends %v, %v", sends, err)
	}
	for _, c := range sends {
		redeemed := c.RedeemedAt != nil
		if want := c.CustomerID == ann; redeemed != want {
			t.Errorf("%s: redeemed %v; want %v", c.Key, redeemed, want)
		}
	}
}
