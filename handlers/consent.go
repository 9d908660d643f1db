package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// consentRecheck is how long a held proactive message waits for the
// answer to the consent question before it looks again.
const consentRecheck = 10 * time.Minute

// consentHold is the key of a proactive send held for the customer's
// answer; the Yes button brings every such job of the customer forward.
func consentHold(customerID uint64, key string, tries int) string {
	return fmt.Sprintf("%s%s:%d", consentHoldPrefix(customerID), key, tries)
}

func consentHoldPrefix(customerID uint64) string { return fmt.Sprintf("consent:%d:", customerID) }

// consentVerdict says what a proactive send may do now.
type consentVerdict int

const (
	consentGo   consentVerdict = iota // the customer agreed
	consentWait                       // asked (now or before), no answer yet: hold the send
	consentNo                         // declined or stopped: drop the send
)

// proactiveConsent decides whether a proactive message (survey, campaign,
// care message) may go to the customer. The first time one would go to a
// customer who never answered, the consent question goes instead — once,
// ever — and the send is held until the answer.
func (h *handlers) proactiveConsent(ctx context.Context, j outbox, customerID uint64, conv *models.Conversation, lang string) (consentVerdict, error) {
	s := j.Store()
	c, err := s.Consent(ctx, customerID)
	if err != nil {
		return consentNo, err
	}
	switch c.State {
	case models.ConsentYes:
		return consentGo, nil
	case models.ConsentNo:
		return consentNo, nil
	}
	first, err := s.MarkConsentAsked(ctx, customerID)
	if err != nil {
		return consentNo, err
	}
	if first {
		j.SendTo(conv, j.TLang(lang, "consent.ask"), bot.Buttons(bot.Row(
			bot.Btn(j.TLang(lang, "consent.yes"), "cs:yes"),
			bot.Btn(j.TLang(lang, "consent.no"), "cs:no"),
		)))
	}
	return consentWait, nil
}

// consentButton records the answer to the consent question.
func (h *handlers) consentButton(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	state, text := models.ConsentNo, "consent.declined"
	if c.Arg == "yes" {
		state, text = models.ConsentYes, "consent.agreed"
	}
	if err := c.Store().SetConsent(ctx, c.Customer.ID, state, "button"); err != nil {
		return err
	}
	if state == models.ConsentYes {
		// What waited for this answer goes out now, not at its next check.
		if _, err := c.Store().BringForward(ctx, consentHoldPrefix(c.Customer.ID), c.Now); err != nil {
			return err
		}
	}
	var opts []bot.Option
	if c.In.PressedID != "" {
		opts = append(opts, bot.Edit(c.In.PressedID))
	}
	c.Reply(c.T(text), opts...)
	return nil
}

// stop is /stop: no proactive messages and no order notices any more.
func (h *handlers) stop(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	s := c.Store()
	if err := s.SetConsent(ctx, c.Customer.ID, models.ConsentNo, "/stop"); err != nil {
		return err
	}
	if err := s.SetOptOut(ctx, c.Customer.ID, models.TopicOrders, true); err != nil {
		return err
	}
	c.Say("consent.stopped")
	return nil
}

// startAgain is the part of /start that undoes /stop: messages written
// after a stop turn proactive messages and order notices back on.
func (h *handlers) startAgain(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	s := c.Store()
	cs, err := s.Consent(ctx, c.Customer.ID)
	if err != nil || cs.State != models.ConsentNo || cs.Source != "/stop" {
		return err
	}
	if err := s.SetConsent(ctx, c.Customer.ID, models.ConsentYes, "/start"); err != nil {
		return err
	}
	if err := s.SetOptOut(ctx, c.Customer.ID, models.TopicOrders, false); err != nil {
		return err
	}
	c.Say("consent.resumed")
	return nil
}
