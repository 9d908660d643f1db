package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/clientip"
	"github.com/kefu-bot/kefu/models"
)

// Name is the channel's name in bot.Inbound.Channel and bot.Room.
const Name = models.ChannelTelegram

// Telegram's limits.
const (
	maxText         = 4096 // UTF-16 code units per message
	maxCaption      = 1024 // UTF-16 code units per caption
	maxCallbackData = 64   // bytes of callback_data
)

// Engine is what the adapter needs of bot.Engine.
type Engine interface {
	Handle(ctx context.Context, in bot.Inbound) (bot.Result, error)
}

// Options configure an Adapter. Token is required.
type Options struct {
	Token string
	// APIEndpoint is a tgbotapi endpoint format such as
	// "https://api.telegram.org/bot%s/%s" (token, method); empty means
	// Telegram's.
	APIEndpoint string
	// StaffChatID is the staff group; messages there are Room messages.
	StaffChatID int64
	// StaffUserIDs are the Telegram user ids of staff members.
	StaffUserIDs []int64
	// StaffAdmins also counts the staff chat's administrators as staff
	// (looked up with getChatAdministrators and cached for a few minutes).
	StaffAdmins bool
	// PollTimeout is the long-polling timeout (default 30s).
	PollTimeout time.Duration
	// Client is the HTTP client (tests); default one with a timeout a
	// little over PollTimeout.
	Client *http.Client
	Log    *slog.Logger
	// Commands and Catalog feed RegisterCommands (setMyCommands in en and zh).
	Commands []bot.CommandInfo
	Catalog  *bot.Catalog
	// Proxies finds the sender's address behind trusted proxies for the
	// webhook's logs; the zero value trusts none.
	Proxies clientip.Resolver
}

// Adapter is the Telegram channel: it long-polls updates into the engine
// and delivers outbound messages.
type Adapter struct {
	api      *tgbotapi.BotAPI // never used directly: see call
	client   *http.Client
	token    string
	staffID  int64
	staff    map[int64]bool
	admins   bool
	timeout  time.Duration
	log      *slog.Logger
	commands []bot.CommandInfo
	catalog  *bot.Catalog
	proxies  clientip.Resolver

	// Backoffs of Poll; variables so tests can shorten them.
	conflictMin, conflictMax time.Duration // 409: another instance polls
	errorMin, errorMax       time.Duration // network, 5xx, failed Handle
	adminTTL                 time.Duration

	// forum says the staff group is a forum: one topic per ticket.
	forum bool

	mu       sync.Mutex
	offset   int // next update id to ask for
	adminAt  time.Time
	adminSet map[int64]bool
}

var (
	_ bot.Channel     = (*Adapter)(nil)
	_ bot.RateLimited = (*Adapter)(nil)
)

// New connects to the Bot API (getMe) and returns an Adapter. A rejected
// token is one clear error; the token itself never appears in errors or logs.
func New(o Options) (*Adapter, error) {
	if strings.TrimSpace(o.Token) == "" {
		return nil, errors.New("telegram: no bot token configured")
	}
	if o.APIEndpoint == "" {
		o.APIEndpoint = tgbotapi.APIEndpoint
	}
	if o.PollTimeout <= 0 {
		o.PollTimeout = 30 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.PollTimeout + 30*time.Second}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	a := &Adapter{
		client: o.Client, token: o.Token, staffID: o.StaffChatID, staff: map[int64]bool{},
		admins: o.StaffAdmins, timeout: o.PollTimeout, log: o.Log.With("channel", Name),
		commands: o.Commands, catalog: o.Catalog, proxies: o.Proxies,
		conflictMin: 5 * time.Second, conflictMax: time.Minute,
		errorMin: time.Second, errorMax: 30 * time.Second,
		adminTTL: 5 * time.Minute,
	}
	for _, id := range o.StaffUserIDs {
		a.staff[id] = true
	}
	api, err := tgbotapi.NewBotAPIWithClient(o.Token, o.APIEndpoint, o.Client)
	if err != nil {
		var te *tgbotapi.Error
		if errors.As(err, &te) && te.Code == http.StatusUnauthorized {
			return nil, errors.New("telegram: the bot token was rejected (401 Unauthorized)")
		}
		return nil, fmt.Errorf("telegram: getMe: %w", a.scrub(err))
	}
	a.api = api
	a.forum = a.isForum(context.Background())
	a.log.Info("telegram bot connected", "username", api.Self.UserName, "id", api.Self.ID, "staff_topics", a.forum)
	return a, nil
}

