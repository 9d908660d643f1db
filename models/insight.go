package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// TopicMarketing is the opt-out topic of care campaigns (greetings,
// win-back offers, tips).
const TopicMarketing = "marketing"

// CustomerSegment is where the last segmentation put a customer: RFM
// scores 1–5 (0 without orders), value segment and lifecycle stage, and
// the facts they came from. TierSince is when the customer's tier was
// first seen as it is now (for tier anniversaries).
type CustomerSegment struct {
	CustomerID uint64 `gorm:"primaryKey"`
	Recency    int    `gorm:"not null;default:0"`
	Frequency  int    `gorm:"not null;default:0"`
	Monetary   int    `gorm:"not null;default:0"`
	Value      string `gorm:"size:16;not null;index"`
	Stage      string `gorm:"size:16;not null;index"`
	Orders     int    `gorm:"not null;default:0"`
	Spend      int64  `gorm:"not null;default:0"`
	FirstOrder *time.Time
	LastOrder  *time.Time
	Tier       string `gorm:"size:32"`
	TierSince  *time.Time
	ComputedAt time.Time
	Customer   Customer `gorm:"constraint:OnDelete:CASCADE"`
}

// SegmentSnapshot is the number of customers in a stage or value segment
// on a day (YYYY-MM-DD in the shop's zone), written by each refresh; the
// last write of a day stands.
type SegmentSnapshot struct {
	Day   string `gorm:"primaryKey;size:10"`
	Kind  string `gorm:"primaryKey;size:8"` // "stage" or "value"
	Name  string `gorm:"primaryKey;size:16"`
	Count int    `gorm:"not null"`
}

// CustomerFacts are one customer's paid orders, summed for segmentation.
type CustomerFacts struct {
	CustomerID uint64
	Tier       string
	Orders     int
	Spend      int64
	FirstOrder time.Time
	LastOrder  time.Time
}

// paidStatuses are the order statuses that count as a purchase.
var paidStatuses = []string{OrderPaid, OrderShipped, OrderInTransit, OrderDelayed, OrderDelivered}

// SegmentFacts returns every customer who has a chat identity or an
// order with the count, sum and first and
// last time of their paid orders (pending, cancelled, returned and
// refunded orders do not count), in id order.
func (s *Store) SegmentFacts(ctx context.Context) ([]CustomerFacts, error) {
	var custs []struct {
		ID   uint64
		Tier string
	}
	// Records left behind when a chat identity moved to the shop's
	// customer (AttachVerifiedIdentity) have neither: they are nobody.
	err := s.q(ctx).Model(&Customer{}).Select("id, tier").
		Where("EXISTS (SELECT 1 FROM identities i WHERE i.customer_id = customers.id) OR EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = customers.id)").
		Order("id").Find(&custs).Error
	if err != nil {
		return nil, fmt.Errorf("segment facts: customers: %w", err)
	}
	var orders []struct {
		CustomerID uint64
		Total      int64
		PlacedAt   time.Time
	}
	if err := s.q(ctx).Model(&Order{}).Select("customer_id, total, placed_at").
		Where("status IN ?", paidStatuses).Find(&orders).Error; err != nil {
		return nil, fmt.Errorf("segment facts: orders: %w", err)
	}
	out := make([]CustomerFacts, len(custs))
	at := make(map[uint64]int, len(custs))
	for i, c := range custs {
		out[i] = CustomerFacts{CustomerID: c.ID, Tier: c.Tier}
		at[c.ID] = i
	}
	for _, o := range orders {
		i, ok := at[o.CustomerID]
		if !ok {
			continue
		}
		f := &out[i]
		f.Orders++
		f.Spend += o.Total
		if f.FirstOrder.IsZero() || o.PlacedAt.Before(f.FirstOrder) {
			f.FirstOrder = o.PlacedAt
		}
		if o.PlacedAt.After(f.LastOrder) {
			f.LastOrder = o.PlacedAt
		}
	}
	return out, nil
}

