package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/nlu"
	"github.com/kefu-bot/kefu/models"
)

// Returns: order (verified, see orders.go) → items → reason → optional
// photos → a ticket of kind return with its ReturnRequest. Staff approve
// or reject with /approve and /reject; the customer is told.
const flowReturn = "return"

// returnReasons are the reasons offered, in button order.
var returnReasons = []string{"no_reason", "defective", "wrong_item", "not_as_described", "damaged", "other"}

// returnStatusWords mark a question about an existing return rather than
// a new request.
var returnStatusWords = []string{"status", "progress", "approved", "update on", "where is my refund", "how is my return",
	"进度", "怎么样了", "审核", "批了", "通过了吗", "处理得", "到哪", "结果"}

// returnIntent answers the return_refund intent: the state of earlier
// requests when that is what was asked, else a new request.
func (h *handlers) returnIntent(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	text := strings.ToLower(c.In.Text)
	for _, w := range returnStatusWords {
		if strings.Contains(text, w) {
			return h.returnStatus(ctx, c)
		}
	}
	return h.withOrder(ctx, c, c.Intent.Entities["order_id"], purposeReturn)
}

// startReturn is /return [ORDER].
func (h *handlers) startReturn(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	ref, _ := nlu.ExtractOrderID(c.Args)
	return h.withOrder(ctx, c, ref, purposeReturn)
}

// returnStatus is /returns and "how is my return going": every return
// request this chat may see, with its state and staff's message.
func (h *handlers) returnStatus(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	ids, err := c.Store().VisibleCustomers(ctx, c.Identity.ID)
	if err != nil {
		return err
	}
	ids = append(ids, c.Customer.ID)
	rs, err := c.Store().ReturnsOf(ctx, ids, 5)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		c.Reply(c.T("return.none"), bot.Buttons(bot.Row(bot.Btn(c.T("return.start_button"), "rt:new"))))
		return nil
	}
	var b strings.Builder
	b.WriteString(c.T("return.status_header"))
	for _, r := range rs {
		b.WriteString("\n")
		b.WriteString(c.T("return.status_line", "Ref", models.TicketRef(r.TicketID), "Order", r.OrderRef,
			"Status", c.T("return.state."+r.Status), "Date", h.day(c.Lang(), r.CreatedAt)))
		if r.Decision != "" {
			b.WriteString("\n  “" + r.Decision + "”")
		}
	}
	c.Reply(b.String())
	return nil
}

// startReturnFor checks the order can be returned and asks for the items.
func (h *handlers) startReturnFor(ctx context.Context, c *bot.Context, o *models.Order) error {
	c.EndFlow()
	rs, err := c.Store().ReturnsOf(ctx, []uint64{o.CustomerID}, 50)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.OrderRef == o.Ref && r.Status == models.ReturnRequested {
			c.Say("return.already", "Ref", models.TicketRef(r.TicketID), "Order", o.Ref)
			return nil
		}
	}
	switch o.Status {
	case models.OrderReturned, models.OrderRefunded:
		c.Say("return.done_already", "Order", o.Ref, "Status", c.T("order.status."+o.Status))
		return nil
	case models.OrderDelivered:
	default:
		c.Reply(c.T("return.not_delivered", "Order", o.Ref, "Status", c.T("order.status."+o.Status)), offerPerson(c))
		return nil
	}
	if o.DeliveredAt != nil {
		end := o.DeliveredAt.Add(max(h.returnWindow, 0))
		if c.Now.After(end) {
			c.Log.Info("return refused: out of window", "order", o.Ref)
			c.Reply(c.T("return.out_of_window", "Order", o.Ref, "Delivered", h.day(c.Lang(), *o.DeliveredAt),
				"Days", int(h.returnWindow.Hours()/24), "End", h.day(c.Lang(), end)),
				bot.Buttons(bot.Row(bot.Btn(c.T("menu.complaint"), "menu:complaint")), bot.Row(bot.Btn(c.T("menu.human"), "handoff:start"))))
			return nil
		}
	}
	c.StartFlow(flowReturn, "items")
	c.SetSlot("order", o.Ref)
	if len(o.Items) <= 1 {
		c.SetSlot("items", "all") // nothing to choose
	}
	return h.returnNext(ctx, c, o)
}

