package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/nlu"
	"github.com/kefu-bot/kefu/handlers/loyalty"
	"github.com/kefu-bot/kefu/handlers/survey"
	"github.com/kefu-bot/kefu/models"
)

// OrderHook is told of every order status change, from the order.changed
// job and inside its transaction: its writes commit with the job, and an
// error rolls the job back to be retried, so a hook must be idempotent
// (key its effects by order and status). Loyalty points (PointsHook) and
// the survey after delivery are hooks.
type OrderHook func(ctx context.Context, s *models.Store, o *models.Order, ev *models.OrderEvent) error

// PointsHook makes delivered orders earn points and cancelled, returned or
// refunded ones take them back, through Points.OrderChanged.
func PointsHook(p *Points) OrderHook {
	return func(ctx context.Context, s *models.Store, o *models.Order, ev *models.OrderEvent) error {
		lo := loyalty.Order{Ref: o.Ref, CustomerID: o.CustomerID, Status: o.Status, Total: o.Total,
			Currency: o.Currency, PlacedAt: o.PlacedAt}
		for _, it := range o.Items {
			lo.Items = append(lo.Items, loyalty.Item{SKU: it.SKU, Category: it.Category, Qty: it.Qty, Price: it.Price})
		}
		if o.DeliveredAt != nil {
			lo.DeliveredAt = *o.DeliveredAt
		}
		if loyalty.ActionFor(o.Status) == loyalty.Earn {
			n, err := s.DeliveredOrdersBefore(ctx, o.CustomerID, o.Ref)
			if err != nil {
				return err
			}
			lo.First = n == 0
		}
		return p.OrderChanged(ctx, s, lo)
	}
}

// SurveyHook schedules the NPS survey (and questionnaires triggered by a
// delivery) when an order becomes delivered; OrderDelivered is keyed by the
// order, so a re-import or a retried job asks once.
func SurveyHook(sv *Surveys) OrderHook {
	return func(ctx context.Context, s *models.Store, o *models.Order, ev *models.OrderEvent) error {
		if sv == nil || ev == nil || ev.To != models.OrderDelivered || o.DeliveredAt == nil {
			return nil
		}
		return sv.OrderDelivered(ctx, s, o.CustomerID, o.Ref, *o.DeliveredAt)
	}
}

// QuietHours is a daily stretch (shop time) when proactive messages wait;
// it may cross midnight. Order notices, surveys and campaigns share it.
type QuietHours = survey.QuietHours

// ParseQuietHours reads "22:00-08:00"; "" is no quiet hours.
func ParseQuietHours(s string) (QuietHours, error) { return survey.ParseQuiet(s) }

// DefaultNotifyStatuses are the status changes customers hear about.
var defaultNotifyStatuses = []string{models.OrderShipped, models.OrderDelayed, models.OrderDelivered,
	models.OrderCancelled, models.OrderRefunded}

// Order questions: a flow for the order number and the proof of ownership.
const (
	flowOrder      = "order"
	optOutOrders   = "orders"
	maxVerifyTries = 3
	verifyWindow   = time.Hour
	// Per order number, from all chats together: four digits are 10,000
	// guesses, and accounts are cheap. Ten misses a day lock the number
	// for everyone (its owner can still ask a person), so guessing one
	// order's digits takes years instead of an afternoon.
	maxOrderTries = 10
	orderWindow   = 24 * time.Hour
	purposeStatus = "s"
	purposeReturn = "r"
)

// orderStatus answers "where is my order" (intent) and /orders.
func (h *handlers) orderStatus(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	return h.withOrder(ctx, c, c.Intent.Entities["order_id"], purposeStatus)
}