// Name is "telegram".
func (a *Adapter) Name() string { return Name }

// StaffRoom is the staff group as a bot.Room.
func (a *Adapter) StaffRoom() bot.Room {
	return bot.Room{Channel: Name, ChatID: strconv.FormatInt(a.staffID, 10)}
}

// ChatLimit is Telegram's advice: one message a second in a private chat
// (positive id), twenty a minute in a group (negative id).
func (a *Adapter) ChatLimit(chatID string) bot.Limit {
	if id, err := strconv.ParseInt(chatID, 10, 64); err == nil && id < 0 {
		// A token bucket lets Burst + PerSecond·T through in any window T:
		// 1 + 19 = 20 in any minute, Telegram's group limit.
		return bot.Limit{PerSecond: 19.0 / 60, Burst: 1}
	}
	return bot.Limit{PerSecond: 1, Burst: 1}
}

// GlobalLimit keeps within Telegram's 30 messages a second for a bot in any
// one-second window: 1 + 29 = 30 (a burst of 30 would let 60 through).
func (a *Adapter) GlobalLimit() bot.Limit { return bot.Limit{PerSecond: 29, Burst: 1} }

// call returns a copy of the client whose requests carry ctx, so a
// cancelled context aborts a request (tgbotapi itself has no contexts).
func (a *Adapter) call(ctx context.Context) *tgbotapi.BotAPI { return a.callIn(ctx, 0) }

// callIn is call for posting into a forum topic (0: none).
func (a *Adapter) callIn(ctx context.Context, topic int) *tgbotapi.BotAPI {
	c := *a.api
	c.Client = ctxClient{ctx: ctx, c: a.client, topic: topic}
	return &c
}

type ctxClient struct {
	ctx   context.Context
	c     *http.Client
	topic int
}

func (c ctxClient) Do(r *http.Request) (*http.Response, error) {
	r, err := inTopic(r.WithContext(c.ctx), c.topic)
	if err != nil {
		return nil, err
	}
	return c.c.Do(r)
}

// scrubbedError hides the token in an error's text (net/http errors carry
// the request URL, which contains it).
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func (a *Adapter) scrub(err error) error {
	if err == nil || a.token == "" || !strings.Contains(err.Error(), a.token) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), a.token, "<token>"), err: err}
}

// apiError returns the Bot API's error in err, if it is one.
func apiError(err error) (*tgbotapi.Error, bool) {
	var p *tgbotapi.Error
	if errors.As(err, &p) {
		return p, true
	}
	var v tgbotapi.Error
	if errors.As(err, &v) {
		return &v, true
	}
	return nil, false
}

// mapError classifies a Bot API failure for the dispatcher: 429 waits,
// 403 and "chat not found" are unreachable, other 400s are permanent and
// the rest (5xx, network) is retried.
func (a *Adapter) mapError(method string, err error) error {
	if err == nil {
		return nil
	}
	te, ok := apiError(err)
	if !ok {
		return fmt.Errorf("telegram %s: %w", method, a.scrub(err))
	}
	switch {
	case te.Code == http.StatusTooManyRequests:
		after := time.Duration(te.RetryAfter) * time.Second
		if after <= 0 {
			after = time.Second
		}
		return &bot.RetryAfterError{After: after}
	case te.Code == http.StatusForbidden:
		return fmt.Errorf("%w: telegram %s: %s", bot.ErrUnreachable, method, te.Message)
	case te.Code == http.StatusBadRequest && strings.Contains(strings.ToLower(te.Message), "chat not found"):
		return fmt.Errorf("%w: telegram %s: %s", bot.ErrUnreachable, method, te.Message)
	case te.Code == http.StatusBadRequest:
		return &bot.PermanentError{Err: fmt.Errorf("telegram %s: %s", method, te.Message)}
	}
	return fmt.Errorf("telegram %s: %d %s", method, te.Code, te.Message)
}

