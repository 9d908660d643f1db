package handlers

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// A customer may use several channels (Telegram and Discord): /link on one
// gives a one-time code; /link CODE on the other joins that identity's
// customer record into the first one, orders, points and history included.

// linkTTL is how long a link code works.
const linkTTL = 10 * time.Minute

// linkAlphabet has no 0/O, 1/I/L: codes are read and typed by people.
const linkAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// linkCodeLen makes guessing hopeless within the code's ten minutes
// (31^8 ≈ 8.5·10^11 codes) while the flood gate slows any attempt.
const linkCodeLen = 8

func (h *handlers) link(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil || c.Identity == nil {
		return nil
	}
	code := strings.ToUpper(strings.Join(strings.Fields(c.Args), ""))
	code = strings.ReplaceAll(code, "-", "")
	if code == "" {
		code, err := newLinkCode()
		if err != nil {
			return err
		}
		if err := c.Store().CreateLinkCode(ctx, c.Customer.ID, code, c.Now.Add(linkTTL)); err != nil {
			return err
		}
		c.Say("link.code", "Code", code, "Minutes", int(linkTTL/time.Minute))
		return nil
	}
	target, err := c.Store().UseLinkCode(ctx, code, c.Now)
	if errors.Is(err, models.ErrNotFound) {
		c.Log.Info("link: unknown or expired code", "identity", c.Identity.ID)
		c.Say("link.bad_code")
		return nil
	}
	if err != nil {
		return err
	}
	if target == c.Customer.ID {
		c.Say("link.same")
		return nil
	}
	// One account per channel: the code must come from the other app.
	ids, err := c.Store().Identities(ctx, target)
	if err != nil {
		return err
	}
	var where []string
	for _, id := range ids {
		if id.Channel == c.In.Channel {
			c.Say("link.same_channel")
			return nil
		}
		where = append(where, fmt.Sprintf("%s (%s)", id.Channel, id.DisplayName))
	}
	// Someone may have been talked into sending a stranger's code: say
	// whose account this joins and ask before doing it. The target stays
	// in the conversation, not in the button, so a button cannot be forged
	// to join another account.
	c.SetSlot(slotLinkTarget, fmt.Sprint(target))
	c.SetSlot(slotLinkUntil, c.Now.Add(linkTTL).UTC().Format(time.RFC3339))
	c.Reply(c.T("link.confirm", "Accounts", strings.Join(where, ", ")), bot.Buttons(bot.Row(
		bot.Btn(c.T("link.confirm_yes"), "lk:yes"),
		bot.Btn(c.T("link.confirm_no"), "lk:no"),
	)))
	return nil
}

// Slots of a link waiting for its confirmation.
const (
	slotLinkTarget = "link_target"
	slotLinkUntil  = "link_until"
)

// linkButton joins the accounts once the customer confirmed ("lk:yes").
func (h *handlers) linkButton(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil || c.Identity == nil {
		return nil
	}
	var edit []bot.Option
	if c.In.PressedID != "" {
		edit = append(edit, bot.Edit(c.In.PressedID))
	}
	target, _ := strconv.ParseUint(c.Slot(slotLinkTarget), 10, 64)
	until, err := time.Parse(time.RFC3339, c.Slot(slotLinkUntil))
	delete(c.Conv.Slots, slotLinkTarget)
	delete(c.Conv.Slots, slotLinkUntil)
	if c.Arg != "yes" {
		c.Reply(c.T("link.cancelled"), edit...)
		return nil
	}
	if target == 0 || err != nil || !c.Now.Before(until) {
		c.Reply(c.T("link.bad_code"), edit...)
		return nil
	}
	if target == c.Customer.ID {
		c.Reply(c.T("link.same"), edit...)
		return nil
	}
	from := c.Customer.ID
	if err := c.Store().MergeCustomers(ctx, from, target); errors.Is(err, models.ErrConflict) {
		c.Log.Info("link: both records are shop customers; not merged", "from", from, "into", target)
		c.Reply(c.T("link.conflict"), edit...)
		return nil
	} else if err != nil {
		return err
	}
	cust, err := c.Store().Customer(ctx, target)
	if err != nil {
		return err
	}
	c.Customer, c.Identity.CustomerID, c.Conv.CustomerID = cust, target, &target
	if err := c.Store().Audit(ctx, fmt.Sprintf("%s:%s", c.In.Channel, c.In.UserID), "customer.link",
		fmt.Sprint("customer:", target), fmt.Sprint("merged customer:", from)); err != nil {
		return err
	}
	c.Reply(c.T("link.done"), edit...)
	return nil
}

func newLinkCode() (string, error) {
	b := make([]byte, linkCodeLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("link code: %w", err)
	}
	for i := range b {
		b[i] = linkAlphabet[int(b[i])%len(linkAlphabet)]
	}
	return string(b), nil
}
