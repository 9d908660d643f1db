package models

import (
	"context"
	"errors"
	"fmt"
	"time"
)

const demoSeededKey = "demo_seeded"

// SeedDemo fills an empty shop with demo customers and a past ticket, once:
// a later call (or a restart) finds the marker and does nothing. It reports
// whether it seeded.
func (s *Store) SeedDemo(ctx context.Context) (bool, error) {
	if _, err := s.Setting(ctx, demoSeededKey); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	now := s.Now()
	type demo struct{ ref, name, lang, tier, user string }
	people := []demo{
		{"C1001", "李伟", "zh", "资深", "liwei"},
		{"C1002", "Alice Chen", "en", "中等", "alice"},
		{"C1003", "王芳", "zh", "新手", "wangfang"},
	}
	for i, p := range people {
		ref := p.ref
		c := Customer{Ref: &ref, Name: p.name, Language: p.lang, Tier: p.tier,
			CreatedAt: now.AddDate(0, -6+i, 0), LastSeenAt: now.AddDate(0, 0, -i)}
		if err := s.q(ctx).Create(&c).Error; err != nil {
			return false, fmt.Errorf("seed demo customer: %w", err)
		}
		id := Identity{CustomerID: c.ID, Channel: ChannelConsole, ExternalID: p.user, DisplayName: p.name, CreatedAt: c.CreatedAt}
		if err := s.q(ctx).Omit("Customer").Create(&id).Error; err != nil {
			return false, fmt.Errorf("seed demo identity: %w", err)
		}
		if i != 0 {
			continue
		}
		// 李伟 had a resolved delivery complaint, so the staff desk has history.
		conv, err := s.Conversation(ctx, ChannelConsole, "customer:"+p.user, KindCustomer, &c.ID)
		if err != nil {
			return false, err
		}
		t := Ticket{CustomerID: c.ID, ConversationID: conv.ID, Kind: TicketKindComplaint, Category: "logistics.delay",
			Priority: "P2", Status: TicketResolved, Subject: "快递一周了还没到，能帮我催一下吗？", Assignee: "console:demo"}
		if err := s.CreateTicket(ctx, &t, "customer"); err != nil {
			return false, err
		}
		// A coherent past: opened four days ago, answered within the hour,
		// resolved the next day.
		created, answered, resolved := now.Add(-96*time.Hour), now.Add(-95*time.Hour), now.Add(-72*time.Hour)
		frDue, resDue := created.Add(2*time.Hour), created.Add(24*time.Hour)
		err = s.q(ctx).Model(&t).Updates(map[string]any{"created_at": created, "first_response_at": answered,
			"resolved_at": resolved, "first_response_due": frDue, "resolution_due": resDue}).Error
		if err != nil {
			return false, fmt.Errorf("seed demo ticket: %w", err)
		}
		if err := s.AddTicketEvent(ctx, t.ID, "resolve", "console:demo", "carrier chased; parcel delivered next day"); err != nil {
			return false, err
		}
	}
	if err := s.seedLoyalty(ctx, now); err != nil {
		return false, err
	}
	if err := s.seedOrders(ctx, now); err != nil {
		return false, err
	}
	if err := s.SetSetting(ctx, demoSeededKey, now.Format(time.RFC3339)); err != nil {
		return false, err
	}
	return true, nil
}

// DemoRewards is the demo rewards catalogue. FREESHIP is also the coupon a
// tier upgrade gives.
func DemoRewards() []Reward {
	return []Reward{
		{Code: "FREESHIP", NameEN: "Free shipping coupon", NameZH: "包邮券", Cost: 200, Kind: RewardCoupon, Stock: -1, Active: true},
		{Code: "CNY10", NameEN: "¥10 off your next order", NameZH: "10元无门槛优惠券", Cost: 500, Kind: RewardCoupon, Stock: -1, Active: true},
		{Code: "MUG", NameEN: "Shop mug", NameZH: "店铺定制马克杯", Cost: 1500, Kind: RewardGoods, Stock: 50, Active: true},
		{Code: "GIFTWRAP", NameEN: "Gift wrapping", NameZH: "礼品包装服务", Cost: 300, Kind: RewardService, Stock: -1, Active: true},
	}
}

