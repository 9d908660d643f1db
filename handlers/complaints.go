package handlers

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/nlu"
	"github.com/kefu-bot/kefu/models"
)

// Complaint intake, a multi-step flow: category (group, then kind) → order
// (for product and delivery problems) → description → optional photos →
// ticket. Whatever the first message already said is not asked again.
const flowComplaint = "complaint"

// categoryGroups are the complaint categories the customer picks from.
var categoryGroups = []struct {
	group string
	cats  []string
}{
	{"product", []string{"product.quality", "product.not_as_described", "product.counterfeit"}},
	{"logistics", []string{"logistics.delay", "logistics.damaged", "logistics.lost"}},
	{"service", []string{"service.slow_reply", "service.attitude", "service.after_sales"}},
	{"system", []string{"system.site_app", "system.payment", "system.account"}},
}

// categoryHints guess a category from what the customer wrote, so they are
// not asked for what they already said. First match wins; the order puts
// specific hints before general ones.
var categoryHints = []struct {
	cat   string
	words []string
}{
	{"product.counterfeit", []string{"fake", "counterfeit", "replica", "假货", "假的", "仿品", "高仿", "假貨"}},
	{"logistics.damaged", []string{"damaged", "broken", "crushed", "smashed", "破损", "压坏", "摔坏", "碎了", "破損"}},
	{"logistics.lost", []string{"lost", "never arrived", "missing parcel", "丢件", "丢了", "没收到", "弄丢", "沒收到"}},
	{"logistics.delay", []string{"late", "delay", "still not arrived", "not arrived", "slow delivery", "还没到", "延迟", "太慢了", "物流慢", "慢死", "還沒到"}},
	{"product.not_as_described", []string{"not as described", "different from", "wrong item", "wrong size", "wrong color", "与描述不符", "不符", "发错", "色差", "描述不一致", "發錯"}},
	{"product.quality", []string{"quality", "defect", "doesn't work", "does not work", "stopped working", "质量", "坏了", "不能用", "有问题", "瑕疵", "質量", "壞了"}},
	{"system.payment", []string{"charged twice", "double charge", "payment", "paid twice", "扣款", "扣了两次", "支付", "付款", "重复扣", "付款失敗"}},
	{"system.account", []string{"account", "login", "log in", "password", "账号", "登录", "密码", "帳號", "登錄"}},
	{"system.site_app", []string{"app", "website", "site", "crash", "bug", "页面", "网站", "闪退", "打不开", "網站"}},
	{"service.attitude", []string{"rude", "attitude", "impolite", "态度", "骂", "不耐烦", "態度"}},
	{"service.slow_reply", []string{"no reply", "no one answers", "nobody answers", "slow reply", "没人回", "不回复", "回复慢", "沒人回"}},
	{"service.after_sales", []string{"after-sales", "after sales", "warranty", "售后", "保修", "售後"}},
}

func guessCategory(text string) string {
	t := strings.ToLower(text)
	for _, h := range categoryHints {
		for _, w := range h.words {
			if strings.Contains(t, w) {
				return h.cat
			}
		}
	}
	return ""
}

// describes reports whether a first message says what went wrong, rather
// than only "I want to complain".
func describes(text string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	for _, bare := range []string{"complaint", "complain", "i want to complain", "i want to make a complaint", "投诉", "我要投诉", "我要投訴", "投訴"} {
		if t == bare {
			return false
		}
	}
	return utf8.RuneCountInString(t) >= 8
}

func needsOrder(cat string) bool {
	return strings.HasPrefix(cat, "product.") || strings.HasPrefix(cat, "logistics.")
}

// startComplaint begins the intake from the intent, /complaint or the menu.
func (h *handlers) startComplaint(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	if t := openTicketOf(ctx, c); t != nil {
		c.Say("handoff.already", "Ref", t.Ref())
		return nil
	}
	c.StartFlow(flowComplaint, "")
	if c.Command == "" && c.In.Data == "" && describes(c.In.Text) {
		c.SetSlot("desc", c.In.Text)
		c.SetSlot("cat", guessCategory(c.In.Text))
		if id := c.Intent.Entities["order_id"]; id != "" {
			c.SetSlot("order", id)
		}
	}
	return h.complaintNext(ctx, c)
}