// returnNext asks for the first thing still missing, or files the request.
func (h *handlers) returnNext(ctx context.Context, c *bot.Context, o *models.Order) error {
	cancel := bot.Row(bot.Btn(c.T("flow.cancel_button"), "rt:cancel"))
	switch {
	case c.Slot("items") == "":
		c.SetStep("items")
		rows := make([][]models.Button, 0, len(o.Items)+2)
		for i, it := range o.Items {
			rows = append(rows, bot.Row(bot.Btn(fmt.Sprintf("%s ×%d", it.Name, it.Qty), "rt:i:"+strconv.Itoa(i))))
		}
		rows = append(rows, bot.Row(bot.Btn(c.T("return.all_items"), "rt:i:all")), cancel)
		c.Reply(c.T("return.ask_items", "Order", o.Ref), bot.Buttons(rows...))
	case c.Slot("reason") == "":
		c.SetStep("reason")
		rows := make([][]models.Button, 0, len(returnReasons)+1)
		for _, r := range returnReasons {
			rows = append(rows, bot.Row(bot.Btn(c.T("return.reason."+r), "rt:r:"+r)))
		}
		c.Reply(c.T("return.ask_reason"), bot.Buttons(append(rows, cancel)...))
	case c.Slot("photos_asked") == "":
		c.SetSlot("photos_asked", "1")
		c.SetStep("photos")
		c.Reply(c.T("return.ask_photos"), bot.Buttons(bot.Row(bot.Btn(c.T("complaint.done"), "rt:done")), cancel))
	default:
		return h.fileReturn(ctx, c, o)
	}
	return nil
}

// returnOrder loads the flow's order, re-checking that the chat may see it.
func (h *handlers) returnOrder(ctx context.Context, c *bot.Context) (*models.Order, error) {
	o, err := h.visibleOrder(ctx, c, c.Slot("order"))
	if err != nil || o == nil {
		return nil, err
	}
	return o, nil
}

// returnStep takes typed answers in the return flow: photos and notes.
func (h *handlers) returnStep(ctx context.Context, c *bot.Context) error {
	o, err := h.returnOrder(ctx, c)
	if err != nil {
		return err
	}
	if o == nil {
		c.EndFlow()
		return c.Reroute(ctx)
	}
	text := strings.TrimSpace(c.In.Text)
	switch c.Conv.Step {
	case "photos":
		if len(c.In.Attachments) > 0 {
			n := len(c.In.Attachments) + atoi(c.Slot("photos"))
			c.SetSlot("photos", itoa(n))
			if text != "" {
				c.SetSlot("note", strings.TrimSpace(c.Slot("note")+"\n"+text))
			}
			c.Reply(c.T("complaint.photos_received", "Count", n), bot.Buttons(bot.Row(bot.Btn(c.T("complaint.done"), "rt:done"))))
			return nil
		}
		if text != "" {
			c.SetSlot("note", strings.TrimSpace(c.Slot("note")+"\n"+text))
		}
		return h.fileReturn(ctx, c, o)
	case "reason":
		if text != "" {
			// Typed instead of tapped: the words are the reason.
			c.SetSlot("reason", "other")
			c.SetSlot("note", text)
			return h.returnNext(ctx, c, o)
		}
	}
	c.Reply(c.T("complaint.use_buttons"))
	return h.returnNext(ctx, c, o)
}

// returnButton handles rt:i:N|all, rt:r:REASON, rt:done, rt:cancel, rt:new.
func (h *handlers) returnButton(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	action, arg, _ := strings.Cut(c.Arg, ":")
	if action == "new" {
		return h.withOrder(ctx, c, "", purposeReturn)
	}
	if c.Conv.Flow != flowReturn {
		c.Reply(c.T("fallback.stale_button"), menu(c))
		return nil
	}
	if action == "cancel" {
		c.EndFlow()
		c.Reply(c.T("flow.cancelled"), menu(c))
		return nil
	}
	o, err := h.returnOrder(ctx, c)
	if err != nil {
		return err
	}
	if o == nil {
		c.EndFlow()
		c.Reply(c.T("fallback.stale_button"), menu(c))
		return nil
	}
	switch action {
	case "i":
		if arg == "all" {
			c.SetSlot("items", "all")
		} else if i, err := strconv.Atoi(arg); err == nil && i >= 0 && i < len(o.Items) {
			c.SetSlot("items", arg)
		}
	case "r":
		for _, r := range returnReasons {
			if r == arg {
				c.SetSlot("reason", r)
			}
		}
	case "done":
		c.SetSlot("photos_asked", "1")
		if c.Slot("items") != "" && c.Slot("reason") != "" {
			return h.fileReturn(ctx, c, o)
		}
	}
	return h.returnNext(ctx, c, o)
}