// seedLoyalty adds the demo rewards and gives the demo customers points
// from past orders, with lots that expire within a year of being earned.
func (s *Store) seedLoyalty(ctx context.Context, now time.Time) error {
	for _, r := range DemoRewards() {
		r.CreatedAt, r.UpdatedAt = now, now
		if err := s.CreateReward(ctx, &r); err != nil {
			return fmt.Errorf("seed demo reward: %w", err)
		}
	}
	grants := []struct {
		ref    string
		order  string
		amount int64 // minor units
		ago    int   // days
	}{
		{"C1001", "D-20260105", 380000, 320},
		{"C1001", "D-20260610", 260000, 160},
		{"C1002", "D-20260801", 120000, 110},
		{"C1002", "D-20261020", 90000, 30},
		{"C1003", "D-20261101", 15000, 10},
	}
	for _, g := range grants {
		c, err := s.CustomerByRef(ctx, g.ref)
		if err != nil {
			return err
		}
		at := now.AddDate(0, 0, -g.ago)
		_, _, err = s.AddPoints(ctx, Movement{CustomerID: c.ID, Kind: PointsEarn, Points: g.amount / 100,
			Reason: "demo order", RefKind: RefOrder, RefID: g.order, Key: "order:" + g.order + ":earn",
			Amount: g.amount, Currency: "CNY", ExpiresAt: at.AddDate(1, 0, 0)})
		if err != nil {
			return fmt.Errorf("seed demo points: %w", err)
		}
		// Back-date the entry so rolling spend and expiry look lived-in.
		if err := s.q(ctx).Model(&PointsEntry{}).Where("key = ?", "order:"+g.order+":earn").
			Update("created_at", at).Error; err != nil {
			return fmt.Errorf("seed demo points: %w", err)
		}
	}
	return nil
}

// DemoOrders are the demo shop's orders, placed relative to now. Alice's
// 20261101001 (phone ending 0142) is on its way; her 20261020002 arrived
// three days ago (returnable); 李伟's 20261015003 arrived too long ago to
// return without a reason.
func DemoOrders(now time.Time) []Order {
	day := func(n int) time.Time { return now.AddDate(0, 0, -n) }
	at := func(n int) *time.Time { t := day(n); return &t }
	tea := []OrderItem{{SKU: "TEA-LJ-250", Name: "西湖龙井 Longjing tea 250g", Category: "tea", Qty: 2, Price: 12800}}
	return []Order{
		{Ref: "20261101001", Name: "Alice Chen", Phone: "+86 138 0013 0142", Email: "alice@example.com", Status: OrderShipped,
			Total: 25600, Currency: "CNY", PlacedAt: day(2), Carrier: "顺丰速运 SF Express", Tracking: "SF1402883710277", Items: tea},
		{Ref: "20261020002", Name: "Alice Chen", Phone: "+86 138 0013 0142", Email: "alice@example.com", Status: OrderDelivered,
			Total: 45800, Currency: "CNY", PlacedAt: day(8), Carrier: "中通快递 ZTO", Tracking: "ZT7310092288",
			Items: []OrderItem{{SKU: "MUG-01", Name: "青瓷马克杯 Celadon mug", Category: "home", Qty: 1, Price: 9800},
				{SKU: "PILLOW-02", Name: "荞麦枕 Buckwheat pillow", Category: "home", Qty: 2, Price: 18000}}, DeliveredAt: at(3)},
		{Ref: "20261015003", Name: "李伟", Phone: "139 1234 5678", Status: OrderDelivered, Total: 129900, Currency: "CNY",
			PlacedAt: day(25), Carrier: "京东物流 JD Logistics", Tracking: "JD0088123456",
			Items: []OrderItem{{SKU: "KETTLE-9", Name: "电热水壶 Electric kettle", Category: "appliance", Qty: 1, Price: 129900}}, DeliveredAt: at(20)},
		{Ref: "20261108004", Name: "王芳", Phone: "137 0000 1234", Status: OrderPaid, Total: 5900, Currency: "CNY", PlacedAt: day(1),
			Items: []OrderItem{{SKU: "SOCK-3", Name: "棉袜三双装 Cotton socks, 3 pairs", Category: "apparel", Qty: 1, Price: 5900}}},
	}
}

// seedOrders stores the demo orders as they are, without events: the demo
// starts with a history, not with notifications and points to hand out.
func (s *Store) seedOrders(ctx context.Context, now time.Time) error {
	owners := map[string]string{"20261101001": "C1002", "20261020002": "C1002", "20261015003": "C1001", "20261108004": "C1003"}
	for _, o := range DemoOrders(now) {
		c, err := s.CustomerByRef(ctx, owners[o.Ref])
		if err != nil {
			return err
		}
		o.CustomerID, o.CreatedAt, o.UpdatedAt = c.ID, o.PlacedAt, now
		if err := s.q(ctx).Omit("Customer").Create(&o).Error; err != nil {
			return fmt.Errorf("seed demo order %s: %w", o.Ref, err)
		}
	}
	return nil
}
