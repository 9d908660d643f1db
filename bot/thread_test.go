package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/kefu-bot/kefu/models"
)

// threadFake is a channel whose chat "room" keeps one thread per ticket.
type threadFake struct {
	*dispFake
	failFirstPost bool // OpenThread makes the thread but fails to post once

	mu     sync.Mutex
	opened []string // titles, in order
}

func (f *threadFake) ThreadsIn(chatID string) bool { return chatID == "room" }

func (f *threadFake) OpenThread(ctx context.Context, chatID, title string, m *Outbound) (string, string, error) {
	f.mu.Lock()
	f.opened = append(f.opened, title)
	id := fmt.Sprintf("th-%d", len(f.opened))
	fail := f.failFirstPost
	f.failFirstPost = false
	f.mu.Unlock()
	if fail {
		return id, "", errors.New("post failed")
	}
	m.Thread = id
	pid, err := f.Send(ctx, m)
	return id, pid, err
}

func (f *threadFake) titles() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.opened)
}

func TestDispatcherOpensOneThreadPerTicket(t *testing.T) {
	for _, tc := range []struct {
		name          string
		failFirstPost bool
	}{
		{"FirstPostSucceeds", false},
		{"FirstPostFailsAndRetries", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDispEnv(t)
			ctx := context.Background()
			var tickets [2]uint64
			err := e.db.Write(ctx, func(s *models.Store) error {
				cust, _, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: dispChannel, ExternalID: "c1", Name: "c1"})
				if err != nil {
					return err
				}
				conv, err := s.Conversation(ctx, dispChannel, "c1", models.KindCustomer, &cust.ID)
				if err != nil {
					return err
				}
				for i, subj := range []string{"Parcel   never\narrived", "Wrong size"} {
					tk := &models.Ticket{CustomerID: cust.ID, ConversationID: conv.ID, Kind: models.TicketKindComplaint, Subject: subj}
					if err := s.CreateTicket(ctx, tk, "test"); err != nil {
						return err
					}
					tickets[i] = tk.ID
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			f := &threadFake{dispFake: newDispFake(nil), failFirstPost: tc.failFirstPost}
			d := NewDispatcher(e.opts())
			d.AddChannel(f, "")
			runDispatcher(t, d)

			// Card of ticket 0, card of ticket 1, a relay for 0, a room
			// message for no ticket, a relay for 1, a reply in an explicit
			// thread, and a message for ticket 0 to a chat without threads.
			plan := []struct {
				chat, thread string
				ticket       int // -1: none
			}{{"room", "", 0}, {"room", "", 1}, {"room", "", 0}, {"room", "", -1}, {"room", "", 1}, {"room", "th-x", 0}, {"c1", "", 0}}
			i := 0
			rows := e.queue(t, []string{"room"}, len(plan), func(_ int, m *models.Message) {
				p := plan[i]
				i++
				m.ChatID, m.Payload.Thread = p.chat, p.thread
				if p.ticket >= 0 {
					m.TicketID = &tickets[p.ticket]
				}
			})
			e.waitStatus(t, rows, models.StatusSent)

			want := []string{"T-1001 · Parcel never arrived", "T-1002 · Wrong size"}
			if got := f.titles(); !slices.Equal(got, want) {
				t.Errorf("threads opened = %q; want %q", got, want)
			}
			wantThread := []string{"th-1", "th-2", "th-1", "", "th-2", "th-x", ""}
			for i, r := range rows {
				var got string
				for _, s := range f.log() {
					if s.Msg.ID == r.ID && s.Err == nil {
						got = s.Msg.Thread
					}
				}
				if got != wantThread[i] {
					t.Errorf("row %d (%+v) posted in thread %q; want %q", i, plan[i], got, wantThread[i])
				}
			}
			for i, id := range tickets {
				th, err := e.db.Read().TicketThread(ctx, dispChannel, "room", id)
				if err != nil || th != fmt.Sprintf("th-%d", i+1) {
					t.Errorf("stored thread of ticket %d = %q, %v; want th-%d", id, th, err, i+1)
				}
				got, err := e.db.Read().ThreadTicket(ctx, dispChannel, "room", th)
				if err != nil || got != id {
					t.Errorf("ThreadTicket(%q) = %d, %v; want %d", th, got, err, id)
				}
			}
		})
	}
}

// TestStaffButtonsOnlyForStaffInRooms: a staff button's data pressed in a
// customer chat, or by a non-staff member of a staff room, runs nothing.
func TestStaffButtonsOnlyForStaffInRooms(t *testing.T) {
	r := NewRouter()
	ran := 0
	r.StaffButton("st", func(context.Context, *Context) error { ran++; return nil })
	r.Button("menu", func(context.Context, *Context) error { return nil })
	for _, tc := range []struct {
		name        string
		kind        string
		staff, want bool
	}{
		{"staff in room", models.KindStaff, true, true},
		{"non-staff in room", models.KindStaff, false, false},
		{"customer forging the data", models.KindCustomer, false, false},
		{"staff member in a customer chat", models.KindCustomer, true, false},
	} {
		c := &Context{In: &Inbound{Data: "st:claim:T-1001", Staff: tc.staff}, Conv: &models.Conversation{Kind: tc.kind}}
		h := r.route(c)
		if got := h != nil && h != r.fallback && h.Handle(context.Background(), c) == nil && ran > 0; got != tc.want {
			t.Errorf("%s: staff button ran = %v; want %v", tc.name, got, tc.want)
		}
		ran = 0
	}
}
