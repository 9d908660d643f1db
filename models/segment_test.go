package models

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestSegmentHasOrders(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	db := openPrivacy(t, &now)
	ids := map[string]uint64{}
	err := db.Write(ctx, func(s *Store) error {
		for _, who := range []string{"delivered", "pending", "none"} {
			c, _, _, err := s.ResolveIdentity(ctx, Contact{Channel: "console", ExternalID: who, Name: who})
			if err != nil {
				return err
			}
			ids[who] = c.ID
			if _, err := s.Conversation(ctx, "console", who, KindCustomer, &c.ID); err != nil {
				return err
			}
			o := &Order{Ref: who, CustomerID: c.ID, Status: OrderPending, PlacedAt: now}
			if who == "delivered" {
				o.Status, o.DeliveredAt = OrderDelivered, &now
			}
			if who != "none" {
				if err := s.q(ctx).Create(o).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	for _, tc := range []struct {
		has  *bool
		want []uint64
	}{
		{&yes, []uint64{ids["delivered"]}},
		{&no, []uint64{ids["pending"], ids["none"]}},
		{nil, []uint64{ids["delivered"], ids["pending"], ids["none"]}},
	} {
		got, err := db.Read().SegmentCustomers(ctx, Segment{HasOrders: tc.has})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("HasOrders %v: %v; want %v", tc.has, got, tc.want)
		}
	}
}