// listOrders is /orders: the recent orders this chat may see.
func (h *handlers) listOrders(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	if ref, ok := nlu.ExtractOrderID(c.Args); ok {
		return h.withOrder(ctx, c, ref, purposeStatus)
	}
	orders, err := h.visibleOrders(ctx, c, 10)
	if err != nil {
		return err
	}
	if len(orders) == 0 {
		c.StartFlow(flowOrder, "ask")
		c.SetSlot("next", purposeStatus)
		c.Say("order.none_linked")
		return nil
	}
	var b strings.Builder
	b.WriteString(c.T("order.list_header"))
	rows := make([][]models.Button, 0, len(orders))
	for _, o := range orders {
		b.WriteString("\n")
		b.WriteString(c.T("order.list_line", "Ref", o.Ref, "Status", c.T("order.status."+o.Status),
			"Date", h.day(c.Lang(), o.PlacedAt), "Total", money(o.Total, o.Currency)))
		if len(rows) < 5 {
			rows = append(rows, bot.Row(bot.Btn(c.T("order.button", "Ref", o.Ref, "Status", c.T("order.status."+o.Status)), "ord:s:"+o.Ref)))
		}
	}
	c.Reply(b.String(), bot.Buttons(rows...))
	return nil
}

// visibleOrders are the orders of every customer this identity verified
// for, newest first.
func (h *handlers) visibleOrders(ctx context.Context, c *bot.Context, limit int) ([]models.Order, error) {
	ids, err := c.Store().VisibleCustomers(ctx, c.Identity.ID)
	if err != nil {
		return nil, err
	}
	return c.Store().OrdersOf(ctx, ids, limit)
}

// withOrder finds the order a question is about and goes on with purpose
// (status answer or return): ref given and visible → at once; ref given
// and not visible → verification first; no ref → the one visible order,
// buttons for several, or a question for the number.
func (h *handlers) withOrder(ctx context.Context, c *bot.Context, ref, purpose string) error {
	if ref != "" {
		o, err := h.visibleOrder(ctx, c, ref)
		if err != nil {
			return err
		}
		if o != nil {
			return h.orderFor(ctx, c, o, purpose)
		}
		return h.askVerification(ctx, c, ref, purpose)
	}
	orders, err := h.visibleOrders(ctx, c, 5)
	if err != nil {
		return err
	}
	switch len(orders) {
	case 0:
		c.StartFlow(flowOrder, "ask")
		c.SetSlot("next", purpose)
		c.Say("order.ask_number")
	case 1:
		return h.orderFor(ctx, c, &orders[0], purpose)
	default:
		c.EndFlow()
		rows := make([][]models.Button, 0, len(orders))
		for _, o := range orders {
			rows = append(rows, bot.Row(bot.Btn(c.T("order.button", "Ref", o.Ref, "Status", c.T("order.status."+o.Status)),
				"ord:"+purpose+":"+o.Ref)))
		}
		c.Reply(c.T("order.choose"), bot.Buttons(rows...))
	}
	return nil
}

