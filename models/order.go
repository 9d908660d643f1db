package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm/clause"
)

// Order statuses. Imports accept the Chinese synonyms in OrderStatusSynonyms.
const (
	OrderPending   = "pending"
	OrderPaid      = "paid"
	OrderShipped   = "shipped"
	OrderInTransit = "in_transit"
	OrderDelayed   = "delayed"
	OrderDelivered = "delivered"
	OrderCancelled = "cancelled"
	OrderReturned  = "returned"
	OrderRefunded  = "refunded"
)

// OrderStatuses lists every status, in the order an order usually moves.
var OrderStatuses = []string{OrderPending, OrderPaid, OrderShipped, OrderInTransit, OrderDelayed,
	OrderDelivered, OrderCancelled, OrderReturned, OrderRefunded}

// orderStatusSynonyms maps what shop platforms write to kefu's statuses.
var orderStatusSynonyms = map[string]string{
	"待付款": OrderPending, "待支付": OrderPending, "unpaid": OrderPending,
	"已付款": OrderPaid, "已支付": OrderPaid, "待发货": OrderPaid,
	"已发货": OrderShipped, "dispatched": OrderShipped,
	"运输中": OrderInTransit, "配送中": OrderInTransit, "派送中": OrderInTransit, "in transit": OrderInTransit, "in-transit": OrderInTransit,
	"延误": OrderDelayed, "已延误": OrderDelayed, "延迟": OrderDelayed,
	"已签收": OrderDelivered, "已送达": OrderDelivered, "已完成": OrderDelivered, "completed": OrderDelivered,
	"已取消": OrderCancelled, "canceled": OrderCancelled,
	"已退货": OrderReturned,
	"已退款": OrderRefunded,
}

// ParseOrderStatus normalises a status as written in an import (any case,
// English or Chinese). ok is false for anything else.
func ParseOrderStatus(s string) (status string, ok bool) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, st := range OrderStatuses {
		if t == st {
			return st, true
		}
	}
	if st, ok := orderStatusSynonyms[t]; ok {
		return st, true
	}
	return "", false
}

// Order is one shop order, as the shop's platform last reported it.
type Order struct {
	ID         uint64 `gorm:"primaryKey"`
	Ref        string `gorm:"size:32;not null;uniqueIndex"`
	CustomerID uint64 `gorm:"not null;index"`
	Name       string `gorm:"size:128"`
	// Phone and Email are the contact on the order; verification compares
	// the phone's last four digits.
	Phone    string `gorm:"size:32"`
	Email    string `gorm:"size:128"`
	Status   string `gorm:"size:16;not null"`
	Total    int64  `gorm:"not null;default:0"` // minor units (fen, cents)
	Currency string `gorm:"size:3"`
	PlacedAt time.Time
	Carrier  string      `gorm:"size:64"`
	Tracking string      `gorm:"column:tracking_no;size:64"`
	Items    []OrderItem `gorm:"serializer:json"`
	// Coupon is the code the customer paid with, if the shop sends it: a
	// campaign's coupon seen here counts as that campaign redeemed.
	Coupon string `gorm:"size:48;index"`
	// DeliveredAt is when the order first became delivered; the return
	// window counts from it.
	DeliveredAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time

	Customer Customer `gorm:"constraint:OnDelete:CASCADE"`
}

// OrderItem is one line of an order. Price is per unit, in minor units.
type OrderItem struct {
	SKU      string `json:"sku,omitempty"`
	Name     string `json:"name"`
	Category string `json:"category,omitempty"`
	Qty      int    `json:"qty"`
	Price    int64  `json:"price,omitempty"`
}

// OrderEvent records one status change of an order. From is "" when the
// order first arrived.
type OrderEvent struct {
	ID      uint64 `gorm:"primaryKey"`
	OrderID uint64 `gorm:"not null;index"`
	From    string `gorm:"column:from_status;size:16"`
	To      string `gorm:"column:to_status;size:16;not null"`
	Source  string `gorm:"size:16"` // import, api, webhook
	At      time.Time
}

// OrderInput is one order as an import, the admin API or the webhook
// reports it. Status must be a kefu status (ParseOrderStatus).
type OrderInput struct {
	Ref         string
	CustomerRef string
	Name        string
	Phone       string
	Email       string
	Status      string
	Total       int64
	Currency    string
	PlacedAt    time.Time
	Carrier     string
	Tracking    string
	Items       []OrderItem
	Coupon      string
	// BirthMonth (1–12) is the customer's birthday month, if the shop
	// sends it; 0 leaves what is stored.
	BirthMonth int
}

