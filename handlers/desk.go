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
	"github.com/kefu-bot/kefu/models"
)

// Ticket lifecycle after the first answer: resolve with a follow-up
// question, reopen, notes, priority, transfer, compensation, auto-close.

const (
	flowFollowUp = "followup"
	jobAutoClose = "ticket.autoclose" // waiting on the customer too long
	jobClose     = "ticket.close"     // resolved, follow-up window over
)

type closeJob struct {
	Ticket uint64    `json:"ticket"`
	Since  time.Time `json:"since"`
}

// closeTicket closes t at now, stopping an SLA pause still running, and
// records event on its timeline (none if event is "").
func closeTicket(ctx context.Context, s *models.Store, t *models.Ticket, now time.Time, event, actor string) error {
	endPause(t, now)
	now = now.UTC()
	t.Status, t.ClosedAt = models.TicketClosed, &now
	if err := s.UpdateTicket(ctx, t, "Status", "ClosedAt", "Pauses"); err != nil {
		return err
	}
	if event == "" {
		return nil
	}
	return s.AddTicketEvent(ctx, t.ID, event, actor, "")
}

func endPause(t *models.Ticket, now time.Time) {
	if n := len(t.Pauses); n > 0 && t.Pauses[n-1].End.IsZero() {
		t.Pauses[n-1].End = now.UTC()
	}
}

// resolve marks the ticket resolved, gives the conversation back to the bot
// and asks the customer whether the problem is solved.
func (h *handlers) resolve(ctx context.Context, c *bot.Context, t *models.Ticket, summary string) error {
	s := c.Store()
	now := c.Now.UTC()
	endPause(t, now)
	t.Status, t.ResolvedAt = models.TicketResolved, &now
	if err := s.UpdateTicket(ctx, t, "Status", "ResolvedAt", "Pauses"); err != nil {
		return err
	}
	if err := staffRecord(ctx, c, t, "resolve", summary); err != nil {
		return err
	}
	conv, cust, err := ticketParty(ctx, s, t)
	if err != nil {
		return err
	}
	if conv.TicketID != nil && *conv.TicketID == t.ID {
		conv.Mode, conv.TicketID = models.ModeBot, nil
		conv.Flow, conv.Step, conv.Slots = flowFollowUp, "", models.Slots{"ticket": strconv.FormatUint(t.ID, 10)}
		if err := s.SaveConversation(ctx, conv); err != nil {
			return err
		}
	}
	lang := customerLang(cust)
	id := strconv.FormatUint(t.ID, 10)
	c.SendTo(conv, c.TLang(lang, "handoff.resolved", "Ref", t.Ref()), bot.ForTicket(t.ID), bot.Buttons(bot.Row(
		bot.Btn(c.TLang(lang, "followup.yes"), "fu:yes:"+id),
		bot.Btn(c.TLang(lang, "followup.no"), "fu:no:"+id),
	)))
	if err := scheduleJSON(ctx, s, jobClose, id, now.Add(h.reopenWindow), closeJob{Ticket: t.ID, Since: now}); err != nil {
		return err
	}
	if err := h.surveys.ticketResolved(ctx, s, t, now); err != nil {
		return err
	}
	c.Say("staff.resolved", "Ref", t.Ref())
	return nil
}

// reopen puts a ticket back with staff and the conversation in handoff.
func (h *handlers) reopen(ctx context.Context, s *models.Store, t *models.Ticket, actor string, now time.Time) (*models.Conversation, error) {
	t.Status, t.ResolvedAt, t.ClosedAt = models.TicketOpen, nil, nil
	t.Reopens++
	if err := s.UpdateTicket(ctx, t, "Status", "ResolvedAt", "ClosedAt", "Reopens"); err != nil {
		return nil, err
	}
	if err := s.AddTicketEvent(ctx, t.ID, "reopen", actor, ""); err != nil {
		return nil, err
	}
	if err := s.CancelJob(ctx, jobClose, strconv.FormatUint(t.ID, 10)); err != nil {
		return nil, err
	}
	conv, err := s.ConversationByID(ctx, t.ConversationID)
	if err != nil {
		return nil, err
	}
	if conv.Mode == models.ModeBot {
		conv.Mode, conv.TicketID = models.ModeHandoff, &t.ID
		conv.Flow, conv.Step, conv.Slots = "", "", models.Slots{}
		if err := s.SaveConversation(ctx, conv); err != nil {
			return nil, err
		}
	}
	if err := h.scheduleSLA(ctx, s, t, timerResolution, now); err != nil {
		return nil, err
	}
	return conv, nil
}

