package handlers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// staffTickets lists open tickets, the one due soonest first: the first
// answer's deadline until staff answered, then the resolution's.
func (h *handlers) staffTickets(ctx context.Context, c *bot.Context) error {
	ts, err := c.Store().OpenTickets(ctx, 200)
	if err != nil {
		return err
	}
	sort.SliceStable(ts, func(i, j int) bool { return nextDue(&ts[i]).Before(nextDue(&ts[j])) })
	if len(ts) > 50 {
		ts = ts[:50]
	}
	if len(ts) == 0 {
		c.Say("staff.no_tickets")
		return nil
	}
	var b strings.Builder
	b.WriteString(c.T("staff.tickets_header", "Count", len(ts)))
	for _, t := range ts {
		cust, err := c.Store().Customer(ctx, t.CustomerID)
		if err != nil {
			return err
		}
		b.WriteString("\n")
		due := "—"
		if d := nextDue(&t); !d.IsZero() {
			due = h.when(c.Lang(), d)
		}
		b.WriteString(c.T("staff.ticket_line", "Ref", t.Ref(), "Priority", t.Priority, "Status", c.T("status."+t.Status),
			"Name", orDash(cust.Name), "Assignee", orDash(t.Assignee), "Due", due, "Text", clip(t.Subject, 60)))
	}
	c.Reply(b.String())
	return nil
}

// nextDue is the deadline a ticket is working towards; tickets without one
// (made before SLAs) sort last.
func nextDue(t *models.Ticket) time.Time {
	switch {
	case t.FirstResponseAt == nil && t.FirstResponseDue != nil:
		return *t.FirstResponseDue
	case t.ResolutionDue != nil:
		return *t.ResolutionDue
	}
	return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
}

// staffTicket parses the ticket reference that starts c.Args and loads it.
// In a ticket's thread the reference may be left out. A bad or unknown
// reference becomes a message to the staff member.
func staffTicket(ctx context.Context, c *bot.Context, usage string) (*models.Ticket, string, error) {
	args := strings.TrimSpace(c.Args)
	ref, rest, _ := strings.Cut(args, " ")
	id, ok := models.ParseTicketRef(ref)
	if !ok {
		tid, err := threadTicket(ctx, c)
		if err != nil {
			return nil, "", err
		}
		if tid == 0 {
			return nil, "", &bot.UserError{Key: "staff.usage", Data: map[string]any{"Usage": usage}}
		}
		id, rest = tid, args
	}
	t, err := c.Store().Ticket(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, "", &bot.UserError{Key: "staff.unknown_ticket", Data: map[string]any{"Ref": models.TicketRef(id)}}
	}
	return t, strings.TrimSpace(rest), err
}

func (h *handlers) staffClaim(ctx context.Context, c *bot.Context) error {
	t, _, err := staffTicket(ctx, c, "/claim T-1001")
	if err != nil {
		return err
	}
	t, err = c.Store().ClaimTicket(ctx, t.ID, c.StaffName())
	if errors.Is(err, models.ErrConflict) {
		if !t.IsOpen() {
			c.Say("staff.not_open", "Ref", t.Ref(), "Status", c.T("status."+t.Status))
			return nil
		}
		c.Say("staff.claim_conflict", "Ref", t.Ref(), "Assignee", t.Assignee)
		return nil
	}
	if err != nil {
		return err
	}
	if err := staffRecord(ctx, c, t, "claim", ""); err != nil {
		return err
	}
	c.Say("staff.claimed", "Ref", t.Ref())
	return nil
}

// staffReply sends a staff member's answer to the customer of a ticket.
func (h *handlers) staffReply(ctx context.Context, c *bot.Context) error {
	t, text, err := staffTicket(ctx, c, "/reply T-1001 text")
	if err != nil {
		return err
	}
	if text == "" {
		return &bot.UserError{Key: "staff.usage", Data: map[string]any{"Usage": "/reply T-1001 text"}}
	}
	return h.replyToCustomer(ctx, c, t, text)
}