// Outcomes of one upserted order.
const (
	OrderCreated   = "created"
	OrderUpdated   = "updated"
	OrderUnchanged = "unchanged"
)

// UpsertResult is what happened to one OrderInput.
type UpsertResult struct {
	Ref     string
	Outcome string
	Event   *OrderEvent // the status change recorded, if any
}

// JobOrderChanged is the job kind scheduled for every order event, keyed
// by the event id: the handlers notify the customer and run order hooks
// exactly once per change.
const JobOrderChanged = "order.changed"

// OrderChangedJob is the payload of a JobOrderChanged job. NotifyOnly
// marks a notice deferred past quiet hours, whose hooks already ran.
type OrderChangedJob struct {
	Event      uint64 `json:"event"`
	NotifyOnly bool   `json:"notify_only,omitempty"`
}

// UpsertOrders stores orders: new refs are created (with their customer,
// found or created by customer_ref), known ones updated in place. Every
// status change (and every new order) becomes an OrderEvent and a
// JobOrderChanged job in the same transaction, so an unchanged re-import
// records and sends nothing. Call it inside one Write: all or nothing.
func (s *Store) UpsertOrders(ctx context.Context, in []OrderInput, source string) ([]UpsertResult, error) {
	out := make([]UpsertResult, 0, len(in))
	for _, o := range in {
		r, err := s.upsertOrder(ctx, o, source)
		if err != nil {
			return nil, fmt.Errorf("upsert order %s: %w", o.Ref, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Store) upsertOrder(ctx context.Context, in OrderInput, source string) (UpsertResult, error) {
	now := s.Now()
	if _, ok := ParseOrderStatus(in.Status); !ok || in.Ref == "" {
		return UpsertResult{}, fmt.Errorf("order ref and a known status are required")
	}
	res := UpsertResult{Ref: in.Ref}
	var o Order
	err := s.q(ctx).Where("ref = ?", in.Ref).Take(&o).Error
	if err = notFound(err); err != nil && !errors.Is(err, ErrNotFound) {
		return res, err
	}
	exists := err == nil
	from := o.Status
	if !exists || in.CustomerRef != "" {
		cid, err := s.orderCustomer(ctx, in, o.CustomerID)
		if err != nil {
			return res, err
		}
		o.CustomerID = cid
	}
	if in.BirthMonth >= 1 && in.BirthMonth <= 12 && o.CustomerID != 0 {
		if err := s.q(ctx).Model(&Customer{}).Where("id = ? AND birth_month <> ?", o.CustomerID, in.BirthMonth).
			Update("birth_month", in.BirthMonth).Error; err != nil {
			return res, fmt.Errorf("order %s: birthday: %w", in.Ref, err)
		}
	}
	before := o
	o.Ref, o.Name, o.Phone, o.Email, o.Status = in.Ref, in.Name, in.Phone, in.Email, in.Status
	o.Total, o.Currency, o.Carrier, o.Tracking, o.Items = in.Total, strings.ToUpper(in.Currency), in.Carrier, in.Tracking, in.Items
	o.Coupon = in.Coupon
	if !in.PlacedAt.IsZero() {
		o.PlacedAt = in.PlacedAt.UTC()
	}
	if o.Status == OrderDelivered && o.DeliveredAt == nil {
		o.DeliveredAt = &now
	}
	switch {
	case !exists:
		o.CreatedAt, o.UpdatedAt = now, now
		if err := s.q(ctx).Omit(clause.Associations).Create(&o).Error; err != nil {
			return res, err
		}
		res.Outcome = OrderCreated
	case sameOrder(before, o):
		res.Outcome = OrderUnchanged
		return res, nil
	default:
		o.UpdatedAt = now
		if err := s.q(ctx).Omit(clause.Associations).Save(&o).Error; err != nil {
			return res, err
		}
		res.Outcome = OrderUpdated
	}
	if from == o.Status {
		return res, nil
	}
	ev := &OrderEvent{OrderID: o.ID, From: from, To: o.Status, Source: source, At: now}
	if err := s.q(ctx).Create(ev).Error; err != nil {
		return res, err
	}
	res.Event = ev
	payload := fmt.Sprintf(`{"event":%d}`, ev.ID)
	if _, err := s.ScheduleJob(ctx, JobOrderChanged, strconv.FormatUint(ev.ID, 10), now, payload); err != nil {
		return res, err
	}
	return res, nil
}

// orderCustomer finds the customer an order belongs to: by customer_ref
// (created on first sight), else the order's current customer, else a new
// customer known only from this order.
func (s *Store) orderCustomer(ctx context.Context, in OrderInput, current uint64) (uint64, error) {
	if in.CustomerRef == "" && current != 0 {
		return current, nil
	}
	if in.CustomerRef != "" {
		c, err := s.CustomerByRef(ctx, in.CustomerRef)
		if err == nil {
			return c.ID, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return 0, err
		}
	}
	now := s.Now()
	// The language is the default until the customer chats: verification
	// brings the chat's language over (AttachVerifiedIdentity).
	c := Customer{Name: in.Name, CreatedAt: now, LastSeenAt: now}
	if in.CustomerRef != "" {
		ref := in.CustomerRef
		c.Ref = &ref
	}
	if err := s.q(ctx).Create(&c).Error; err != nil {
		return 0, fmt.Errorf("create customer %s: %w", in.CustomerRef, err)
	}
	return c.ID, nil
}

func sameOrder(a, b Order) bool {
	if a.CustomerID != b.CustomerID || a.Name != b.Name || a.Phone != b.Phone || a.Email != b.Email ||
		a.Status != b.Status || a.Total != b.Total || a.Currency != b.Currency || !a.PlacedAt.Equal(b.PlacedAt) ||
		a.Carrier != b.Carrier || a.Tracking != b.Tracking || a.Coupon != b.Coupon || len(a.Items) != len(b.Items) {
		return false
	}
	for i := range a.Items {
		if a.Items[i] != b.Items[i] {
			return false
		}
	}
	return (a.DeliveredAt == nil) == (b.DeliveredAt == nil)
}

// OrderByRef returns an order by its reference, or ErrNotFound.
func (s *Store) OrderByRef(ctx context.Context, ref string) (*Order, error) {
	if s.rows != nil {
		if o, ok := s.rows.order(ref); ok {
			if o == nil {
				return nil, fmt.Errorf("order %s: %w", ref, ErrNotFound)
			}
			return o, nil
		}
	}
	var o Order
	if err := s.q(ctx).Where("ref = ?", ref).Take(&o).Error; err != nil {
		err = notFound(err)
		if err == ErrNotFound && s.rows != nil {
			s.rows.putOrder(ref, nil)
		}
		return nil, fmt.Errorf("order %s: %w", ref, err)
	}
	if s.rows != nil {
		s.rows.putOrder(ref, &o)
	}
	return &o, nil
}

// Order returns an order by id.
func (s *Store) Order(ctx context.Context, id uint64) (*Order, error) {
	var o Order
	if err := s.q(ctx).Take(&o, id).Error; err != nil {
		return nil, fmt.Errorf("order %d: %w", id, notFound(err))
	}
	return &o, nil
}

// OrdersOf returns the orders of the given customers, newest first.
func (s *Store) OrdersOf(ctx context.Context, customerIDs []uint64, limit int) ([]Order, error) {
	var out []Order
	if len(customerIDs) == 0 {
		return nil, nil
	}
	err := s.q(ctx).Where("customer_id IN ?", customerIDs).Order("placed_at DESC, id DESC").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("orders of customers %v: %w", customerIDs, err)
	}
	return out, nil
}

// OrderEvent returns an order event by id.
func (s *Store) OrderEvent(ctx context.Context, id uint64) (*OrderEvent, error) {
	var e OrderEvent
	if err := s.q(ctx).Take(&e, id).Error; err != nil {
		return nil, fmt.Errorf("order event %d: %w", id, notFound(err))
	}
	return &e, nil
}

// OrderEvents returns an order's status changes in order.
func (s *Store) OrderEvents(ctx context.Context, orderID uint64) ([]OrderEvent, error) {
	var out []OrderEvent
	if err := s.q(ctx).Where("order_id = ?", orderID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("events of order %d: %w", orderID, err)
	}
	return out, nil
}

// DeliveredOrdersBefore counts a customer's delivered orders other than
// ref, for the first-order bonus.
func (s *Store) DeliveredOrdersBefore(ctx context.Context, customerID uint64, ref string) (int, error) {
	var n int64
	err := s.q(ctx).Model(&Order{}).Where("customer_id = ? AND ref <> ? AND delivered_at IS NOT NULL", customerID, ref).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count delivered orders of customer %d: %w", customerID, err)
	}
	return int(n), nil
}