// visibleOrder returns the order if this chat may see it, else nil — the
// same nil whether or not the order exists.
func (h *handlers) visibleOrder(ctx context.Context, c *bot.Context, ref string) (*models.Order, error) {
	o, err := c.Store().OrderByRef(ctx, ref)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ids, err := c.Store().VisibleCustomers(ctx, c.Identity.ID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(ids, o.CustomerID) {
		return nil, nil
	}
	return o, nil
}

func (h *handlers) orderFor(ctx context.Context, c *bot.Context, o *models.Order, purpose string) error {
	if purpose == purposeReturn {
		return h.startReturnFor(ctx, c, o)
	}
	c.EndFlow()
	c.Reply(h.orderText(c, c.Lang(), o, "order.answer"))
	return nil
}

// askVerification asks for the last four digits of the order's phone. It
// says the same for an order that does not exist: an unverified asker
// learns nothing, not even that.
func (h *handlers) askVerification(ctx context.Context, c *bot.Context, ref, purpose string) error {
	if until, locked, err := h.verifyLocked(ctx, c, ref); err != nil || locked {
		if err == nil {
			c.EndFlow()
			c.Reply(c.T("order.verify_locked", "Time", h.when(c.Lang(), until)), offerPerson(c))
		}
		return err
	}
	c.StartFlow(flowOrder, "verify")
	c.SetSlot("order", ref)
	c.SetSlot("next", purpose)
	c.Say("order.verify_ask", "Ref", ref)
	return nil
}

// verifyLocked reports whether the identity used its tries within the
// hour, or the order number (ref, if known) had too many misses from
// anyone within the day, and when the lock lifts.
func (h *handlers) verifyLocked(ctx context.Context, c *bot.Context, ref string) (time.Time, bool, error) {
	failed, err := c.Store().FailedVerifyAttempts(ctx, c.Identity.ID, c.Now.Add(-verifyWindow), maxVerifyTries)
	if err != nil {
		return time.Time{}, false, err
	}
	if len(failed) >= maxVerifyTries {
		return failed[len(failed)-maxVerifyTries].At.Add(verifyWindow), true, nil
	}
	if ref == "" {
		return time.Time{}, false, nil
	}
	failed, err = c.Store().FailedOrderVerifications(ctx, ref, c.Now.Add(-orderWindow), maxOrderTries)
	if err != nil || len(failed) < maxOrderTries {
		return time.Time{}, false, err
	}
	return failed[len(failed)-maxOrderTries].At.Add(orderWindow), true, nil
}

var fourDigits = regexp.MustCompile(`^\d{4}$`)

// orderStep takes the customer's answer in the order flow: the order
// number ("ask") or the four digits ("verify").
func (h *handlers) orderStep(ctx context.Context, c *bot.Context) error {
	text := strings.TrimSpace(c.In.Text)
	purpose := c.Slot("next")
	switch c.Conv.Step {
	case "ask":
		ref, ok := nlu.ExtractOrderID(text)
		if !ok {
			if c.Intent.Intent != nlu.Unknown && c.Intent.Intent != nlu.OrderStatus && c.Intent.Intent != nlu.ReturnRefund {
				c.EndFlow() // they moved on to something else
				return c.Reroute(ctx)
			}
			c.Say("order.no_number")
			return nil
		}
		return h.withOrder(ctx, c, ref, purpose)
	case "verify":
		digits := strings.Map(func(r rune) rune {
			if r >= '０' && r <= '９' {
				return r - '０' + '0'
			}
			if r == ' ' || r == '-' {
				return -1
			}
			return r
		}, text)
		if !fourDigits.MatchString(digits) {
			if ref, ok := nlu.ExtractOrderID(text); ok {
				return h.withOrder(ctx, c, ref, purpose) // another order number instead
			}
			if c.Intent.Intent != nlu.Unknown && len([]rune(text)) > 6 {
				c.EndFlow()
				return c.Reroute(ctx)
			}
			c.Say("order.verify_format")
			return nil
		}
		return h.checkDigits(ctx, c, c.Slot("order"), digits, purpose)
	}
	c.EndFlow()
	return c.Reroute(ctx)
}

// checkDigits compares the digits with the order's phone. Wrong digits and
// an unknown order get the same answer and both count as a try.
func (h *handlers) checkDigits(ctx context.Context, c *bot.Context, ref, digits, purpose string) error {
	s := c.Store()
	if until, locked, err := h.verifyLocked(ctx, c, ref); err != nil || locked {
		if err == nil {
			c.EndFlow()
			c.Reply(c.T("order.verify_locked", "Time", h.when(c.Lang(), until)), offerPerson(c))
		}
		return err
	}
	o, err := s.OrderByRef(ctx, ref)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	ok := o != nil && phoneEndsWith(o.Phone, digits)
	if err := s.RecordVerifyAttempt(ctx, c.Identity.ID, ref, ok); err != nil {
		return err
	}
	if !ok {
		c.Log.Info("order verification failed", "customer", c.Customer.ID)
		c.Count("order.verify_failed")
		until, locked, err := h.verifyLocked(ctx, c, ref)
		if err != nil {
			return err
		}
		if locked {
			// The order number, not a chat: someone may be guessing it.
			c.Log.Warn("order verification locked", "order", ref)
			c.EndFlow()
			c.Reply(c.T("order.verify_locked", "Time", h.when(c.Lang(), until)), offerPerson(c))
			return nil
		}
		failed, err := s.FailedVerifyAttempts(ctx, c.Identity.ID, c.Now.Add(-verifyWindow), maxVerifyTries)
		if err != nil {
			return err
		}
		c.Say("order.verify_failed", "Ref", ref, "Left", maxVerifyTries-len(failed))
		return nil
	}
	if _, err := s.AttachVerifiedIdentity(ctx, c.Identity.ID, o.CustomerID); err != nil {
		return err
	}
	c.Log.Info("order verified", "customer", c.Customer.ID, "order_customer", o.CustomerID)
	c.Count("order.verified")
	c.Say("order.verified")
	return h.orderFor(ctx, c, o, purpose)
}

// phoneEndsWith compares the last four digits of a phone number.
func phoneEndsWith(phone, last4 string) bool {
	var d []rune
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			d = append(d, r)
		}
	}
	return len(d) >= 4 && string(d[len(d)-4:]) == last4
}

