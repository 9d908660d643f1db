package web

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// InboxRoom is the web staff room: ticket cards and relays the engine
// sends to staff rooms land here and reach every signed-in inbox. Pass
// bot.Room{Channel: models.ChannelWeb, ChatID: web.InboxRoom} to the engine.
const InboxRoom = "inbox"

// staffChatPrefix starts the chat id of one staff member's desk
// conversation: the answers to the commands their inbox submits.
const staffChatPrefix = "staff:"

// Channel is the web chat as a bot.Channel. The message is already stored
// (the outbox row); sending publishes it to the pages that are open, which
// otherwise load it from the database when they next open or reconnect.
type Channel struct{ hub *hub }

// Name is "web".
func (*Channel) Name() string { return models.ChannelWeb }

// ChatLimit: a browser takes messages as fast as the bot writes them.
func (*Channel) ChatLimit(string) bot.Limit { return bot.Limit{PerSecond: 50, Burst: 50} }

// GlobalLimit: publishing is an in-memory fan-out.
func (*Channel) GlobalLimit() bot.Limit { return bot.Limit{PerSecond: 5000, Burst: 5000} }

// Send publishes m to the pages of its chat. The platform id of a web
// message is its outbox id, so edits and button presses can name it.
func (c *Channel) Send(_ context.Context, m *bot.Outbound) (string, error) {
	pid := strconv.FormatUint(m.ID, 10)
	var ticket uint64
	if m.TicketID != 0 {
		ticket = m.TicketID
	}
	switch {
	case m.ChatID == InboxRoom:
		c.hub.publish("staff", jsonEvent("ticket", 0, staffEvent{Ticket: ticketRef(ticket), Text: m.Text}))
	case strings.HasPrefix(m.ChatID, staffChatPrefix):
		c.hub.publish("s:"+strings.TrimPrefix(m.ChatID, staffChatPrefix), jsonEvent("notice", 0, staffEvent{Ticket: ticketRef(ticket), Text: m.Text}))
	default:
		v := chatMessage{ID: m.ID, PID: pid, Dir: models.DirOut, Text: m.Text, Buttons: m.Buttons, Edit: m.Edit, Kind: m.Kind, At: time.Now().UTC()}
		c.hub.publish("c:"+m.ChatID, jsonEvent("message", m.ID, v))
		// The inbox shows web customers' conversations live too.
		c.hub.publish("staff", jsonEvent("conversation", 0, staffEvent{Ticket: ticketRef(ticket), Chat: m.ChatID}))
	}
	return pid, nil
}

func ticketRef(id uint64) string {
	if id == 0 {
		return ""
	}
	return models.TicketRef(id)
}

// staffEvent tells inbox pages what changed; they reload the affected part.
type staffEvent struct {
	Ticket string `json:"ticket,omitempty"`
	Chat   string `json:"chat,omitempty"`
	Text   string `json:"text,omitempty"`
}

// chatMessage is one message as a chat page shows it.
type chatMessage struct {
	ID      uint64            `json:"id"`
	PID     string            `json:"pid"`
	Dir     string            `json:"dir"`
	Text    string            `json:"text"`
	Buttons [][]models.Button `json:"buttons,omitempty"`
	// Edit names the platform id (outbox id) of the message this replaces.
	Edit string    `json:"edit,omitempty"`
	Kind string    `json:"kind,omitempty"`
	Ext  string    `json:"ext,omitempty"` // the page's own id of an inbound message
	At   time.Time `json:"at"`
}

func jsonEvent(name string, id uint64, v any) event {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value passed is plain data; failing here is a programming error.
		panic("web: marshal event: " + err.Error())
	}
	return event{Name: name, ID: id, Data: b}
}

// chatView turns a conversation's stored messages into what the page shows:
// edits applied to the message they replace, failed and empty rows left
// out. Inbound button presses show as nothing: the edited message shows
// the choice.
func chatView(ms []models.Message, visitor string) []chatMessage {
	out := make([]chatMessage, 0, len(ms))
	byPID := map[string]int{}
	for _, m := range ms {
		if m.Direction == models.DirOut && m.Status == models.StatusFailed {
			continue
		}
		v := chatMessage{ID: m.ID, PID: strconv.FormatUint(m.ID, 10), Dir: m.Direction, Text: m.Text,
			Buttons: m.Payload.Buttons, Kind: m.Payload.Kind, At: m.CreatedAt}
		if m.Direction == models.DirIn {
			if m.Text == "" {
				continue
			}
			if m.ExternalID != nil {
				v.Ext = strings.TrimPrefix(*m.ExternalID, visitor+":")
			}
		}
		if e := m.Payload.Edit; e != "" && m.Direction == models.DirOut {
			if i, ok := byPID[e]; ok {
				out[i].Text, out[i].Buttons = v.Text, v.Buttons
				continue
			}
		}
		byPID[v.PID] = len(out)
		out = append(out, v)
	}
	return out
}