// complaintNext asks for the first thing still missing, or files the ticket.
func (h *handlers) complaintNext(ctx context.Context, c *bot.Context) error {
	cancel := bot.Row(bot.Btn(c.T("flow.cancel_button"), "cp:cancel"))
	switch {
	case c.Slot("cat") == "":
		c.SetStep("group")
		rows := make([][]models.Button, 0, len(categoryGroups)+1)
		for _, g := range categoryGroups {
			rows = append(rows, bot.Row(bot.Btn(c.T("group."+g.group), "cg:"+g.group)))
		}
		c.Reply(c.T("complaint.ask_category"), bot.Buttons(append(rows, cancel)...))
	case needsOrder(c.Slot("cat")) && c.Slot("order") == "":
		c.SetStep("order")
		c.Reply(c.T("complaint.ask_order"), bot.Buttons(bot.Row(bot.Btn(c.T("complaint.no_order"), "cp:noorder")), cancel))
	case c.Slot("desc") == "":
		c.SetStep("describe")
		c.Reply(c.T("complaint.ask_description"), bot.Buttons(cancel))
	case c.Slot("photos_asked") == "":
		c.SetSlot("photos_asked", "1")
		c.SetStep("photos")
		c.Reply(c.T("complaint.ask_photos"), bot.Buttons(bot.Row(bot.Btn(c.T("complaint.done"), "cp:done")), cancel))
	default:
		return h.fileComplaint(ctx, c)
	}
	return nil
}

func (h *handlers) fileComplaint(ctx context.Context, c *bot.Context) error {
	order := c.Slot("order")
	if order == "-" {
		order = ""
	}
	_, err := h.openTicket(ctx, c, ticketSpec{kind: models.TicketKindComplaint, category: c.Slot("cat"),
		subject: c.Slot("desc"), order: order})
	return err
}

// complaintStep takes the customer's answer at the current step.
func (h *handlers) complaintStep(ctx context.Context, c *bot.Context) error {
	text := strings.TrimSpace(c.In.Text)
	switch c.Conv.Step {
	case "group":
		c.Reply(c.T("complaint.use_buttons"))
		return h.complaintNext(ctx, c)
	case "order":
		id, ok := nlu.ExtractOrderID(text)
		if !ok {
			c.Say("complaint.order_not_found")
			return nil
		}
		c.SetSlot("order", id)
	case "describe":
		if text == "" {
			c.Say("complaint.ask_description")
			return nil
		}
		c.SetSlot("desc", text)
	case "photos":
		if len(c.In.Attachments) > 0 {
			n := len(c.In.Attachments) + atoi(c.Slot("photos"))
			c.SetSlot("photos", itoa(n))
			if text != "" {
				c.SetSlot("desc", c.Slot("desc")+"\n"+text)
			}
			c.Reply(c.T("complaint.photos_received", "Count", n),
				bot.Buttons(bot.Row(bot.Btn(c.T("complaint.done"), "cp:done"))))
			return nil
		}
		if text != "" {
			c.SetSlot("desc", c.Slot("desc")+"\n"+text)
		}
	}
	return h.complaintNext(ctx, c)
}

// complaintGroup is a pressed category group: now the kind within it.
func (h *handlers) complaintGroup(ctx context.Context, c *bot.Context) error {
	if c.Conv.Flow != flowComplaint {
		return h.startComplaint(ctx, c)
	}
	for _, g := range categoryGroups {
		if g.group != c.Arg {
			continue
		}
		rows := make([][]models.Button, 0, len(g.cats))
		for _, cat := range g.cats {
			rows = append(rows, bot.Row(bot.Btn(c.T("category."+cat), "cc:"+cat)))
		}
		c.Reply(c.T("complaint.ask_kind", "Group", c.T("group."+g.group)), bot.Buttons(rows...), bot.Edit(c.In.PressedID))
		return nil
	}
	return h.complaintNext(ctx, c) // forged or stale data: ask again
}

// complaintCategory is a pressed category.
func (h *handlers) complaintCategory(ctx context.Context, c *bot.Context) error {
	if c.Conv.Flow != flowComplaint {
		return h.startComplaint(ctx, c)
	}
	for _, g := range categoryGroups {
		for _, cat := range g.cats {
			if cat == c.Arg {
				c.SetSlot("cat", cat)
				c.Reply(c.T("complaint.category_chosen", "Category", c.T("category."+cat)), bot.Edit(c.In.PressedID))
				return h.complaintNext(ctx, c)
			}
		}
	}
	return h.complaintNext(ctx, c)
}

// complaintButton handles Done, No order and Cancel.
func (h *handlers) complaintButton(ctx context.Context, c *bot.Context) error {
	if c.Conv.Flow != flowComplaint {
		c.Reply(c.T("fallback.stale_button"), menu(c))
		return nil
	}
	switch c.Arg {
	case "cancel":
		c.EndFlow()
		c.Reply(c.T("flow.cancelled"), menu(c))
		return nil
	case "noorder":
		c.SetSlot("order", "-")
	case "done":
		c.SetSlot("photos_asked", "1")
		if c.Conv.Step == "photos" {
			return h.fileComplaint(ctx, c)
		}
	}
	return h.complaintNext(ctx, c)
}