// followUpButton is the customer's answer to "is your problem solved?".
func (h *handlers) followUpButton(ctx context.Context, c *bot.Context) error {
	answer, idText, _ := strings.Cut(c.Arg, ":")
	id, _ := strconv.ParseUint(idText, 10, 64)
	t, err := c.Store().Ticket(ctx, id)
	// Only the ticket's own customer may answer for it, whatever the data says.
	if err != nil || c.Customer == nil || t.CustomerID != c.Customer.ID {
		c.Reply(c.T("fallback.stale_button"), menu(c))
		return nil
	}
	if c.Conv.Flow == flowFollowUp {
		c.EndFlow()
	}
	switch {
	case answer == "yes" && t.Status == models.TicketResolved:
		if err := closeTicket(ctx, c.Store(), t, c.Now, "confirmed", "customer"); err != nil {
			return err
		}
		c.Reply(c.T("followup.thanks", "Ref", t.Ref()), bot.Edit(c.In.PressedID))
	case answer == "no" && (t.Status == models.TicketResolved || t.Status == models.TicketClosed):
		return h.customerReopens(ctx, c, t, "")
	default:
		c.Reply(c.T("followup.already", "Ref", t.Ref(), "Status", c.T("status."+t.Status)))
	}
	return nil
}

// followUpText: a message after a resolve, within the window, reopens the
// ticket and reaches staff; later, it is an ordinary message.
func (h *handlers) followUpText(ctx context.Context, c *bot.Context) error {
	id, _ := strconv.ParseUint(c.Slot("ticket"), 10, 64)
	c.EndFlow()
	t, err := c.Store().Ticket(ctx, id)
	if err != nil || c.Customer == nil || t.CustomerID != c.Customer.ID || t.ResolvedAt == nil ||
		c.Now.Sub(*t.ResolvedAt) > h.reopenWindow || (t.Status != models.TicketResolved && t.Status != models.TicketClosed) {
		return c.Reroute(ctx)
	}
	return h.customerReopens(ctx, c, t, c.In.Text)
}

func (h *handlers) customerReopens(ctx context.Context, c *bot.Context, t *models.Ticket, text string) error {
	conv, err := h.reopen(ctx, c.Store(), t, "customer", c.Now.UTC())
	if err != nil {
		return err
	}
	*c.Conv = *conv
	c.Reply(c.T("followup.reopened", "Ref", t.Ref()), bot.Edit(c.In.PressedID))
	return c.NotifyStaff(ctx, func(lang string) string {
		return c.TLang(lang, "staff.reopened_by_customer", "Ref", t.Ref(), "Text", orDash(text), "Assignee", orDash(t.Assignee))
	}, bot.ForTicket(t.ID))
}

func (h *handlers) staffReopen(ctx context.Context, c *bot.Context) error {
	t, _, err := staffTicket(ctx, c, "/reopen T-1001")
	if err != nil {
		return err
	}
	if t.IsOpen() {
		c.Say("staff.already_open", "Ref", t.Ref())
		return nil
	}
	conv, err := h.reopen(ctx, c.Store(), t, c.StaffName(), c.Now.UTC())
	if err != nil {
		return err
	}
	if err := c.Store().Audit(ctx, c.StaffName(), "ticket.reopen", t.Ref(), ""); err != nil {
		return err
	}
	cust, err := c.Store().Customer(ctx, t.CustomerID)
	if err != nil {
		return err
	}
	c.SendTo(conv, c.TLang(customerLang(cust), "handoff.reopened", "Ref", t.Ref()), bot.ForTicket(t.ID))
	c.Say("staff.reopened", "Ref", t.Ref())
	return nil
}

// staffNote adds an internal note: staff see it, the customer never does.
func (h *handlers) staffNote(ctx context.Context, c *bot.Context) error {
	t, text, err := staffTicket(ctx, c, "/note T-1001 text")
	if err != nil {
		return err
	}
	if text == "" {
		return &bot.UserError{Key: "staff.usage", Data: map[string]any{"Usage": "/note T-1001 text"}}
	}
	if err := staffRecord(ctx, c, t, "note", text); err != nil {
		return err
	}
	c.Say("staff.noted", "Ref", t.Ref())
	return nil
}

