package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers/priority"
	"github.com/kefu-bot/kefu/handlers/sla"
	"github.com/kefu-bot/kefu/models"
)

// ticketSpec is what a customer asked for help with.
type ticketSpec struct {
	kind, category, subject, order string
}

// openTicket grades, stores and announces a ticket, puts the conversation in
// handoff mode and starts its SLA timers (jobs in the database).
func (h *handlers) openTicket(ctx context.Context, c *bot.Context, spec ticketSpec) (*models.Ticket, error) {
	s := c.Store()
	now := c.Now.UTC()
	repeats, err := s.CountRecentComplaints(ctx, c.Customer.ID, now.AddDate(0, 0, -30))
	if err != nil {
		return nil, err
	}
	// The last segment refresh's 80/20 verdict weighs like a high-value tier.
	high, err := highValue(ctx, s, c.Customer.ID)
	if err != nil {
		return nil, err
	}
	g := h.priority.Grade(priority.Input{Category: spec.category, Text: spec.subject, RepeatCount: repeats, CustomerTier: c.Customer.Tier, HighValue: high})
	t := &models.Ticket{CustomerID: c.Customer.ID, ConversationID: c.Conv.ID, Kind: spec.kind, Category: spec.category,
		Subject: spec.subject, OrderRef: spec.order, Priority: g.Priority, Severity: g.Severity, Signals: signalNotes(g.Signals)}
	target := h.policy[g.Priority]
	fr, res := h.cal.Add(now, target.FirstResponse), h.cal.Add(now, target.Resolution)
	t.FirstResponseDue, t.ResolutionDue = &fr, &res
	if err := s.CreateTicket(ctx, t, "customer"); err != nil {
		return nil, err
	}
	for _, timer := range []string{timerFirstResponse, timerResolution} {
		if err := h.scheduleSLA(ctx, s, t, timer, now); err != nil {
			return nil, err
		}
	}
	c.EndFlow()
	c.Conv.Mode, c.Conv.TicketID = models.ModeHandoff, &t.ID
	text := c.T("ticket.opened", "Ref", t.Ref(), "Due", h.when(c.Lang(), fr))
	if !h.cal.IsOpen(now) {
		text += "\n" + c.T("ticket.after_hours", "Open", h.when(c.Lang(), h.cal.NextOpen(now)))
	}
	c.Reply(text, bot.Buttons(bot.Row(bot.Btn(c.T("handoff.cancel_button"), "handoff:cancel"))))
	c.Log.Info("ticket opened", "ticket", t.ID, "kind", t.Kind, "priority", t.Priority)
	c.Count("ticket.opened")
	card, err := h.card(ctx, c, t)
	if err != nil {
		return nil, err
	}
	return t, c.NotifyStaff(ctx, card, bot.Kind("card"), bot.ForTicket(t.ID), cardButtons(c, t))
}

// cardButtons are a ticket card's one-tap staff actions: claim, resolve,
// and the priority. Their data stays well within 64 bytes.
func cardButtons(c *bot.Context, t *models.Ticket) bot.Option {
	lang, ref := c.StaffLang(), t.Ref()
	prio := make([]models.Button, 0, 4)
	for _, p := range []string{"P1", "P2", "P3", "P4"} {
		prio = append(prio, bot.Btn(p, "st:priority:"+ref+":"+p))
	}
	return bot.Buttons(
		bot.Row(bot.Btn(c.TLang(lang, "staff.claim_button"), "st:claim:"+ref), bot.Btn(c.TLang(lang, "staff.resolve_button"), "st:resolve:"+ref)),
		prio)
}

// card renders a ticket for staff: the customer at a glance, the problem,
// the priority with its reasons, the SLA due time and the commands.
func (h *handlers) card(ctx context.Context, c *bot.Context, t *models.Ticket) (func(lang string) string, error) {
	s := c.Store()
	cust, err := s.Customer(ctx, t.CustomerID)
	if err != nil {
		return nil, err
	}
	past, err := s.CustomerTickets(ctx, t.CustomerID, 50)
	if err != nil {
		return nil, err
	}
	return func(lang string) string {
		cat := "—"
		if t.Category != "" {
			cat = c.TLang(lang, "category."+t.Category)
		}
		due := "—"
		if t.FirstResponseDue != nil {
			due = h.when(lang, *t.FirstResponseDue)
		}
		return c.TLang(lang, "staff.card", "Ref", t.Ref(), "Priority", t.Priority, "Kind", c.TLang(lang, "kind."+t.Kind),
			"Category", cat, "Name", orDash(cust.Name), "Channel", c.In.Channel, "Lang", cust.Language, "Tier", orDash(cust.Tier),
			"Tickets", len(past)-1, "Order", orDash(t.OrderRef), "Text", orDash(t.Subject), "Due", due,
			"Why", orDash(strings.Join(t.Signals, ", ")))
	}, nil
}

