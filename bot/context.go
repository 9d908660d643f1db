package bot

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/kefu-bot/kefu/bot/nlu"
	"github.com/kefu-bot/kefu/models"
)

// Context is one turn: what came in, who sent it, the conversation's state,
// and the replies queued so far. It never holds a context.Context; handlers
// get that as their first argument.
type Context struct {
	In       *Inbound
	Conv     *models.Conversation
	Customer *models.Customer // nil in staff rooms
	Identity *models.Identity // nil in staff rooms
	Message  *models.Message  // the stored inbound message
	Intent   nlu.Result
	// Command is the slash command without "/" and bot suffix; Args the text
	// after it. Arg is a pressed button's data after its prefix.
	Command string
	Args    string
	Arg     string
	Log     *slog.Logger
	Now     time.Time

	sender
	lang string
}

// sender queues outbox rows and knows where staff rooms are. Turns and jobs
// share it.
type sender struct {
	store  *models.Store
	engine *Engine
	rows   []*models.Message
}

// Store returns the transaction-bound store of this turn.
func (s *sender) Store() *models.Store { return s.store }

// Option adjusts an outbound message.
type Option func(*models.Message)

// Buttons attaches an inline keyboard, one slice per row.
func Buttons(rows ...[]models.Button) Option {
	return func(m *models.Message) { m.Payload.Buttons = append(m.Payload.Buttons, rows...) }
}

// Row is one row of buttons.
func Row(b ...models.Button) []models.Button { return b }

// Btn is one button. data must stay within 64 bytes.
func Btn(label, data string) models.Button { return models.Button{Label: label, Data: data} }

// Edit replaces the platform message with the given id instead of sending
// a new one, where the channel can edit.
func Edit(platformID string) Option { return func(m *models.Message) { m.Payload.Edit = platformID } }

// Kind tells the adapter how to render the message ("card", "relay", "notice").
func Kind(kind string) Option { return func(m *models.Message) { m.Payload.Kind = kind } }

// ForTicket ties the message to a ticket (staff threads, topics).
func ForTicket(id uint64) Option { return func(m *models.Message) { m.TicketID = &id } }

// InThread posts the message in a thread of the chat (a forum topic, a
// Discord thread), by the thread's platform id.
func InThread(threadID string) Option { return func(m *models.Message) { m.Payload.Thread = threadID } }

// Attach adds attachments to relay.
func Attach(a ...models.Attachment) Option {
	return func(m *models.Message) { m.Payload.Attachments = append(m.Payload.Attachments, a...) }
}

// ReplyTo makes the message a reply to the platform message with that id.
func ReplyTo(platformID string) Option {
	return func(m *models.Message) { m.Payload.ReplyTo = platformID }
}

// SendTo queues a message to any conversation.
func (s *sender) SendTo(conv *models.Conversation, text string, opts ...Option) {
	m := &models.Message{ConversationID: conv.ID, Channel: conv.Channel, ChatID: conv.ChatID, Text: text}
	for _, o := range opts {
		o(m)
	}
	s.rows = append(s.rows, m)
}

// NotifyStaff queues a message to every staff room, rendered in the staff
// language by text(lang).
func (s *sender) NotifyStaff(ctx context.Context, text func(lang string) string, opts ...Option) error {
	for _, r := range s.engine.staffRooms {
		conv, err := s.store.Conversation(ctx, r.Channel, r.ChatID, models.KindStaff, nil)
		if err != nil {
			return fmt.Errorf("notify staff: %w", err)
		}
		s.SendTo(conv, text(s.engine.staffLang), opts...)
	}
	return nil
}

// T renders a catalogue text in any language.
func (s *sender) TLang(lang, id string, kv ...any) string {
	return s.engine.catalog.T(lang, id, pairs(kv))
}

// Count records a domain event in the kefu_events_total metric.
func (s *sender) Count(event string) { s.engine.metrics.Events.WithLabelValues(event).Inc() }

// StaffLang is the language staff rooms are written in.
func (s *sender) StaffLang() string { return s.engine.staffLang }

// Lang is the language of this conversation ("en" or "zh").
func (c *Context) Lang() string { return c.lang }

// T renders a catalogue text in the conversation's language. kv are
// template fields as name, value pairs.
func (c *Context) T(id string, kv ...any) string { return c.engine.catalog.T(c.lang, id, pairs(kv)) }

// Reply queues a message to this conversation, in the thread the turn's
// message was written in.
func (c *Context) Reply(text string, opts ...Option) {
	if c.In.Thread != "" {
		opts = append([]Option{InThread(c.In.Thread)}, opts...)
	}
	c.SendTo(c.Conv, text, opts...)
}

// Say replies with a catalogue text.
func (c *Context) Say(id string, kv ...any) { c.Reply(c.T(id, kv...)) }

// SetLang changes the customer's language for this and later turns.
func (c *Context) SetLang(ctx context.Context, lang string) error {
	if c.Customer == nil {
		return nil
	}
	if err := c.store.SetCustomerLanguage(ctx, c.Customer.ID, lang); err != nil {
		return err
	}
	c.Customer.Language, c.Customer.LanguageChosen, c.lang = lang, true, lang
	return nil
}

// StaffName identifies the staff member acting in this turn, e.g.
// "telegram:alice".
func (c *Context) StaffName() string {
	n := c.In.UserName
	if n == "" {
		n = c.In.UserID
	}
	return c.In.Channel + ":" + n
}

// StartFlow makes the next turns go to the named flow, at step.
func (c *Context) StartFlow(flow, step string) {
	c.Conv.Flow, c.Conv.Step, c.Conv.Slots = flow, step, models.Slots{}
}

// SetStep moves the active flow to step.
func (c *Context) SetStep(step string) { c.Conv.Step = step }

// EndFlow leaves the active flow.
func (c *Context) EndFlow() { c.Conv.Flow, c.Conv.Step, c.Conv.Slots = "", "", models.Slots{} }

// Slot returns a value the flow collected.
func (c *Context) Slot(k string) string { return c.Conv.Slots[k] }

// SetSlot stores a value for the flow.
func (c *Context) SetSlot(k, v string) {
	if c.Conv.Slots == nil {
		c.Conv.Slots = models.Slots{}
	}
	c.Conv.Slots[k] = v
}

// Job is one run of scheduled work. Its writes and messages commit with
// the job being marked done: a job's effects happen once.
type Job struct {
	Row models.Job
	Log *slog.Logger
	Now time.Time
	sender
}

func pairs(kv []any) map[string]any {
	if len(kv) == 0 {
		return nil
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return m
}

// snapshot and restore undo in-memory conversation changes of a handler
// that failed, mirroring the savepoint rollback of its writes.
func snapshot(c *models.Conversation) models.Conversation {
	s := *c
	s.Slots = maps.Clone(c.Slots)
	return s
}

// Reroute routes the turn again and runs the handler it gets: for a flow
// that ended without using the message, so the message still reaches the
// handler it would have had.
func (c *Context) Reroute(ctx context.Context) error {
	if h := c.engine.router.route(c); h != nil {
		return h.Handle(ctx, c)
	}
	return nil
}
