package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers/loyalty"
	"github.com/kefu-bot/kefu/models"
)

// Points applies the loyalty rules to the ledger. Order import and surveys
// call OrderChanged and SurveyCompleted inside their own transactions;
// chat, staff and scheduled jobs go through the same methods, so every
// change re-evaluates the tier and schedules the lot's reminder and expiry.
type Points struct {
	rules  loyalty.Rules
	loc    *time.Location
	coupon string // reward code given on a tier upgrade; "" none
}

// NewPoints returns the loyalty programme with rules (validated by the
// caller), times shown in loc, and the reward code given on upgrades.
func NewPoints(rules loyalty.Rules, loc *time.Location, upgradeCoupon string) *Points {
	if loc == nil {
		loc = time.UTC
	}
	return &Points{rules: rules, loc: loc, coupon: upgradeCoupon}
}

// Rules returns the programme's rules.
func (p *Points) Rules() loyalty.Rules { return p.rules }

// Job kinds of the loyalty programme.
const (
	jobPointsRemind = "points.remind" // one lot expires soon: tell the customer once
	jobPointsExpire = "points.expire" // one lot's date came: expire what is left
	jobPointsTiers  = "points.tiers"  // nightly: tiers of everyone with points
	jobPointsNotice = "points.notice" // a message to a customer decided outside a chat turn
)

type lotJob struct {
	Lot uint64 `json:"lot"`
}

// noticeJob is a customer message decided where no chat turn is at hand
// (order import, nightly review): the job renders it in the customer's
// language when it runs.
type noticeJob struct {
	Customer uint64         `json:"customer"`
	Text     string         `json:"text"`
	Args     map[string]any `json:"args,omitempty"`
}

// OrderChanged brings the ledger in line with an order's status: a
// delivered order earns (with its bonuses) once however often it is
// imported; a cancelled, returned or refunded one takes back what it
// earned, as far as the balance allows. Keys: "order:REF:earn",
// "order:REF:reverse", "bonus:CUSTOMER:first", "bonus:CUSTOMER:birthday:YEAR".
// Call it inside the transaction that stores the order.
func (p *Points) OrderChanged(ctx context.Context, s *models.Store, o loyalty.Order) error {
	if o.Ref == "" || o.CustomerID == 0 {
		return fmt.Errorf("order changed: order ref and customer are required")
	}
	switch loyalty.ActionFor(o.Status) {
	case loyalty.Earn:
		return p.earnOrder(ctx, s, o, p.later(s))
	case loyalty.Reverse:
		return p.reverseOrder(ctx, s, o, p.later(s))
	}
	return nil
}

func (p *Points) earnOrder(ctx context.Context, s *models.Store, o loyalty.Order, tell notify) error {
	cust, err := s.Customer(ctx, o.CustomerID)
	if err != nil {
		return fmt.Errorf("order %s: %w", o.Ref, err)
	}
	if _, err := s.PointsEntryByKey(ctx, "order:"+o.Ref+":reverse"); err == nil {
		return nil // reversed already: a late "delivered" import earns nothing
	}
	now := s.Now()
	if n := p.rules.Points(o, cust.Tier); n > 0 {
		if err := p.apply(ctx, s, tell, models.Movement{CustomerID: cust.ID, Kind: models.PointsEarn, Points: n,
			Reason: "order " + o.Ref, RefKind: models.RefOrder, RefID: o.Ref, Key: "order:" + o.Ref + ":earn",
			Amount: o.Total, Currency: o.Currency, ExpiresAt: p.rules.ExpiresAt(now)}); err != nil {
			return err
		}
	}
	for _, b := range p.rules.Bonuses(o, cust.BirthMonth, p.loc) {
		if err := p.apply(ctx, s, tell, models.Movement{CustomerID: cust.ID, Kind: models.PointsEarn, Points: b.Points,
			Reason: b.Reason, RefKind: models.RefBonus, RefID: o.Ref, Key: fmt.Sprintf("bonus:%d:%s", cust.ID, b.Key),
			ExpiresAt: p.rules.ExpiresAt(now)}); err != nil {
			return err
		}
	}
	return nil
}

