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
// (the outbox row); sending publishes it to the pages that are open, on
// this replica and, through the relay, on the others, which otherwise load
// it from the database when they next open or reconnect.
type Channel struct{ s *Site }

// Name is "web".
func (*Channel) Name() string { return models.ChannelWeb }

// ChatLimit: a browser takes messages as fast as the bot writes them.
func (*Channel) ChatLimit(string) bot.Limit { return bot.Limit{PerSecond: 50, Burst: 50} }

// GlobalLimit: publishing is an in-memory fan-out (and one NOTIFY each on
// PostgreSQL).
func (*Channel) GlobalLimit() bot.Limit { return bot.Limit{PerSecond: 5000, Burst: 5000} }

// Send publishes m to the pages of its chat. The platform id of a web
// message is its outbox id, so edits and button presses can name it. If
// the other replicas cannot be told, Send fails and the dispatcher tries
// again: the pages here drop the copy they have already shown (by id).
func (c *Channel) Send(ctx context.Context, m *bot.Outbound) (string, error) {
	c.s.publishOut(m)
	if err := c.s.tell(ctx, notice{Kind: noticeOut, Chat: m.ChatID, ID: m.ID, Ticket: m.TicketID}); err != nil {
		return "", err
	}
	return strconv.FormatUint(m.ID, 10), nil
}

// publishOut hands an outbound message to this replica's pages.
func (s *Site) publishOut(m *bot.Outbound) {
	ticket := ticketRef(m.TicketID)
	switch {
	case m.ChatID == InboxRoom:
		s.hub.publish("staff", jsonEvent("ticket", 0, staffEvent{Ticket: ticket, Text: m.Text}))
	case strings.HasPrefix(m.ChatID, staffChatPrefix):
		s.hub.publish("s:"+strings.TrimPrefix(m.ChatID, staffChatPrefix), jsonEvent("notice", 0, staffEvent{Ticket: ticket, Text: m.Text}))
	default:
		v := chatMessage{ID: m.ID, PID: strconv.FormatUint(m.ID, 10), Dir: models.DirOut, Text: m.Text, Buttons: m.Buttons, Edit: m.Edit, Kind: m.Kind, At: time.Now().UTC()}
		s.hub.publish("c:"+m.ChatID, jsonEvent("message", m.ID, v))
		// The inbox shows web customers' conversations live too.
		s.hub.publish("staff", jsonEvent("conversation", 0, staffEvent{Ticket: ticket, Chat: m.ChatID}))
	}
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
