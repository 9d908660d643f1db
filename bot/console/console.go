// Package console is the terminal channel behind `kefu chat`: a person
// types as a customer, or as staff in the staff room, against the same
// engine and database as every other channel.
//
// console may import bot and models, nothing else of kefu.
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// StaffRoom is the chat id of the terminal staff room.
const StaffRoom = "staff"

// Engine is what the console needs of bot.Engine.
type Engine interface {
	Handle(ctx context.Context, in bot.Inbound) (bot.Result, error)
}

// Adapter is one terminal session: it reads lines as messages and prints
// what the dispatcher delivers to its chat.
type Adapter struct {
	out    io.Writer
	chatID string
	user   string
	locale string
	staff  bool
	run    string // distinguishes this session's message ids from earlier ones

	mu      sync.Mutex
	seq     int
	buttons []models.Button // the last keyboard, numbered from 1
}

var (
	_ bot.Channel     = (*Adapter)(nil)
	_ bot.RateLimited = (*Adapter)(nil)
)

// New returns a customer session for user, or the staff room if staff.
// locale is the terminal's locale (e.g. $LANG).
func New(out io.Writer, user, locale string, staff bool, now time.Time) *Adapter {
	chat := "customer:" + user
	if staff {
		chat = StaffRoom
	}
	return &Adapter{out: out, chatID: chat, user: user, locale: locale, staff: staff,
		run: strconv.FormatInt(now.UnixNano(), 36)}
}

// Name is models.ChannelConsole.
func (a *Adapter) Name() string { return models.ChannelConsole }

// ChatID is the chat this session shows.
func (a *Adapter) ChatID() string { return a.chatID }

// ChatLimit does not limit a terminal.
func (a *Adapter) ChatLimit(string) bot.Limit { return bot.Limit{PerSecond: 1000, Burst: 1000} }

// GlobalLimit does not limit a terminal.
func (a *Adapter) GlobalLimit() bot.Limit { return bot.Limit{PerSecond: 1000, Burst: 1000} }

// Send prints a message, numbering its buttons so the person can type a
// number to press one.
func (a *Adapter) Send(ctx context.Context, m *bot.Outbound) (string, error) {
	if m.ChatID != a.chatID {
		return "", &bot.PermanentError{Err: fmt.Errorf("chat %q is not this terminal's", m.ChatID)}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var b strings.Builder
	prefix := "kefu › "
	if m.Edit != "" {
		prefix = "kefu ✎ "
	}
	for i, line := range strings.Split(m.Text, "\n") {
		if i == 0 {
			b.WriteString(prefix)
		} else {
			b.WriteString("       ")
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	for _, at := range m.Attachments {
		fmt.Fprintf(&b, "       📎 %s %s\n", at.Kind, at.Name)
		if len(at.Data) > 0 { // a file kefu made (a data export): show it
			for _, line := range strings.Split(strings.TrimRight(string(at.Data), "\n"), "\n") {
				b.WriteString("         " + line + "\n")
			}
		}
	}
	if len(m.Buttons) > 0 {
		a.buttons = a.buttons[:0]
		b.WriteString("      ")
		for _, row := range m.Buttons {
			for _, btn := range row {
				a.buttons = append(a.buttons, btn)
				fmt.Fprintf(&b, " [%d] %s", len(a.buttons), btn.Label)
			}
		}
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(a.out, b.String()); err != nil {
		return "", err
	}
	return "c" + strconv.FormatUint(m.ID, 10), nil
}

// Inbound turns a typed line into a message: a bare number presses that
// button of the last keyboard.
func (a *Adapter) Inbound(line string, now time.Time) bot.Inbound {
	a.mu.Lock()
	a.seq++
	in := bot.Inbound{Channel: models.ChannelConsole, ChatID: a.chatID, UserID: a.user, UserName: a.user,
		MessageID: fmt.Sprintf("%s:%s:%d", a.chatID, a.run, a.seq), Text: line, Locale: a.locale,
		Staff: a.staff, Room: a.staff, Time: now}
	if n, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && n >= 1 && n <= len(a.buttons) {
		in.Data, in.Text = a.buttons[n-1].Data, ""
	}
	a.mu.Unlock()
	return in
}

// Run reads lines from r until EOF or ctx ends, handling each as a turn.
// Replies arrive through the dispatcher, asynchronously.
func (a *Adapter) Run(ctx context.Context, r io.Reader, e Engine, now func() time.Time) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		defer close(lines)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				select {
				case err := <-errc:
					return err
				default:
					return nil
				}
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			if _, err := e.Handle(ctx, a.Inbound(line, now())); err != nil {
				fmt.Fprintf(a.out, "kefu ! could not handle that message: %v\n", err)
			}
		}
	}
}