func (p *Points) reverseOrder(ctx context.Context, s *models.Store, o loyalty.Order, tell notify) error {
	earn, err := s.PointsEntryByKey(ctx, "order:"+o.Ref+":earn")
	if errors.Is(err, models.ErrNotFound) {
		return nil // never earned (not delivered yet): nothing to take back
	}
	if err != nil {
		return err
	}
	if err := p.apply(ctx, s, tell, models.Movement{CustomerID: earn.CustomerID, Kind: models.PointsReverse, Points: earn.Points,
		Reason: "order " + o.Ref + " " + strings.ToLower(o.Status), RefKind: models.RefOrder, RefID: o.Ref,
		Key: "order:" + o.Ref + ":reverse", Amount: earn.Amount, Currency: earn.Currency, Lot: earn.ID, Partial: true}); err != nil {
		return err
	}
	// Bonuses the order brought go with it.
	bonuses, err := s.PointsEntriesByRef(ctx, earn.CustomerID, models.RefBonus, o.Ref)
	if err != nil {
		return err
	}
	for _, b := range bonuses {
		if b.Points <= 0 {
			continue
		}
		if err := p.apply(ctx, s, tell, models.Movement{CustomerID: b.CustomerID, Kind: models.PointsReverse, Points: b.Points,
			Reason: b.Reason + " reversed", RefKind: models.RefBonus, RefID: o.Ref, Key: b.Key + ":reverse",
			Lot: b.ID, Partial: true}); err != nil {
			return err
		}
	}
	return nil
}

// SurveyCompleted gives the survey bonus once per customer and survey
// (key "survey:REF:CUSTOMER").
func (p *Points) SurveyCompleted(ctx context.Context, s *models.Store, customerID uint64, surveyRef string) error {
	if p.rules.SurveyBonus <= 0 {
		return nil
	}
	return p.apply(ctx, s, p.later(s), models.Movement{CustomerID: customerID, Kind: models.PointsEarn, Points: p.rules.SurveyBonus,
		Reason: "survey " + surveyRef, RefKind: models.RefBonus, RefID: surveyRef,
		Key: fmt.Sprintf("survey:%s:%d", surveyRef, customerID), ExpiresAt: p.rules.ExpiresAt(s.Now())})
}

// Adjust adds (delta > 0) or takes (delta < 0) points by hand, audited
// under actor. Taking more than the balance fails with
// *models.InsufficientPointsError. It returns the new balance.
func (p *Points) Adjust(ctx context.Context, s *models.Store, customerID uint64, delta int64, reason, actor, refKind, refID, key string) (int64, error) {
	return p.adjust(ctx, s, p.later(s), customerID, delta, reason, actor, refKind, refID, key)
}

func (p *Points) adjust(ctx context.Context, s *models.Store, tell notify, customerID uint64, delta int64, reason, actor, refKind, refID, key string) (int64, error) {
	if delta == 0 {
		return 0, errors.New("adjust points: delta is zero")
	}
	m := models.Movement{CustomerID: customerID, Kind: models.PointsAdjust, Points: delta, Credit: delta > 0, Reason: reason,
		RefKind: refKind, RefID: refID, Key: key, Actor: actor}
	if delta > 0 {
		m.ExpiresAt = p.rules.ExpiresAt(s.Now())
	} else {
		m.Points = -delta
	}
	if err := p.apply(ctx, s, tell, m); err != nil {
		return 0, err
	}
	if err := s.Audit(ctx, actor, "points.adjust", fmt.Sprint("customer:", customerID),
		fmt.Sprintf("%+d %s (%s %s)", delta, reason, refKind, refID)); err != nil {
		return 0, err
	}
	return s.PointsBalance(ctx, customerID)
}