// orderButton handles ord:s:REF (status) and ord:r:REF (return). Forged or
// stale data about an order the chat may not see asks for verification.
func (h *handlers) orderButton(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	purpose, ref, _ := strings.Cut(c.Arg, ":")
	if _, ok := nlu.ExtractOrderID(ref); !ok || (purpose != purposeStatus && purpose != purposeReturn) {
		c.Reply(c.T("fallback.stale_button"), menu(c))
		return nil
	}
	return h.withOrder(ctx, c, ref, purpose)
}

// orderText renders an order's status for a customer: plain words, what
// happens next, carrier and tracking, dates and items.
func (h *handlers) orderText(j outbox, lang string, o *models.Order, head string) string {
	var b strings.Builder
	b.WriteString(j.TLang(lang, head, "Ref", o.Ref, "Status", j.TLang(lang, "order.status."+o.Status)))
	b.WriteString("\n" + j.TLang(lang, "order.next."+o.Status))
	if o.Carrier != "" || o.Tracking != "" {
		b.WriteString("\n" + j.TLang(lang, "order.line_tracking", "Carrier", orDash(o.Carrier), "Tracking", orDash(o.Tracking)))
	}
	if !o.PlacedAt.IsZero() {
		b.WriteString("\n" + j.TLang(lang, "order.line_placed", "Date", h.day(lang, o.PlacedAt)))
	}
	if o.DeliveredAt != nil && o.Status == models.OrderDelivered {
		b.WriteString("\n" + j.TLang(lang, "order.line_delivered", "Date", h.day(lang, *o.DeliveredAt)))
	}
	if len(o.Items) > 0 {
		names := make([]string, 0, len(o.Items))
		for _, it := range o.Items {
			names = append(names, fmt.Sprintf("%s ×%d", it.Name, it.Qty))
		}
		b.WriteString("\n" + j.TLang(lang, "order.line_items", "Items", strings.Join(names, ", ")))
	}
	if o.Total > 0 {
		b.WriteString("\n" + j.TLang(lang, "order.line_total", "Total", money(o.Total, o.Currency)))
	}
	return b.String()
}

// day formats a date for a reader in the shop's time zone.
func (h *handlers) day(lang string, t time.Time) string {
	t = t.In(h.loc)
	if lang == bot.LangZH {
		return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
	}
	return t.Format("Mon 2 Jan 2006")
}

// money formats minor units of a currency.
func money(v int64, currency string) string {
	sym := map[string]string{"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$"}[currency]
	var amount string
	if currency == "JPY" || currency == "KRW" {
		amount = strconv.FormatInt(v, 10)
	} else {
		amount = fmt.Sprintf("%d.%02d", v/100, v%100)
	}
	if sym == "" {
		return amount + " " + currency
	}
	return sym + amount
}

func offerPerson(c *bot.Context) bot.Option {
	return bot.Buttons(bot.Row(bot.Btn(c.T("menu.human"), "handoff:start")))
}

// resumeNotices is /notify: order notifications back on.
func (h *handlers) resumeNotices(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	if err := c.Store().SetOptOut(ctx, c.Customer.ID, optOutOrders, false); err != nil {
		return err
	}
	c.Say("order.resumed")
	return nil
}