func (h *handlers) staffPriority(ctx context.Context, c *bot.Context) error {
	t, p, err := staffTicket(ctx, c, "/priority T-1001 P2")
	if err != nil {
		return err
	}
	p = strings.ToUpper(p)
	if _, ok := h.policy[p]; !ok {
		return &bot.UserError{Key: "staff.usage", Data: map[string]any{"Usage": "/priority T-1001 P1|P2|P3|P4"}}
	}
	now := c.Now.UTC()
	t.Priority = p
	res := h.slaClock(t, timerResolution).Due(now)
	t.ResolutionDue = &res
	fields := []string{"Priority", "ResolutionDue"}
	if t.FirstResponseAt == nil {
		fr := h.slaClock(t, timerFirstResponse).Due(now)
		t.FirstResponseDue = &fr
		fields = append(fields, "FirstResponseDue")
	}
	if err := c.Store().UpdateTicket(ctx, t, fields...); err != nil {
		return err
	}
	for _, timer := range []string{timerFirstResponse, timerResolution} {
		if err := h.scheduleSLA(ctx, c.Store(), t, timer, now); err != nil {
			return err
		}
	}
	if err := staffRecord(ctx, c, t, "priority", p); err != nil {
		return err
	}
	c.Say("staff.priority_set", "Ref", t.Ref(), "Priority", p, "Due", h.when(c.Lang(), res))
	return nil
}

func (h *handlers) staffTransfer(ctx context.Context, c *bot.Context) error {
	t, to, err := staffTicket(ctx, c, "/transfer T-1001 name")
	if err != nil {
		return err
	}
	if to == "" || strings.ContainsAny(to, " \n") {
		return &bot.UserError{Key: "staff.usage", Data: map[string]any{"Usage": "/transfer T-1001 name"}}
	}
	if !strings.Contains(to, ":") {
		to = c.In.Channel + ":" + to
	}
	t.Assignee = to
	if err := c.Store().UpdateTicket(ctx, t, "Assignee"); err != nil {
		return err
	}
	if err := staffRecord(ctx, c, t, "transfer", to); err != nil {
		return err
	}
	c.Say("staff.transferred", "Ref", t.Ref(), "Assignee", to)
	return nil
}

// staffCustomer shows who the ticket's customer is and their history.
func (h *handlers) staffCustomer(ctx context.Context, c *bot.Context) error {
	t, _, err := staffTicket(ctx, c, "/customer T-1001")
	if err != nil {
		return err
	}
	s := c.Store()
	cust, err := s.Customer(ctx, t.CustomerID)
	if err != nil {
		return err
	}
	ids, err := s.Identities(ctx, cust.ID)
	if err != nil {
		return err
	}
	past, err := s.CustomerTickets(ctx, cust.ID, 5)
	if err != nil {
		return err
	}
	var where []string
	for _, id := range ids {
		where = append(where, id.Channel)
	}
	var b strings.Builder
	b.WriteString(c.T("staff.customer", "Name", orDash(cust.Name), "Lang", cust.Language, "Tier", orDash(cust.Tier), "Points", cust.PointsBalance,
		"Channels", strings.Join(where, ", "), "Since", h.when(c.Lang(), cust.CreatedAt)))
	seg, err := segmentLine(ctx, c, cust.ID)
	if err != nil {
		return err
	}
	if seg != "" {
		b.WriteString("\n" + seg)
	}
	for _, p := range past {
		b.WriteString("\n")
		b.WriteString(c.T("staff.customer_ticket", "Ref", p.Ref(), "Status", c.T("status."+p.Status), "Text", clip(p.Subject, 50)))
	}
	c.Reply(b.String())
	return nil
}

