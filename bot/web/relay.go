package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// relay carries live events between the replicas that share a database:
// behind a round-robin load balancer, the replica that sends a reply is
// often not the one holding the customer's open page. *models.Notifier is
// one (PostgreSQL LISTEN/NOTIFY). SQLite has one kefu process, and no
// relay: the hub alone reaches every page.
type relay interface {
	Notify(ctx context.Context, payload string) error
	Listen(ctx context.Context, f models.ListenFuncs)
}

// Kinds of notice.
const (
	noticeOut = "out" // an outbox row was sent
	noticeIn  = "in"  // a visitor posted a message
)

// notice is what a replica tells the others: which stored row to show,
// never its content. It stays far below PostgreSQL's 8000-byte NOTIFY
// limit, and the receiver loads the message from the database only when
// one of its pages shows it.
type notice struct {
	Origin string `json:"o"` // the Site that sent it, which has published already
	Kind   string `json:"k"`
	Chat   string `json:"c"`
	ID     uint64 `json:"id,omitempty"` // out: the outbox row
	Ticket uint64 `json:"t,omitempty"`  // out: its ticket
	Ext    string `json:"x,omitempty"`  // in: the page's id of the message
}

// relayTimeout bounds telling the other replicas and loading what they told.
const relayTimeout = 5 * time.Second

// tell sends n to the other replicas; without a relay there are none.
func (s *Site) tell(ctx context.Context, n notice) error {
	if s.relay == nil {
		return nil
	}
	n.Origin = s.origin
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("web: relay notice: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, relayTimeout)
	defer cancel()
	if err := s.relay.Notify(ctx, string(b)); err != nil {
		return fmt.Errorf("web: tell the other replicas: %w", err)
	}
	return nil
}

// startRelay listens to the other replicas until Close. It waits (a
// while) for the listener's first connection, so pages that open once the
// site serves miss nothing.
func (s *Site) startRelay() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopRelay = cancel
	s.relayDone = make(chan struct{})
	ready := make(chan struct{}, 1)
	go func() {
		defer close(s.relayDone)
		s.relay.Listen(ctx, models.ListenFuncs{
			Listening: func() {
				// Events sent while nobody listened are lost: every open
				// page reconnects and catches up from the database (the
				// chat from its Last-Event-ID, the inbox by reloading).
				s.hub.reset()
				select {
				case ready <- struct{}{}:
				default:
				}
			},
			Notice: s.receive,
			Broken: func(err error) {
				s.o.Log.Warn("web: live updates from other replicas interrupted; reconnecting", "err", err)
			},
		})
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		s.o.Log.Warn("web: not yet listening to other replicas; pages catch up once it is")
	}
}

// receive publishes another replica's notice to this replica's pages,
// loading the message only if a page here shows it.
func (s *Site) receive(payload string) {
	var n notice
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		s.o.Log.Warn("web: unreadable notice from another replica", "err", err)
		return
	}
	if n.Origin == s.origin {
		return // published here already
	}
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	switch n.Kind {
	case noticeOut:
		customer := n.Chat != InboxRoom && !strings.HasPrefix(n.Chat, staffChatPrefix)
		if customer {
			// The inbox only reloads: no need to load anything for it.
			s.hub.publish("staff", jsonEvent("conversation", 0, staffEvent{Ticket: ticketRef(n.Ticket), Chat: n.Chat}))
		}
		key := "staff"
		switch {
		case customer:
			key = "c:" + n.Chat
		case n.Chat != InboxRoom:
			key = "s:" + strings.TrimPrefix(n.Chat, staffChatPrefix)
		}
		if !s.hub.has(key) {
			return
		}
		m, err := s.o.DB.Read().Message(ctx, n.ID)
		if err != nil {
			s.relayLoadFailed(err, n, key)
			return
		}
		if m.Channel != models.ChannelWeb || m.Direction != models.DirOut || m.ChatID != n.Chat {
			return // not a web message: nothing to show
		}
		out := &bot.Outbound{ID: m.ID, ChatID: m.ChatID, Text: m.Text, Buttons: m.Payload.Buttons, Edit: m.Payload.Edit, Kind: m.Payload.Kind}
		if m.TicketID != nil {
			out.TicketID = *m.TicketID
		}
		if customer {
			// The inbox has had its event above.
			v := chatMessage{ID: m.ID, PID: strconv.FormatUint(m.ID, 10), Dir: models.DirOut, Text: out.Text, Buttons: out.Buttons,
				Edit: out.Edit, Kind: out.Kind, At: m.CreatedAt}
			s.hub.publish(key, jsonEvent("message", m.ID, v))
			return
		}
		s.publishOut(out)
	case noticeIn:
		if !strings.HasPrefix(n.Chat, "v_") {
			return
		}
		s.hub.publish("staff", jsonEvent("conversation", 0, staffEvent{Chat: n.Chat}))
		if !s.hub.has("c:" + n.Chat) {
			return
		}
		// The visitor's other tabs, open on this replica.
		m, err := s.o.DB.Read().InboundByExternalID(ctx, models.ChannelWeb, n.Chat+":"+n.Ext)
		if err != nil {
			s.relayLoadFailed(err, n, "c:"+n.Chat)
			return
		}
		s.hub.publish("c:"+n.Chat, jsonEvent("message", 0, chatMessage{Dir: models.DirIn, Text: m.Text, Ext: n.Ext, At: m.CreatedAt}))
	}
}

// relayLoadFailed: a message gone already (erased, never stored) has
// nothing to show; otherwise the pages that would show it reconnect and
// catch up from the database, rather than miss it.
func (s *Site) relayLoadFailed(err error, n notice, key string) {
	if errors.Is(err, models.ErrNotFound) {
		return
	}
	s.o.Log.Warn("web: load a message another replica sent", "kind", n.Kind, "id", n.ID, "err", err)
	s.hub.cut(key)
}