// SaveSegments stores the segments and the day's snapshot of their counts
// in the caller's transaction. A customer's TierSince is kept while the
// tier stays and set to the segment's ComputedAt when it changes.
func (s *Store) SaveSegments(ctx context.Context, segs []CustomerSegment, day string) error {
	old := map[uint64]CustomerSegment{}
	var prev []CustomerSegment
	if err := s.q(ctx).Select("customer_id, tier, tier_since").Find(&prev).Error; err != nil {
		return fmt.Errorf("save segments: %w", err)
	}
	for _, p := range prev {
		old[p.CustomerID] = p
	}
	counts := map[[2]string]int{}
	for i := range segs {
		g := &segs[i]
		if p, ok := old[g.CustomerID]; ok && p.Tier == g.Tier && p.TierSince != nil {
			g.TierSince = p.TierSince
		} else if g.Tier != "" {
			t := g.ComputedAt
			g.TierSince = &t
		}
		counts[[2]string{"stage", g.Stage}]++
		counts[[2]string{"value", g.Value}]++
	}
	for i := 0; i < len(segs); i += 200 {
		batch := segs[i:min(i+200, len(segs))]
		if err := s.q(ctx).Omit("Customer").Clauses(clause.OnConflict{UpdateAll: true}).Create(&batch).Error; err != nil {
			return fmt.Errorf("save segments: %w", err)
		}
	}
	if err := s.q(ctx).Where("day = ?", day).Delete(&SegmentSnapshot{}).Error; err != nil {
		return fmt.Errorf("segment snapshot %s: %w", day, err)
	}
	for k, n := range counts {
		if err := s.q(ctx).Create(&SegmentSnapshot{Day: day, Kind: k[0], Name: k[1], Count: n}).Error; err != nil {
			return fmt.Errorf("segment snapshot %s: %w", day, err)
		}
	}
	return nil
}

// CustomerSegment returns a customer's segment; ErrNotFound before the
// first refresh that saw them.
func (s *Store) CustomerSegment(ctx context.Context, customerID uint64) (*CustomerSegment, error) {
	var g CustomerSegment
	if err := s.q(ctx).Take(&g, "customer_id = ?", customerID).Error; err != nil {
		return nil, fmt.Errorf("segment of customer %d: %w", customerID, notFound(err))
	}
	return &g, nil
}

// Segments returns every stored segment, in customer order.
func (s *Store) Segments(ctx context.Context) ([]CustomerSegment, error) {
	var out []CustomerSegment
	if err := s.q(ctx).Order("customer_id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	return out, nil
}

// Snapshot returns the counts of the latest snapshot on or before day
// (YYYY-MM-DD), keyed "stage/NAME" and "value/NAME", and that snapshot's
// day; "" and no counts when there is none.
func (s *Store) Snapshot(ctx context.Context, day string) (string, map[string]int, error) {
	var last SegmentSnapshot
	err := s.q(ctx).Where("day <= ?", day).Order("day DESC").Take(&last).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("segment snapshot %s: %w", day, err)
	}
	var rows []SegmentSnapshot
	if err := s.q(ctx).Where("day = ?", last.Day).Find(&rows).Error; err != nil {
		return "", nil, fmt.Errorf("segment snapshot %s: %w", last.Day, err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Kind+"/"+r.Name] = r.Count
	}
	return last.Day, out, nil
}