// apply writes one movement, then schedules the new lot's reminder and
// expiry and re-evaluates the tier. A repeated key changes nothing.
func (p *Points) apply(ctx context.Context, s *models.Store, tell notify, m models.Movement) error {
	e, created, err := s.AddPoints(ctx, m)
	if err != nil || !created {
		return err
	}
	now := s.Now()
	if e.Points > 0 && e.ExpiresAt != nil {
		key := strconv.FormatUint(e.ID, 10)
		if err := scheduleJSON(ctx, s, jobPointsExpire, key, *e.ExpiresAt, lotJob{Lot: e.ID}); err != nil {
			return err
		}
		if r := p.rules.ExpiryReminder; r > 0 && e.ExpiresAt.Add(-r).After(now) {
			if err := scheduleJSON(ctx, s, jobPointsRemind, key, e.ExpiresAt.Add(-r), lotJob{Lot: e.ID}); err != nil {
				return err
			}
		}
	}
	return p.changed(ctx, s, tell, m.CustomerID)
}

// changed follows every ledger change: the tier is evaluated now, and the
// nightly review (spend rolling out of the 12 months, lots made outside
// apply) is scheduled.
func (p *Points) changed(ctx context.Context, s *models.Store, tell notify, customerID uint64) error {
	if err := p.StartJobs(ctx, s); err != nil {
		return err
	}
	return p.reviewTier(ctx, s, tell, customerID)
}

// StartJobs schedules the next nightly loyalty review (idempotent). kefu
// run calls it at start; every ledger change calls it too.
func (p *Points) StartJobs(ctx context.Context, s *models.Store) error {
	next := nextMidnight(s.Now(), p.loc)
	return scheduleJSON(ctx, s, jobPointsTiers, next.Format(time.DateOnly), next, struct{}{})
}

func nextMidnight(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
}

// standing is what the tier is judged on: whole currency units of spend or
// points earned over the last 12 months.
func (p *Points) standing(ctx context.Context, s *models.Store, customerID uint64) (int64, error) {
	since := s.Now().AddDate(-1, 0, 0)
	if p.rules.Basis == loyalty.BasisPoints {
		return s.PointsEarnedSince(ctx, customerID, since)
	}
	v, err := s.RollingSpend(ctx, customerID, since)
	// Spend is mixed-currency only in theory; kefu shops sell in one.
	return v / loyalty.MinorPerUnit(""), err
}

// reviewTier moves the customer to the tier their standing reaches and
// queues the notice; an upgrade also gives the upgrade coupon, once per
// tier. A customer without a tier is placed silently.
func (p *Points) reviewTier(ctx context.Context, s *models.Store, tell notify, customerID uint64) error {
	cust, err := s.Customer(ctx, customerID)
	if err != nil {
		return err
	}
	v, err := p.standing(ctx, s, customerID)
	if err != nil {
		return err
	}
	want := p.rules.Tiers[p.rules.TierIndex(v)]
	if want.Name == cust.Tier {
		return nil
	}
	old := p.rules.Rank(cust.Tier)
	if old < 0 && cust.Tier != "" {
		return nil // a tier outside the programme (VIP set by hand) is the shop's call
	}
	if err := s.SetCustomerTier(ctx, customerID, want.Name); err != nil {
		return err
	}
	if old < 0 {
		return nil // first placement: nothing to announce
	}
	n := noticeJob{Customer: customerID, Text: "points.tier_down", Args: map[string]any{"Tier": want.Name}}
	if p.rules.Rank(want.Name) > old {
		n.Text = "points.tier_up"
		if p.coupon != "" {
			red, err := s.IssueCoupon(ctx, customerID, p.coupon, fmt.Sprintf("upgrade:%d:%s", customerID, want.Name))
			if err != nil && !errors.Is(err, models.ErrNotFound) {
				return err
			}
			if red != nil {
				n.Args["Coupon"] = red.Coupon
			}
		}
	}
	return tell(ctx, n)
}

// notify delivers a customer notice: at once where a turn or job can send,
// else (p.later) through a points.notice job.
type notify func(ctx context.Context, n noticeJob) error

