package handlers

import (
	"context"
	"strconv"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// menu is the keyboard of what the bot can do, in the customer's language.
func menu(c *bot.Context) bot.Option {
	return bot.Buttons(
		bot.Row(bot.Btn(c.T("menu.complaint"), "menu:complaint")),
		bot.Row(bot.Btn(c.T("menu.human"), "menu:human")),
		bot.Row(bot.Btn(c.T("menu.language"), "menu:lang")),
	)
}

func (h *handlers) start(ctx context.Context, c *bot.Context) error {
	if err := h.startAgain(ctx, c); err != nil {
		return err
	}
	c.Reply(c.T("greeting.welcome", "Shop", h.shop, "Name", customerName(c)), menu(c))
	return nil
}

func (h *handlers) greet(ctx context.Context, c *bot.Context) error {
	c.Reply(c.T("greeting.hello", "Name", customerName(c)), menu(c))
	return nil
}

func (h *handlers) help(ctx context.Context, c *bot.Context) error {
	c.Reply(c.T("help.menu", "Shop", h.shop), menu(c))
	return nil
}

func (h *handlers) menuButton(ctx context.Context, c *bot.Context) error {
	switch c.Arg {
	case "human":
		return h.startHandoff(ctx, c)
	case "complaint":
		return h.startComplaint(ctx, c)
	case "lang":
		return h.chooseLanguage(ctx, c)
	default:
		return h.help(ctx, c)
	}
}

func (h *handlers) fallback(ctx context.Context, c *bot.Context) error {
	switch {
	case c.Command != "":
		c.Reply(c.T("fallback.unknown_command", "Command", c.Command), menu(c))
	case c.In.Data != "":
		// A button we do not know: an old keyboard, or forged data.
		c.Reply(c.T("fallback.stale_button"), menu(c))
	case c.In.Text == "" && len(c.In.Attachments) > 0:
		c.Reply(c.T("fallback.attachment"), menu(c))
	default:
		c.Reply(c.T("fallback.not_understood"), menu(c))
	}
	return nil
}

// offerStaff answers intents kefu cannot yet serve by itself: it says so and
// offers a person, instead of pretending.
func (h *handlers) offerStaff(ctx context.Context, c *bot.Context) error {
	c.Reply(c.T("offer.staff"), bot.Buttons(bot.Row(
		bot.Btn(c.T("offer.yes"), "handoff:start"),
		bot.Btn(c.T("offer.no"), "handoff:no"),
	)))
	return nil
}

func (h *handlers) thankFeedback(ctx context.Context, c *bot.Context) error {
	if err := storeFeedback(ctx, c); err != nil {
		return err
	}
	c.Say("feedback.thanks")
	return nil
}

func (h *handlers) chooseLanguage(ctx context.Context, c *bot.Context) error {
	c.Reply(c.T("language.choose"), bot.Buttons(bot.Row(
		bot.Btn("English", "lang:"+bot.LangEN),
		bot.Btn("简体中文", "lang:"+bot.LangZH),
	)))
	return nil
}

func (h *handlers) setLanguage(ctx context.Context, c *bot.Context) error {
	if c.Arg != bot.LangEN && c.Arg != bot.LangZH {
		return h.chooseLanguage(ctx, c)
	}
	if err := c.SetLang(ctx, c.Arg); err != nil {
		return err
	}
	opts := []bot.Option{menu(c)}
	if c.In.PressedID != "" {
		// Show the choice on the pressed message instead of a new one.
		opts = append(opts, bot.Edit(c.In.PressedID))
	}
	c.Reply(c.T("language.set"), opts...)
	return nil
}

func customerName(c *bot.Context) string {
	if c.Customer != nil && c.Customer.Name != "" {
		return c.Customer.Name
	}
	return c.In.UserName
}

// customerLang is the language to write to a customer in from a staff turn.
func customerLang(cust *models.Customer) string {
	if cust == nil || cust.Language == "" {
		return bot.LangEN
	}
	return cust.Language
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}

func itoa(n int) string { return strconv.Itoa(n) }