// runOrderChanged is the order.changed job of one order event: the hooks
// run, then the customers linked to the order are told, once, in their
// language — later if it is quiet hours, never if they opted out or the
// order moved on since (the later event tells them).
func (h *handlers) runOrderChanged(ctx context.Context, j *bot.Job) error {
	var p models.OrderChangedJob
	if err := json.Unmarshal([]byte(j.Row.Payload), &p); err != nil {
		return fmt.Errorf("order.changed payload: %w", err)
	}
	s := j.Store()
	ev, err := s.OrderEvent(ctx, p.Event)
	if err != nil {
		return err
	}
	o, err := s.Order(ctx, ev.OrderID)
	if err != nil {
		return err
	}
	if !p.NotifyOnly {
		for i, hook := range h.orderHooks {
			if err := hook(ctx, s, o, ev); err != nil {
				return fmt.Errorf("order %s hook %d: %w", o.Ref, i, err)
			}
		}
	}
	if ev.From == "" || o.Status != ev.To || !slices.Contains(h.notifyStatuses, ev.To) {
		return nil // first sight of the order, a stale change, or not worth a message
	}
	if end, quiet := h.quiet.Until(j.Now, h.loc); quiet {
		key := fmt.Sprintf("%d:quiet:%d", ev.ID, end.Unix())
		return scheduleJSON(ctx, s, models.JobOrderChanged, key, end, models.OrderChangedJob{Event: ev.ID, NotifyOnly: true})
	}
	custs, err := s.LinkedCustomers(ctx, o.CustomerID)
	if err != nil {
		return err
	}
	for _, id := range custs {
		if out, err := s.OptedOut(ctx, id, optOutOrders); err != nil || out {
			if err != nil {
				return err
			}
			continue
		}
		cust, err := s.Customer(ctx, id)
		if err != nil {
			return err
		}
		conv, err := s.CustomerConversation(ctx, id)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		lang := customerLang(cust)
		text := h.orderText(j, lang, o, "order.notice") + "\n" + j.TLang(lang, "order.notice_stop")
		j.SendTo(conv, text, bot.Kind("notice"))
		j.Count("order.notified")
	}
	return nil
}

// staffOrder is /order REF in a staff room: the order as the customer
// would see it, its status history and how many chats are linked to it.
func (h *handlers) staffOrder(ctx context.Context, c *bot.Context) error {
	ref, ok := nlu.ExtractOrderID(c.Args)
	if !ok {
		ref = strings.TrimSpace(c.Args)
	}
	if ref == "" {
		return &bot.UserError{Key: "staff.usage", Data: map[string]any{"Usage": "/order 20261101001"}}
	}
	s := c.Store()
	o, err := s.OrderByRef(ctx, ref)
	if errors.Is(err, models.ErrNotFound) {
		c.Say("staff.unknown_order", "Ref", ref)
		return nil
	}
	if err != nil {
		return err
	}
	cust, err := s.Customer(ctx, o.CustomerID)
	if err != nil {
		return err
	}
	evs, err := s.OrderEvents(ctx, o.ID)
	if err != nil {
		return err
	}
	linked, err := s.LinkedCustomers(ctx, o.CustomerID)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(h.orderText(c, c.Lang(), o, "order.answer"))
	custRef := ""
	if cust.Ref != nil {
		custRef = *cust.Ref
	}
	b.WriteString("\n" + c.T("staff.order_customer", "Name", orDash(cust.Name), "Ref", orDash(custRef), "Phone", orDash(o.Phone),
		"Chats", len(linked)))
	for _, ev := range evs {
		from := "—"
		if ev.From != "" {
			from = c.T("order.status." + ev.From)
		}
		b.WriteString("\n" + c.T("staff.order_event", "When", h.when(c.Lang(), ev.At), "From", from,
			"To", c.T("order.status."+ev.To), "Source", ev.Source))
	}
	c.Reply(b.String())
	return nil
}