// CampaignSend is one care campaign message to one customer for one
// occurrence of the campaign. Key ("campaign:occurrence:customer") is
// unique: it is written in the transaction that sends, so a send happens
// once however often its job runs. The outcome times are filled in by
// TrackCampaignOutcomes.
type CampaignSend struct {
	ID         uint64    `gorm:"primaryKey"`
	Key        string    `gorm:"size:96;not null;uniqueIndex"`
	Campaign   string    `gorm:"size:48;not null;index"`
	Occurrence string    `gorm:"size:32;not null"` // a period, or an order ref
	CustomerID uint64    `gorm:"not null;index"`
	Channel    string    `gorm:"size:16"`
	Lang       string    `gorm:"size:8"`
	Coupon     string    `gorm:"size:48"`
	SentAt     time.Time `gorm:"not null;index"`
	RepliedAt  *time.Time
	RedeemedAt *time.Time
	OrderedAt  *time.Time
	Customer   Customer `gorm:"constraint:OnDelete:CASCADE"`
}

// CreateCampaignSend records a send; created is false when the key was
// sent before (nothing is written then).
func (s *Store) CreateCampaignSend(ctx context.Context, c *CampaignSend) (bool, error) {
	res := s.q(ctx).Omit("Customer").Clauses(clause.OnConflict{DoNothing: true}).Create(c)
	if res.Error != nil {
		return false, fmt.Errorf("campaign send %s: %w", c.Key, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// CampaignSends returns the sends of a campaign ("" for all) since a
// time, oldest first.
func (s *Store) CampaignSends(ctx context.Context, campaign string, since time.Time) ([]CampaignSend, error) {
	q := s.q(ctx).Where("sent_at >= ?", since.UTC()).Order("sent_at, id")
	if campaign != "" {
		q = q.Where("campaign = ?", campaign)
	}
	var out []CampaignSend
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("campaign sends: %w", err)
	}
	return out, nil
}

// TrackCampaignOutcomes fills in, for sends of the last window, the first
// time within window after the send that the customer wrote to the shop
// (replied), redeemed (an order paid with the campaign's coupon, or a
// points redemption — campaign coupons themselves are zero-point
// redemptions and do not count) and
// placed an order (ordered). It returns how many sends it looked at.
func (s *Store) TrackCampaignOutcomes(ctx context.Context, window time.Duration, now time.Time) (int, error) {
	sends, err := s.CampaignSends(ctx, "", now.Add(-window))
	if err != nil {
		return 0, err
	}
	first := func(q *gorm.DB, col string) (*time.Time, error) {
		var t []time.Time
		if err := q.Order(col).Limit(1).Pluck(col, &t).Error; err != nil {
			return nil, err
		}
		if len(t) == 0 {
			return nil, nil
		}
		return &t[0], nil
	}
	for i := range sends {
		c := &sends[i]
		until := c.SentAt.Add(window)
		upd := map[string]any{}
		if c.RepliedAt == nil {
			t, err := first(s.q(ctx).Model(&Message{}).
				Where("direction = ? AND created_at > ? AND created_at <= ?", DirIn, c.SentAt, until).
				Where("conversation_id IN (SELECT id FROM conversations WHERE customer_id = ?)", c.CustomerID), "created_at")
			if err != nil {
				return 0, fmt.Errorf("campaign outcome %s: replied: %w", c.Key, err)
			}
			if t != nil {
				upd["replied_at"] = *t
			}
		}
		if c.RedeemedAt == nil {
			t, err := first(s.q(ctx).Model(&Redemption{}).
				Where("customer_id = ? AND points > 0 AND created_at > ? AND created_at <= ?", c.CustomerID, c.SentAt, until), "created_at")
			if err == nil && c.Coupon != "" {
				// The campaign's own coupon on an order (the import's
				// coupon column), by anyone it was passed on to.
				var paid *time.Time
				paid, err = first(s.q(ctx).Model(&Order{}).
					Where("coupon = ? AND placed_at > ? AND placed_at <= ?", c.Coupon, c.SentAt, until), "placed_at")
				if paid != nil && (t == nil || paid.Before(*t)) {
					t = paid
				}
			}
			if err != nil {
				return 0, fmt.Errorf("campaign outcome %s: redeemed: %w", c.Key, err)
			}
			if t != nil {
				upd["redeemed_at"] = *t
			}
		}
		if c.OrderedAt == nil {
			t, err := first(s.q(ctx).Model(&Order{}).
				Where("customer_id = ? AND placed_at > ? AND placed_at <= ?", c.CustomerID, c.SentAt, until), "placed_at")
			if err != nil {
				return 0, fmt.Errorf("campaign outcome %s: ordered: %w", c.Key, err)
			}
			if t != nil {
				upd["ordered_at"] = *t
			}
		}
		if len(upd) > 0 {
			if err := s.q(ctx).Model(&CampaignSend{}).Where("id = ?", c.ID).Updates(upd).Error; err != nil {
				return 0, fmt.Errorf("campaign outcome %s: %w", c.Key, err)
			}
		}
	}
	return len(sends), nil
}

// ForgetInsight erases what segmentation and campaigns know of a
// customer who asked to be forgotten: the segment row goes; campaign
// sends stay as anonymous counts (campaign, time, outcome) without the
// coupon code, so campaign reports hold.
func (s *Store) ForgetInsight(ctx context.Context, customerID uint64) error {
	if err := s.q(ctx).Where("customer_id = ?", customerID).Delete(&CustomerSegment{}).Error; err != nil {
		return fmt.Errorf("forget segment of %d: %w", customerID, err)
	}
	if err := s.q(ctx).Model(&CampaignSend{}).Where("customer_id = ?", customerID).Update("coupon", "").Error; err != nil {
		return fmt.Errorf("forget campaign sends of %d: %w", customerID, err)
	}
	return nil
}

// CustomerCampaignSends returns the campaign messages a customer got,
// oldest first.
func (s *Store) CustomerCampaignSends(ctx context.Context, customerID uint64) ([]CampaignSend, error) {
	var out []CampaignSend
	if err := s.q(ctx).Where("customer_id = ?", customerID).Order("sent_at, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("campaign sends of %d: %w", customerID, err)
	}
	return out, nil
}

// ExportSegment is the customer's segment in their data export.
type ExportSegment struct {
	Recency    int       `json:"recency"`
	Frequency  int       `json:"frequency"`
	Monetary   int       `json:"monetary"`
	Value      string    `json:"value"`
	Stage      string    `json:"stage"`
	ComputedAt time.Time `json:"computed_at"`
}

// ExportCampaign is one care campaign message in a data export.
type ExportCampaign struct {
	Campaign string    `json:"campaign"`
	SentAt   time.Time `json:"sent_at"`
	Coupon   string    `json:"coupon,omitempty"`
}

func (s *Store) exportInsight(ctx context.Context, id uint64, x *Export) error {
	x.Campaigns = []ExportCampaign{}
	g, err := s.CustomerSegment(ctx, id)
	switch {
	case err == nil:
		x.Segment = &ExportSegment{Recency: g.Recency, Frequency: g.Frequency, Monetary: g.Monetary,
			Value: g.Value, Stage: g.Stage, ComputedAt: g.ComputedAt}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	sends, err := s.CustomerCampaignSends(ctx, id)
	if err != nil {
		return err
	}
	for _, c := range sends {
		x.Campaigns = append(x.Campaigns, ExportCampaign{Campaign: c.Campaign, SentAt: c.SentAt, Coupon: c.Coupon})
	}
	return nil
}

// SetBirthMonth records the month (1–12, 0 forgets it) a customer gave as
// their birthday, for the birthday bonus and birthday campaigns.
func (s *Store) SetBirthMonth(ctx context.Context, customerID uint64, month int) error {
	if month < 0 || month > 12 {
		return fmt.Errorf("birth month of %d: %d is not a month", customerID, month)
	}
	if err := s.q(ctx).Model(&Customer{}).Where("id = ?", customerID).Update("birth_month", month).Error; err != nil {
		return fmt.Errorf("birth month of %d: %w", customerID, err)
	}
	return nil
}

// AudienceMember is what campaign selection needs to know of one
// customer who has a customer conversation.
type AudienceMember struct {
	Customer     Customer
	Conversation Conversation // the latest customer conversation
	Reachable    bool         // an identity on the conversation's channel that the platform has not refused
	OptedOut     bool         // opted out of TopicMarketing
	Consent      string       // ConsentYes, ConsentNo or ConsentUnknown
	Segment      *CustomerSegment
	LastCampaign time.Time // the latest campaign send at or after capSince; zero if none
}

// CampaignAudience loads, in a fixed number of queries, every customer
// who has a customer conversation (only that customer when only is not
// 0), in id order, with what campaign selection checks.
func (s *Store) CampaignAudience(ctx context.Context, only uint64, capSince time.Time) ([]AudienceMember, error) {
	wrap := func(what string, err error) error { return fmt.Errorf("campaign audience: %s: %w", what, err) }
	scope := func(col string) *gorm.DB {
		q := s.q(ctx)
		if only != 0 {
			q = q.Where(col+" = ?", only)
		}
		return q
	}
	var convs []Conversation
	if err := scope("customer_id").Where("kind = ? AND customer_id IS NOT NULL", KindCustomer).
		Order("customer_id, last_activity_at DESC, id DESC").Find(&convs).Error; err != nil {
		return nil, wrap("conversations", err)
	}
	latest := map[uint64]Conversation{}
	var ids []uint64
	for _, c := range convs {
		if _, ok := latest[*c.CustomerID]; !ok {
			latest[*c.CustomerID] = c
			ids = append(ids, *c.CustomerID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var custs []Customer
	if err := scope("id").Where("id IN (SELECT customer_id FROM conversations WHERE kind = ?)", KindCustomer).
		Order("id").Find(&custs).Error; err != nil {
		return nil, wrap("customers", err)
	}
	var idents []Identity
	if err := scope("customer_id").Where("NOT unreachable").Find(&idents).Error; err != nil {
		return nil, wrap("identities", err)
	}
	reach := map[[2]string]bool{}
	for _, i := range idents {
		reach[[2]string{fmt.Sprint(i.CustomerID), i.Channel}] = true
	}
	var outs []uint64
	if err := scope("customer_id").Model(&OptOut{}).Where("topic = ?", TopicMarketing).Pluck("customer_id", &outs).Error; err != nil {
		return nil, wrap("opt-outs", err)
	}
	out := map[uint64]bool{}
	for _, id := range outs {
		out[id] = true
	}
	var consents []Consent
	if err := scope("customer_id").Find(&consents).Error; err != nil {
		return nil, wrap("consents", err)
	}
	consent := map[uint64]string{}
	for _, c := range consents {
		consent[c.CustomerID] = c.State
	}
	var segs []CustomerSegment
	if err := scope("customer_id").Find(&segs).Error; err != nil {
		return nil, wrap("segments", err)
	}
	seg := map[uint64]*CustomerSegment{}
	for i := range segs {
		seg[segs[i].CustomerID] = &segs[i]
	}
	var sends []CampaignSend
	if err := scope("customer_id").Select("customer_id, sent_at").Where("sent_at >= ?", capSince.UTC()).Find(&sends).Error; err != nil {
		return nil, wrap("campaign sends", err)
	}
	last := map[uint64]time.Time{}
	for _, c := range sends {
		if c.SentAt.After(last[c.CustomerID]) {
			last[c.CustomerID] = c.SentAt
		}
	}
	members := make([]AudienceMember, 0, len(custs))
	for _, c := range custs {
		conv := latest[c.ID]
		members = append(members, AudienceMember{Customer: c, Conversation: conv,
			Reachable: reach[[2]string{fmt.Sprint(c.ID), conv.Channel}], OptedOut: out[c.ID],
			Consent: consent[c.ID], Segment: seg[c.ID], LastCampaign: last[c.ID]})
	}
	return members, nil
}