// later queues notices as jobs, for callers without a chat turn (order
// import, surveys, the CLI).
func (p *Points) later(s *models.Store) notify {
	return func(ctx context.Context, n noticeJob) error {
		now := s.Now()
		key := fmt.Sprintf("%d:%s:%d", n.Customer, n.Text, now.UnixNano())
		return scheduleJSON(ctx, s, jobPointsNotice, key, now, n)
	}
}

// tellNow sends notices from a job at once.
func (h *handlers) tellNow(j *bot.Job) notify {
	return func(ctx context.Context, n noticeJob) error {
		return h.tellCustomer(ctx, j, n.Customer, n.Text, n.Args)
	}
}

// tellTurn sends notices from a chat turn at once.
func (h *handlers) tellTurn(c *bot.Context) notify {
	return func(ctx context.Context, n noticeJob) error {
		return h.tellCustomer(ctx, c, n.Customer, n.Text, n.Args)
	}
}

// tierLabel renders a stored tier name in lang.
func (p *Points) tierLabel(lang, name string) string {
	if t, ok := p.rules.TierNamed(name); ok {
		return t.Label(lang)
	}
	return name
}

// --- Chat ---

// pointsBalance answers "how many points do I have": balance, what
// expires when, tier and the way to the next one.
func (h *handlers) pointsBalance(ctx context.Context, c *bot.Context) error {
	s := c.Store()
	cust := c.Customer
	if cust == nil {
		return nil
	}
	p := h.points
	bal, err := s.PointsBalance(ctx, cust.ID)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(c.T("points.balance", "Points", bal))
	lots, err := s.OpenLots(ctx, cust.ID)
	if err != nil {
		return err
	}
	// The next few expiry dates, lots of one day together.
	shown := 0
	for i := 0; i < len(lots) && shown < 3; {
		if lots[i].ExpiresAt == nil {
			break
		}
		day := lots[i].ExpiresAt.In(h.loc).Format(time.DateOnly)
		var sum int64
		for ; i < len(lots) && lots[i].ExpiresAt != nil && lots[i].ExpiresAt.In(h.loc).Format(time.DateOnly) == day; i++ {
			sum += lots[i].Remaining
		}
		b.WriteString("\n")
		soon := lots[i-1].ExpiresAt.Sub(c.Now) <= p.rules.ExpiryReminder
		if soon {
			b.WriteString(c.T("points.expires_soon", "Points", sum, "Date", day))
		} else {
			b.WriteString(c.T("points.expires", "Points", sum, "Date", day))
		}
		shown++
	}
	v, err := p.standing(ctx, s, cust.ID)
	if err != nil {
		return err
	}
	tier := cust.Tier
	if tier == "" {
		tier = p.rules.Tiers[0].Name
	}
	b.WriteString("\n")
	b.WriteString(c.T("points.tier", "Tier", p.tierLabel(c.Lang(), tier)))
	if _, next, missing, ok := p.rules.Progress(v); ok {
		b.WriteString("\n")
		if p.rules.Basis == loyalty.BasisPoints {
			b.WriteString(c.T("points.next_points", "Next", next.Label(c.Lang()), "Missing", missing))
		} else {
			b.WriteString(c.T("points.next_spend", "Next", next.Label(c.Lang()), "Missing", missing))
		}
	}
	c.Reply(b.String(), bot.Buttons(bot.Row(bot.Btn(c.T("points.rewards_button"), "rw:list"))))
	return nil
}

// rewards lists the catalogue with a button per reward.
func (h *handlers) rewards(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil // a staff room: points belong to customers
	}
	s := c.Store()
	rs, err := s.Rewards(ctx, false)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		c.Say("rewards.none")
		return nil
	}
	bal, err := s.PointsBalance(ctx, c.Customer.ID)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(c.T("rewards.header", "Points", bal))
	var rows [][]models.Button
	for _, r := range rs {
		if r.Stock == 0 {
			continue
		}
		b.WriteString("\n")
		b.WriteString(c.T("rewards.line", "Name", r.Name(c.Lang()), "Cost", r.Cost))
		rows = append(rows, bot.Row(bot.Btn(c.T("rewards.button", "Name", r.Name(c.Lang()), "Cost", r.Cost),
			"rw:pick:"+strconv.FormatUint(r.ID, 10))))
	}
	c.Reply(b.String(), bot.Buttons(rows...))
	return nil
}

