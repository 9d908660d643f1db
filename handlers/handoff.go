package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// startHandoff opens a ticket and hands the conversation to staff. While it
// is open the bot stays quiet and relays what the customer writes.
func (h *handlers) startHandoff(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	if t := openTicketOf(ctx, c); t != nil {
		c.Say("handoff.already", "Ref", t.Ref())
		return nil
	}
	subject, err := describedProblem(ctx, c)
	if err != nil {
		return err
	}
	_, err = h.openTicket(ctx, c, ticketSpec{kind: models.TicketKindHandoff, category: guessCategory(subject),
		subject: subject, order: c.Intent.Entities["order_id"]})
	return err
}

// describedProblem is what the customer said when asking for a person: the
// message itself, or, when they pressed a button, their last message before.
func describedProblem(ctx context.Context, c *bot.Context) (string, error) {
	if c.In.Data == "" && c.Command == "" && c.In.Text != "" {
		return c.In.Text, nil
	}
	recent, err := c.Store().Messages(ctx, c.Conv.ID, 10)
	if err != nil {
		return "", err
	}
	for i := len(recent) - 1; i >= 0; i-- {
		m := recent[i]
		if m.Direction == models.DirIn && m.ID != c.Message.ID && m.Payload.Command == "" && m.Payload.Data == "" && m.Text != "" {
			return m.Text, nil
		}
	}
	return "", nil
}

// openTicket returns the ticket the conversation is handed off on, if any.
func openTicketOf(ctx context.Context, c *bot.Context) *models.Ticket {
	if c.Conv.Mode != models.ModeHandoff || c.Conv.TicketID == nil {
		return nil
	}
	t, err := c.Store().Ticket(ctx, *c.Conv.TicketID)
	if err != nil || !t.IsOpen() {
		return nil
	}
	return t
}

func (h *handlers) handoffButton(ctx context.Context, c *bot.Context) error {
	switch c.Arg {
	case "start":
		return h.startHandoff(ctx, c)
	case "cancel":
		return h.cancel(ctx, c)
	default: // "no"
		c.Reply(c.T("offer.declined"), menu(c))
		return nil
	}
}

// cancel withdraws the customer's request for a person (or leaves a flow).
func (h *handlers) cancel(ctx context.Context, c *bot.Context) error {
	t := openTicketOf(ctx, c)
	if t == nil {
		if c.Conv.Flow != "" {
			c.EndFlow()
			c.Reply(c.T("flow.cancelled"), menu(c))
			return nil
		}
		c.Reply(c.T("handoff.nothing_to_cancel"), menu(c))
		return nil
	}
	if err := closeTicket(ctx, c.Store(), t, c.Now, "cancel", "customer"); err != nil {
		return err
	}
	c.Conv.Mode, c.Conv.TicketID = models.ModeBot, nil
	c.Reply(c.T("handoff.cancelled", "Ref", t.Ref()), menu(c))
	return c.NotifyStaff(ctx, func(lang string) string {
		return c.TLang(lang, "staff.cancelled", "Ref", t.Ref())
	}, bot.ForTicket(t.ID))
}

// relayToStaff passes what a customer writes during a handoff to staff,
// attachments included, and records it on the ticket.
func (h *handlers) relayToStaff(ctx context.Context, c *bot.Context) error {
	t := openTicketOf(ctx, c)
	if t == nil {
		// The ticket was closed elsewhere; the bot is back.
		c.Conv.Mode, c.Conv.TicketID = models.ModeBot, nil
		return h.fallback(ctx, c)
	}
	if err := c.Store().AddTicketEvent(ctx, t.ID, "customer", "customer", c.In.Text); err != nil {
		return err
	}
	if t.Status == models.TicketWaitingCustomer {
		// The customer answered: the ball is back with staff, the clock runs.
		endPause(t, c.Now)
		t.Status = models.TicketOpen
		if err := c.Store().UpdateTicket(ctx, t, "Status", "Pauses"); err != nil {
			return err
		}
	}
	text := c.In.Text
	if text == "" && len(c.In.Attachments) > 0 {
		text = fmt.Sprintf("[%d ×📎]", len(c.In.Attachments))
	}
	return c.NotifyStaff(ctx, func(lang string) string {
		return c.TLang(lang, "staff.relay", "Ref", t.Ref(), "Name", orDash(customerName(c)), "Text", text)
	}, bot.Kind("relay"), bot.ForTicket(t.ID), bot.Attach(c.In.Attachments...))
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}