func (h *handlers) replyToCustomer(ctx context.Context, c *bot.Context, t *models.Ticket, text string) error {
	if !t.IsOpen() {
		c.Say("staff.not_open", "Ref", t.Ref(), "Status", c.T("status."+t.Status))
		return nil
	}
	s := c.Store()
	conv, cust, err := ticketParty(ctx, s, t)
	if err != nil {
		return err
	}
	if t.Assignee == "" {
		// Answering is taking the ticket: nobody else picks it up meanwhile.
		if claimed, err := s.ClaimTicket(ctx, t.ID, c.StaffName()); err == nil {
			t = claimed
		} else if !errors.Is(err, models.ErrConflict) {
			return err
		}
	}
	c.SendTo(conv, c.TLang(customerLang(cust), "handoff.staff_reply", "Text", text), bot.Kind("relay"), bot.ForTicket(t.ID))
	if err := staffRecord(ctx, c, t, "reply", text); err != nil {
		return err
	}
	// The first answer stops the first-response clock; every answer puts the
	// ball in the customer's court, pausing the resolution clock until they
	// write, and starts the auto-close countdown.
	now := c.Now.UTC()
	if t.FirstResponseAt == nil {
		t.FirstResponseAt = &now
	}
	if t.Status != models.TicketWaitingCustomer {
		t.Pauses = append(t.Pauses, models.Pause{Start: now})
	}
	t.Status = models.TicketWaitingCustomer
	if err := s.UpdateTicket(ctx, t, "FirstResponseAt", "Status", "Pauses"); err != nil {
		return err
	}
	if err := scheduleJSON(ctx, s, jobAutoClose, fmt.Sprintf("%d:%d", t.ID, now.Unix()), now.Add(h.autoClose),
		closeJob{Ticket: t.ID, Since: now}); err != nil {
		return err
	}
	c.Say("staff.replied", "Ref", t.Ref())
	return nil
}

// staffResolve closes the handoff and gives the conversation back to the bot.
func (h *handlers) staffResolve(ctx context.Context, c *bot.Context) error {
	t, summary, err := staffTicket(ctx, c, "/resolve T-1001 [summary]")
	if err != nil {
		return err
	}
	if !t.IsOpen() {
		c.Say("staff.not_open", "Ref", t.Ref(), "Status", c.T("status."+t.Status))
		return nil
	}
	return h.resolve(ctx, c, t, summary)
}

// staffText handles plain staff messages in a staff room: a reply to a
// ticket's message goes to that ticket's customer; other talk is left alone.
func (h *handlers) staffText(ctx context.Context, c *bot.Context) error {
	if c.In.Text == "" {
		return nil
	}
	// Everything written in a ticket's thread is for its customer.
	if id, err := threadTicket(ctx, c); err != nil || id != 0 {
		if err != nil {
			return err
		}
		t, err := c.Store().Ticket(ctx, id)
		if err != nil {
			return err
		}
		return h.replyToCustomer(ctx, c, t, c.In.Text)
	}
	if c.In.ReplyTo == "" {
		return nil
	}
	m, err := c.Store().OutboundByPlatformID(ctx, c.In.Channel, c.In.ChatID, c.In.ReplyTo)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.TicketID == nil {
		return nil
	}
	t, err := c.Store().Ticket(ctx, *m.TicketID)
	if err != nil {
		return err
	}
	return h.replyToCustomer(ctx, c, t, c.In.Text)
}

// threadTicket returns the ticket whose thread (forum topic, Discord
// thread) the staff message was written in, or 0.
func threadTicket(ctx context.Context, c *bot.Context) (uint64, error) {
	if c.In.Thread == "" {
		return 0, nil
	}
	id, err := c.Store().ThreadTicket(ctx, c.In.Channel, c.In.ChatID, c.In.Thread)
	if errors.Is(err, models.ErrNotFound) {
		return 0, nil
	}
	return id, err
}

// staffButton runs the staff command a card's button stands for, as if
// typed: "st:claim:T-1002" is /claim T-1002, "st:priority:T-1002:P1" is
// /priority T-1002 P1.
func (h *handlers) staffButton(ctx context.Context, c *bot.Context) error {
	action, rest, _ := strings.Cut(c.Arg, ":")
	ref, arg, _ := strings.Cut(rest, ":")
	c.Args = strings.TrimSpace(ref + " " + arg)
	switch action {
	case "claim":
		return h.staffClaim(ctx, c)
	case "resolve":
		return h.staffResolve(ctx, c)
	case "priority":
		return h.staffPriority(ctx, c)
	}
	return &bot.UserError{Key: "staff.unknown_action"}
}

func (h *handlers) staffHelp(ctx context.Context, c *bot.Context) error {
	c.Say("staff.help")
	return nil
}

// staffRecord writes a staff action to the ticket timeline and the audit log.
func staffRecord(ctx context.Context, c *bot.Context, t *models.Ticket, action, text string) error {
	if err := c.Store().AddTicketEvent(ctx, t.ID, action, c.StaffName(), text); err != nil {
		return err
	}
	return c.Store().Audit(ctx, c.StaffName(), "ticket."+action, t.Ref(), fmt.Sprintf("via %s", c.In.Channel))
}

// clip shortens s to n characters for one-line listings.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