// rewardButton handles rw:list, rw:pick:ID, rw:ok:ID:NONCE and rw:no.
func (h *handlers) rewardButton(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	action, rest, _ := strings.Cut(c.Arg, ":")
	switch action {
	case "list":
		return h.rewards(ctx, c)
	case "pick":
		return h.pickReward(ctx, c, rest)
	case "ok":
		return h.confirmReward(ctx, c, rest)
	}
	c.Say("rewards.cancelled")
	return nil
}

func (h *handlers) pickReward(ctx context.Context, c *bot.Context, arg string) error {
	id, err := strconv.ParseUint(arg, 10, 64)
	if err != nil {
		return &bot.UserError{Key: "rewards.unknown"}
	}
	s := c.Store()
	r, err := s.Reward(ctx, id)
	if errors.Is(err, models.ErrNotFound) || err == nil && !r.Active {
		return &bot.UserError{Key: "rewards.unknown"}
	}
	if err != nil {
		return err
	}
	bal, err := s.PointsBalance(ctx, c.Customer.ID)
	if err != nil {
		return err
	}
	if bal < r.Cost {
		c.Say("rewards.short", "Name", r.Name(c.Lang()), "Cost", r.Cost, "Missing", r.Cost-bal)
		return nil
	}
	// The confirmation carries this turn's message id: pressing Confirm
	// twice (or on two devices) redeems once, under one key. "rw:ok:" and
	// two uint64s stay far below the 64-byte callback limit.
	data := fmt.Sprintf("rw:ok:%d:%d", r.ID, c.Message.ID)
	c.Reply(c.T("rewards.confirm", "Name", r.Name(c.Lang()), "Cost", r.Cost, "After", bal-r.Cost),
		bot.Buttons(bot.Row(bot.Btn(c.T("rewards.yes"), data), bot.Btn(c.T("rewards.no"), "rw:no"))))
	return nil
}

func (h *handlers) confirmReward(ctx context.Context, c *bot.Context, arg string) error {
	rid, nonce, _ := strings.Cut(arg, ":")
	id, err := strconv.ParseUint(rid, 10, 64)
	if err != nil || nonce == "" {
		return &bot.UserError{Key: "rewards.unknown"}
	}
	s := c.Store()
	key := fmt.Sprintf("redeem:%d:%s", c.Customer.ID, nonce)
	red, created, err := s.Redeem(ctx, c.Customer.ID, id, key)
	var short *models.InsufficientPointsError
	switch {
	case errors.As(err, &short):
		c.Say("rewards.short_now", "Missing", short.Need-short.Balance)
		return nil
	case errors.Is(err, models.ErrNotFound):
		return &bot.UserError{Key: "rewards.unknown"}
	case errors.Is(err, models.ErrConflict):
		return &bot.UserError{Key: "rewards.out_of_stock"}
	case err != nil:
		return err
	}
	r, err := s.Reward(ctx, red.RewardID)
	if err != nil {
		return err
	}
	if !created {
		c.Say("rewards.already", "Name", r.Name(c.Lang()), "Coupon", red.Coupon)
		return nil
	}
	if err := h.points.changed(ctx, s, h.tellTurn(c), c.Customer.ID); err != nil {
		return err
	}
	bal, err := s.PointsBalance(ctx, c.Customer.ID)
	if err != nil {
		return err
	}
	c.Count("points.redeemed")
	c.Say("rewards.done", "Name", r.Name(c.Lang()), "Coupon", red.Coupon, "Points", bal)
	return nil
}

// --- Staff ---