// RegisterCommands publishes the customer commands with setMyCommands:
// once in English as the default and once for language_code "zh".
func (a *Adapter) RegisterCommands(ctx context.Context) error {
	api := a.call(ctx)
	for _, lang := range []string{bot.LangEN, bot.LangZH} {
		var cmds []tgbotapi.BotCommand
		for _, c := range a.commands {
			desc := c.Help
			if a.catalog != nil {
				desc = a.catalog.T(lang, c.Help, nil)
			}
			if r := []rune(desc); len(r) > 256 { // Telegram's limit
				desc = string(r[:255]) + "…"
			}
			cmds = append(cmds, tgbotapi.BotCommand{Command: strings.TrimPrefix(c.Name, "/"), Description: desc})
		}
		cfg := tgbotapi.NewSetMyCommands(cmds...)
		if lang != bot.LangEN {
			cfg.LanguageCode = lang
		}
		if _, err := api.Request(cfg); err != nil {
			return a.mapError("setMyCommands", err)
		}
	}
	return nil
}

// isStaff reports whether user counts as staff in chat.
func (a *Adapter) isStaff(ctx context.Context, user, chat int64) bool {
	if a.staff[user] {
		return true
	}
	if !a.admins || chat != a.staffID || a.staffID == 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.adminSet == nil || time.Since(a.adminAt) > a.adminTTL {
		members, err := a.call(ctx).GetChatAdministrators(tgbotapi.ChatAdministratorsConfig{
			ChatConfig: tgbotapi.ChatConfig{ChatID: chat}})
		if err != nil {
			a.log.Warn("telegram: cannot list staff chat administrators", "err", a.scrub(err))
			return false // try again on the next message
		}
		a.adminSet = map[int64]bool{}
		for _, m := range members {
			if m.User != nil {
				a.adminSet[m.User.ID] = true
			}
		}
		a.adminAt = time.Now()
	}
	return a.adminSet[user]
}

// inbound turns an update into a bot.Inbound. ok is false for updates
// kefu ignores (groups other than the staff chat, other update kinds).
func (a *Adapter) inbound(ctx context.Context, u *update) (in bot.Inbound, ok bool) {
	in = bot.Inbound{Channel: Name, MessageID: "u" + strconv.Itoa(u.UpdateID)}
	var m *tgbotapi.Message
	var from *tgbotapi.User
	switch {
	case u.Message != nil:
		m, from = u.Message, u.Message.From
		in.Time = m.Time()
		in.Text = m.Text
		if in.Text == "" {
			in.Text = m.Caption
		}
		if len(m.Photo) > 0 {
			p := slices.MaxFunc(m.Photo, func(x, y tgbotapi.PhotoSize) int {
				return x.Width*x.Height - y.Width*y.Height
			})
			in.Attachments = append(in.Attachments, models.Attachment{Kind: "photo", FileID: p.FileID,
				MIME: "image/jpeg", Size: int64(p.FileSize)})
		}
		if d := m.Document; d != nil {
			in.Attachments = append(in.Attachments, models.Attachment{Kind: "document", FileID: d.FileID,
				Name: d.FileName, MIME: d.MimeType, Size: int64(d.FileSize)})
		}
		// In a forum topic every message "replies" to the topic's first
		// message unless it answers another one; only the latter is a reply.
		if r := m.ReplyToMessage; r != nil && r.MessageID != u.Topic {
			in.ReplyTo = strconv.Itoa(r.MessageID)
		}
	case u.CallbackQuery != nil && u.CallbackQuery.Message != nil:
		m, from = u.CallbackQuery.Message, u.CallbackQuery.From
		in.Data = u.CallbackQuery.Data
		in.PressedID = strconv.Itoa(m.MessageID)
		in.Time = time.Now()
	default:
		return in, false
	}
	if m.Chat == nil || from == nil {
		return in, false
	}
	chat := m.Chat.ID
	in.Room = a.staffID != 0 && chat == a.staffID
	if !m.Chat.IsPrivate() && !in.Room {
		return in, false
	}
	in.ChatID = strconv.FormatInt(chat, 10)
	in.UserID = strconv.FormatInt(from.ID, 10)
	in.UserName = from.UserName
	if in.UserName == "" {
		in.UserName = from.FirstName
	}
	in.Locale = from.LanguageCode
	in.Staff = a.isStaff(ctx, from.ID, chat)
	if u.Topic != 0 && in.Room {
		in.Thread = strconv.Itoa(u.Topic)
	}
	return in, true
}