// fileReturn stores the ticket and the return request, starts the SLA
// timers and posts the card to staff. The conversation stays with the bot:
// the answer comes with /approve or /reject.
func (h *handlers) fileReturn(ctx context.Context, c *bot.Context, o *models.Order) error {
	s := c.Store()
	now := c.Now.UTC()
	var items []string
	if i, err := strconv.Atoi(c.Slot("items")); err == nil && i >= 0 && i < len(o.Items) {
		items = []string{fmt.Sprintf("%s ×%d", o.Items[i].Name, o.Items[i].Qty)}
	} else {
		for _, it := range o.Items {
			items = append(items, fmt.Sprintf("%s ×%d", it.Name, it.Qty))
		}
	}
	reason := c.Slot("reason")
	subject := fmt.Sprintf("%s: %s", c.TLang(c.StaffLang(), "return.reason."+reason), strings.Join(items, ", "))
	if note := c.Slot("note"); note != "" {
		subject += "\n" + note
	}
	target := h.policy["P3"]
	fr, res := h.cal.Add(now, target.FirstResponse), h.cal.Add(now, target.Resolution)
	t := &models.Ticket{CustomerID: c.Customer.ID, ConversationID: c.Conv.ID, Kind: models.TicketKindReturn,
		Category: "return." + reason, Subject: subject, OrderRef: o.Ref, Priority: "P3", FirstResponseDue: &fr, ResolutionDue: &res}
	if err := s.CreateTicket(ctx, t, "customer"); err != nil {
		return err
	}
	r := &models.ReturnRequest{TicketID: t.ID, CustomerID: o.CustomerID, OrderRef: o.Ref, Items: items, Reason: reason,
		Note: c.Slot("note"), Photos: atoi(c.Slot("photos"))}
	if err := s.CreateReturn(ctx, r); err != nil {
		return err
	}
	for _, timer := range []string{timerFirstResponse, timerResolution} {
		if err := h.scheduleSLA(ctx, s, t, timer, now); err != nil {
			return err
		}
	}
	c.EndFlow()
	c.Say("return.filed", "Ref", t.Ref(), "Order", o.Ref, "Due", h.when(c.Lang(), fr))
	c.Log.Info("return requested", "ticket", t.ID, "order", o.Ref, "reason", reason)
	c.Count("return.requested")
	cust, err := s.Customer(ctx, o.CustomerID)
	if err != nil {
		return err
	}
	return c.NotifyStaff(ctx, func(lang string) string {
		return c.TLang(lang, "staff.return_card", "Ref", t.Ref(), "Order", o.Ref, "Name", orDash(cust.Name),
			"Status", c.TLang(lang, "order.status."+o.Status), "Items", strings.Join(items, ", "),
			"Reason", c.TLang(lang, "return.reason."+reason), "Note", orDash(r.Note), "Photos", r.Photos,
			"Due", h.when(lang, fr))
	}, bot.Kind("card"), bot.ForTicket(t.ID))
}

// staffApprove is /approve T-1001 [message].
func (h *handlers) staffApprove(ctx context.Context, c *bot.Context) error {
	return h.decideReturn(ctx, c, models.ReturnApproved, "/approve T-1001 [message]")
}

// staffReject is /reject T-1001 message (the reason is required).
func (h *handlers) staffReject(ctx context.Context, c *bot.Context) error {
	return h.decideReturn(ctx, c, models.ReturnRejected, "/reject T-1001 message")
}

func (h *handlers) decideReturn(ctx context.Context, c *bot.Context, status, usage string) error {
	t, msg, err := staffTicket(ctx, c, usage)
	if err != nil {
		return err
	}
	msg = strings.TrimSpace(msg)
	if status == models.ReturnRejected && msg == "" {
		return &bot.UserError{Key: "staff.usage", Data: map[string]any{"Usage": usage}}
	}
	s := c.Store()
	r, err := s.DecideReturn(ctx, t.ID, status, msg, c.StaffName())
	if errors.Is(err, models.ErrNotFound) {
		c.Say("staff.not_return", "Ref", t.Ref())
		return nil
	}
	if errors.Is(err, models.ErrConflict) {
		c.Say("staff.return_decided", "Ref", t.Ref(), "Status", c.T("return.state."+r.Status), "Who", orDash(r.DecidedBy))
		return nil
	}
	if err != nil {
		return err
	}
	now := c.Now.UTC()
	endPause(t, now)
	t.Status, t.ResolvedAt, t.ClosedAt = models.TicketClosed, &now, &now
	if t.FirstResponseAt == nil {
		t.FirstResponseAt = &now
	}
	if err := s.UpdateTicket(ctx, t, "Status", "ResolvedAt", "ClosedAt", "FirstResponseAt", "Pauses"); err != nil {
		return err
	}
	if err := staffRecord(ctx, c, t, "return."+status, msg); err != nil {
		return err
	}
	conv, cust, err := ticketParty(ctx, s, t)
	if err != nil {
		return err
	}
	lang := customerLang(cust)
	text := c.TLang(lang, "return.customer_"+status, "Ref", t.Ref(), "Order", r.OrderRef)
	if msg != "" {
		text += "\n" + c.TLang(lang, "return.staff_says", "Message", msg)
	}
	c.SendTo(conv, text, bot.ForTicket(t.ID))
	c.Say("staff.return_done", "Ref", t.Ref(), "Status", c.T("return.state."+status))
	return nil
}