func signalNotes(sig []priority.Signal) []string {
	out := make([]string, 0, len(sig))
	for _, s := range sig {
		if s.Points == 0 || s.Match == "" && s.Kind == "category" {
			continue // an uncategorised ticket's base points explain nothing
		}
		if s.Match != "" {
			out = append(out, fmt.Sprintf("%s:%s", s.Kind, s.Match))
		} else {
			out = append(out, s.Kind)
		}
	}
	return out
}

// when formats an instant for a reader in the shop's time zone.
func (h *handlers) when(lang string, t time.Time) string {
	t = t.In(h.loc)
	if lang == bot.LangZH {
		wd := [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}[t.Weekday()]
		return fmt.Sprintf("%d月%d日 %s %s", t.Month(), t.Day(), wd, t.Format("15:04"))
	}
	return t.Format("Mon 2 Jan 15:04")
}

// SLA timers. A job fires at the warning point and at the deadline of each
// timer; when it fires it recomputes with the pauses so far, and either
// alerts staff or, if pauses moved the point, schedules itself again.
const (
	jobSLA             = "sla"
	timerFirstResponse = "first_response"
	timerResolution    = "resolution"
)

type slaJob struct {
	Ticket uint64  `json:"ticket"`
	Timer  string  `json:"timer"`
	Level  float64 `json:"level"` // fraction of the target: WarnAt or 1
}

func (h *handlers) scheduleSLA(ctx context.Context, s *models.Store, t *models.Ticket, timer string, now time.Time) error {
	for _, level := range []float64{h.warnAt, 1} {
		at := h.slaPoint(t, timer, level, now)
		if err := scheduleJSON(ctx, s, jobSLA, fmt.Sprintf("%d:%s:%g:%d", t.ID, timer, level, at.Unix()), at, slaJob{t.ID, timer, level}); err != nil {
			return err
		}
	}
	return nil
}

// slaClock is the ticket's clock for a timer.
func (h *handlers) slaClock(t *models.Ticket, timer string) sla.Clock {
	target := h.policy[t.Priority].FirstResponse
	if timer == timerResolution {
		target = h.policy[t.Priority].Resolution
	}
	pauses := make([]sla.Interval, len(t.Pauses))
	for i, p := range t.Pauses {
		pauses[i] = sla.Interval{Start: p.Start, End: p.End}
	}
	return sla.Clock{Calendar: h.cal, Start: t.CreatedAt, Target: target, Pauses: pauses}
}

// slaPoint is when the timer reaches level (e.g. 0.8 of its target).
func (h *handlers) slaPoint(t *models.Ticket, timer string, level float64, now time.Time) time.Time {
	k := h.slaClock(t, timer)
	remaining := time.Duration(float64(k.Target)*level) - k.Used(now)
	if remaining < 0 {
		remaining = 0
	}
	return h.cal.Add(now, remaining)
}

func (h *handlers) runSLA(ctx context.Context, j *bot.Job) error {
	var p slaJob
	if err := json.Unmarshal([]byte(j.Row.Payload), &p); err != nil {
		return fmt.Errorf("sla job payload: %w", err)
	}
	s := j.Store()
	t, err := s.Ticket(ctx, p.Ticket)
	if err != nil {
		return err
	}
	met := p.Timer == timerFirstResponse && t.FirstResponseAt != nil || !t.IsOpen()
	if met {
		return nil
	}
	now := j.Now.UTC()
	k := h.slaClock(t, p.Timer)
	if k.Fraction(now) < p.Level-0.001 {
		next := h.slaPoint(t, p.Timer, p.Level, now)
		return scheduleJSON(ctx, s, jobSLA, fmt.Sprintf("%d:%s:%g:%d", t.ID, p.Timer, p.Level, next.Unix()), next, p)
	}
	key := "sla.warning"
	if p.Level >= 1 {
		key = "sla.breach"
		j.Log.Warn("sla breached", "ticket", t.ID, "timer", p.Timer, "priority", t.Priority)
	}
	j.Count(key)
	if err := s.AddTicketEvent(ctx, t.ID, key, "kefu", p.Timer); err != nil {
		return err
	}
	due := k.Due(now)
	return j.NotifyStaff(ctx, func(lang string) string {
		return j.TLang(lang, key, "Ref", t.Ref(), "Priority", t.Priority, "Timer", j.TLang(lang, "timer."+p.Timer),
			"Due", h.when(lang, due), "Assignee", orDash(t.Assignee))
	}, bot.ForTicket(t.ID))
}

func scheduleJSON(ctx context.Context, s *models.Store, kind, key string, at time.Time, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	_, err = s.ScheduleJob(ctx, kind, key, at, string(b))
	return err
}