// staffAdjust is /adjust T-1001|C1001 +200 reason: staff add or take
// points, for a ticket's customer or a customer by shop reference.
func (h *handlers) staffAdjust(ctx context.Context, c *bot.Context) error {
	const usage = "/adjust T-1001|C1001 +200 reason"
	f := strings.Fields(c.Args)
	if len(f) < 3 {
		return &bot.UserError{Key: "staff.usage", Data: map[string]any{"Usage": usage}}
	}
	delta, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || delta == 0 {
		return &bot.UserError{Key: "staff.usage", Data: map[string]any{"Usage": usage}}
	}
	reason := strings.Join(f[2:], " ")
	s := c.Store()
	var cust *models.Customer
	refKind, refID := models.RefStaff, f[0]
	if tid, ok := models.ParseTicketRef(f[0]); ok {
		t, err := s.Ticket(ctx, tid)
		if errors.Is(err, models.ErrNotFound) {
			return &bot.UserError{Key: "staff.unknown_ticket", Data: map[string]any{"Ref": f[0]}}
		}
		if err != nil {
			return err
		}
		refKind = models.RefTicket
		if cust, err = s.Customer(ctx, t.CustomerID); err != nil {
			return err
		}
	} else if cust, err = s.CustomerByRef(ctx, f[0]); errors.Is(err, models.ErrNotFound) {
		return &bot.UserError{Key: "staff.unknown_customer", Data: map[string]any{"Ref": f[0]}}
	} else if err != nil {
		return err
	}
	bal, err := h.points.adjust(ctx, s, h.tellTurn(c), cust.ID, delta, reason, c.StaffName(), refKind, refID,
		fmt.Sprintf("adjust:%d", c.Message.ID))
	var short *models.InsufficientPointsError
	if errors.As(err, &short) {
		return &bot.UserError{Key: "staff.points_short", Data: map[string]any{"Balance": short.Balance}}
	}
	if err != nil {
		return err
	}
	if conv, err := s.CustomerConversation(ctx, cust.ID); err == nil {
		key := "points.adjusted_up"
		if delta < 0 {
			key = "points.adjusted_down"
		}
		c.SendTo(conv, c.TLang(customerLang(cust), key, "Points", abs(delta), "Reason", reason, "Balance", bal))
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	c.Say("staff.points_adjusted", "Name", orDash(cust.Name), "Delta", fmt.Sprintf("%+d", delta), "Balance", bal)
	return nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// --- Jobs ---

func (h *handlers) runPointsExpire(ctx context.Context, j *bot.Job) error {
	var p lotJob
	if err := json.Unmarshal([]byte(j.Row.Payload), &p); err != nil {
		return fmt.Errorf("points expire payload: %w", err)
	}
	lot, err := j.Store().PointsLot(ctx, p.Lot)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return h.expireLot(ctx, j, lot)
}

// expireLot expires what is left of a lot whose date has come (only the
// rest: allocations already took the used part) and tells the customer.
func (h *handlers) expireLot(ctx context.Context, j *bot.Job, lot *models.PointsEntry) error {
	s := j.Store()
	if lot.Remaining <= 0 || lot.ExpiresAt == nil || lot.ExpiresAt.After(j.Now) {
		return nil
	}
	e, created, err := s.AddPoints(ctx, models.Movement{CustomerID: lot.CustomerID, Kind: models.PointsExpire, Points: lot.Remaining,
		Reason: "expired", RefKind: models.RefLot, RefID: strconv.FormatUint(lot.ID, 10),
		Key: fmt.Sprint("expire:", lot.ID), Lot: lot.ID, OnlyLot: true, Partial: true})
	if err != nil || !created || e == nil {
		return err
	}
	if err := h.points.reviewTier(ctx, s, h.tellNow(j), lot.CustomerID); err != nil {
		return err
	}
	return h.tellCustomer(ctx, j, lot.CustomerID, "points.expired", map[string]any{"Points": -e.Points, "Balance": e.Balance})
}

func (h *handlers) runPointsRemind(ctx context.Context, j *bot.Job) error {
	var p lotJob
	if err := json.Unmarshal([]byte(j.Row.Payload), &p); err != nil {
		return fmt.Errorf("points remind payload: %w", err)
	}
	s := j.Store()
	lot, err := s.PointsLot(ctx, p.Lot)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return h.remindLot(ctx, j, lot)
}

func (h *handlers) remindLot(ctx context.Context, j *bot.Job, lot *models.PointsEntry) error {
	if lot.Remaining <= 0 || lot.ExpiresAt == nil || !lot.ExpiresAt.After(j.Now) {
		return nil
	}
	return h.tellCustomer(ctx, j, lot.CustomerID, "points.expiry_reminder", map[string]any{"Points": lot.Remaining,
		"Date": lot.ExpiresAt.In(h.loc).Format(time.DateOnly)})
}

// runPointsTiers is the nightly review: tiers of everyone with points
// (spend rolls out of the 12 months), and a catch-up for lots whose own
// jobs were never scheduled (demo data, imports): expire the overdue,
// remind the soon-expiring once — the remind job's row is the record.
func (h *handlers) runPointsTiers(ctx context.Context, j *bot.Job) error {
	s := j.Store()
	ids, err := s.LoyaltyCustomers(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := h.points.reviewTier(ctx, s, h.tellNow(j), id); err != nil {
			return err
		}
	}
	overdue, err := s.ExpiredLots(ctx, j.Now, 10000)
	if err != nil {
		return err
	}
	for i := range overdue {
		if err := h.expireLot(ctx, j, &overdue[i]); err != nil {
			return err
		}
	}
	if r := h.points.rules.ExpiryReminder; r > 0 {
		soon, err := s.ExpiringLots(ctx, j.Now, j.Now.Add(r), 10000)
		if err != nil {
			return err
		}
		for _, lot := range soon {
			created, err := s.ScheduleJob(ctx, jobPointsRemind, strconv.FormatUint(lot.ID, 10), j.Now, "{}")
			if err != nil {
				return err
			}
			if !created {
				continue // reminded already, or its own reminder is on the way
			}
			if err := s.CancelJob(ctx, jobPointsRemind, strconv.FormatUint(lot.ID, 10)); err != nil {
				return err
			}
			if err := h.remindLot(ctx, j, &lot); err != nil {
				return err
			}
		}
	}
	return h.points.StartJobs(ctx, s)
}

func (h *handlers) runPointsNotice(ctx context.Context, j *bot.Job) error {
	var n noticeJob
	if err := json.Unmarshal([]byte(j.Row.Payload), &n); err != nil {
		return fmt.Errorf("points notice payload: %w", err)
	}
	return h.tellCustomer(ctx, j, n.Customer, n.Text, n.Args)
}

// outbox is what turns and jobs share for sending: *bot.Context and
// *bot.Job both have it.
type outbox interface {
	Store() *models.Store
	SendTo(conv *models.Conversation, text string, opts ...bot.Option)
	TLang(lang, id string, kv ...any) string
}

// tellCustomer sends a catalogue text to the customer's latest chat, in
// their language; a customer kefu never chatted with is skipped.
func (h *handlers) tellCustomer(ctx context.Context, j outbox, customerID uint64, text string, args map[string]any) error {
	s := j.Store()
	cust, err := s.Customer(ctx, customerID)
	if err != nil {
		return err
	}
	conv, err := s.CustomerConversation(ctx, customerID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	lang := customerLang(cust)
	var kv []any
	for k, v := range args {
		if k == "Tier" {
			v = h.points.tierLabel(lang, fmt.Sprint(v))
		}
		kv = append(kv, k, v)
	}
	switch text {
	case "points.tier_up":
		if _, ok := args["Coupon"]; ok {
			text = "points.tier_up_coupon"
		}
	case "points.tier_down", "points.expired", "points.expiry_reminder":
	default:
		return fmt.Errorf("points notice: unknown text %q", text)
	}
	j.SendTo(conv, j.TLang(lang, text, kv...), bot.Kind("notice"))
	return nil
}