// staffCompensate records what the shop gives the customer to make up for a
// problem, and tells the customer. Points are also credited to the ledger
// (reference: the ticket), once per staff message.
func (h *handlers) staffCompensate(ctx context.Context, c *bot.Context) error {
	const usage = "/compensate T-1001 apology | coupon CODE | points N"
	t, rest, err := staffTicket(ctx, c, usage)
	if err != nil {
		return err
	}
	kind, value, _ := strings.Cut(rest, " ")
	value = strings.TrimSpace(value)
	if _, err := strconv.Atoi(kind); err == nil && (value == "points" || strings.HasPrefix(value, "points ")) {
		kind, value = "points", kind // "/compensate T-1001 200 points …"
	}
	var key string
	switch kind {
	case "apology":
		key = "compensation.apology"
	case "coupon":
		key = "compensation.coupon"
	case "points":
		value, _, _ = strings.Cut(value, " ") // "points 200 late parcel": the reason is on the ticket's timeline
		if n, err := strconv.Atoi(value); err != nil || n <= 0 {
			return &bot.UserError{Key: "staff.usage", Data: map[string]any{"Usage": usage}}
		}
		key = "compensation.points"
	}
	if key == "" || kind != "apology" && value == "" {
		return &bot.UserError{Key: "staff.usage", Data: map[string]any{"Usage": usage}}
	}
	s := c.Store()
	entry := strings.TrimSpace(kind + " " + value)
	if t.Compensation != "" {
		t.Compensation += "; "
	}
	t.Compensation += entry
	if err := s.UpdateTicket(ctx, t, "Compensation"); err != nil {
		return err
	}
	if err := staffRecord(ctx, c, t, "compensate", entry); err != nil {
		return err
	}
	if kind == "points" {
		n, _ := strconv.ParseInt(value, 10, 64)
		_, err := h.points.Adjust(ctx, s, t.CustomerID, n, "compensation "+t.Ref(), c.StaffName(), models.RefTicket, t.Ref(),
			fmt.Sprintf("compensate:%d", c.Message.ID))
		if err != nil {
			return err
		}
	}
	conv, cust, err := ticketParty(ctx, s, t)
	if err != nil {
		return err
	}
	c.SendTo(conv, c.TLang(customerLang(cust), key, "Ref", t.Ref(), "Value", value), bot.ForTicket(t.ID))
	c.Say("staff.compensated", "Ref", t.Ref(), "What", entry)
	return nil
}

// runAutoClose closes a ticket still waiting on the customer since the
// staff answer that scheduled it.
func (h *handlers) runAutoClose(ctx context.Context, j *bot.Job) error {
	var p closeJob
	if err := json.Unmarshal([]byte(j.Row.Payload), &p); err != nil {
		return fmt.Errorf("auto-close payload: %w", err)
	}
	s := j.Store()
	t, err := s.Ticket(ctx, p.Ticket)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	n := len(t.Pauses)
	if t.Status != models.TicketWaitingCustomer || n == 0 || !t.Pauses[n-1].Start.Equal(p.Since) || !t.Pauses[n-1].End.IsZero() {
		return nil // the customer wrote since, or staff moved the ticket on
	}
	j.Count("ticket.autoclosed")
	if err := closeTicket(ctx, s, t, j.Now, "autoclose", "kefu"); err != nil {
		return err
	}
	conv, cust, err := ticketParty(ctx, s, t)
	if err != nil {
		return err
	}
	if conv.TicketID != nil && *conv.TicketID == t.ID {
		conv.Mode, conv.TicketID = models.ModeBot, nil
		if err := s.SaveConversation(ctx, conv); err != nil {
			return err
		}
	}
	j.SendTo(conv, j.TLang(customerLang(cust), "handoff.autoclosed", "Ref", t.Ref()), bot.ForTicket(t.ID))
	return j.NotifyStaff(ctx, func(lang string) string { return j.TLang(lang, "staff.autoclosed", "Ref", t.Ref()) }, bot.ForTicket(t.ID))
}

// runClose closes a resolved ticket once its follow-up window is over.
func (h *handlers) runClose(ctx context.Context, j *bot.Job) error {
	var p closeJob
	if err := json.Unmarshal([]byte(j.Row.Payload), &p); err != nil {
		return fmt.Errorf("close payload: %w", err)
	}
	t, err := j.Store().Ticket(ctx, p.Ticket)
	if err != nil || t.Status != models.TicketResolved {
		return nil
	}
	return closeTicket(ctx, j.Store(), t, j.Now, "", "")
}

// ticketParty loads the ticket's conversation and customer.
func ticketParty(ctx context.Context, s *models.Store, t *models.Ticket) (*models.Conversation, *models.Customer, error) {
	conv, err := s.ConversationByID(ctx, t.ConversationID)
	if err != nil {
		return nil, nil, err
	}
	cust, err := s.Customer(ctx, t.CustomerID)
	if err != nil {
		return nil, nil, err
	}
	return conv, cust, nil
}
