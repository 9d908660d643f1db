package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kefu-bot/kefu/models"
)

// Inbound is one platform update turned into kefu's terms by an adapter.
// Adapters fill only what their platform gives; no platform type travels
// inside.
type Inbound struct {
	Channel string // "telegram", "discord", "web", "console"
	ChatID  string // the chat to answer in
	UserID  string // the author's platform user id
	// UserName is the author's display name on the platform.
	UserName string
	// MessageID is unique per channel for this update (e.g. Telegram's
	// update_id); a redelivered update carries the same id and is dropped.
	MessageID string
	Text      string
	// Data is the pressed button's data, for button callbacks.
	Data string
	// PressedID is the platform id of the message whose button was pressed,
	// so the reply can edit it to show the choice.
	PressedID string
	// ReplyTo is the platform id of the message this one replies to.
	ReplyTo string
	// Thread is the platform id of the thread the message was written in
	// (a forum topic, a Discord thread), if any.
	Thread string
	// Locale is the platform's language tag for the user (e.g. "zh-hans").
	Locale      string
	Attachments []models.Attachment
	// Staff says the adapter verified the author as staff (configured ids,
	// role, or a logged-in staff account). Room says the chat is a staff room.
	Staff bool
	Room  bool
	Time  time.Time
}

// Outbound is one message for a channel to deliver.
type Outbound struct {
	ID      uint64 // outbox id; stable across retries, usable as an idempotency key
	ChatID  string
	Text    string
	Buttons [][]models.Button
	// Edit, if set, is the platform id of a message to replace instead of
	// sending a new one (e.g. the message whose button was pressed).
	Edit    string
	ReplyTo string
	// Thread is the platform id of the thread to post in (a forum topic, a
	// Discord thread); empty posts in the chat itself.
	Thread      string
	Attachments []models.Attachment
	Kind        string // "", "card", "relay", "notice"
	TicketID    uint64
}

// Channel delivers outbound messages on one platform.
type Channel interface {
	// Name is the channel's name as used in Inbound.Channel.
	Name() string
	// Send delivers m and returns the platform's id for it. Errors are
	// classified with RetryAfterError, ErrUnreachable and PermanentError;
	// any other error is retried with backoff.
	Send(ctx context.Context, m *Outbound) (platformID string, err error)
}

// Threader is implemented by channels whose staff room can give each
// ticket a thread of its own (Telegram forum topics, Discord threads). The
// dispatcher opens a ticket's thread with its first message there and then
// posts everything about the ticket in it.
type Threader interface {
	// ThreadsIn reports whether chatID holds one thread per ticket.
	ThreadsIn(chatID string) bool
	// OpenThread starts a thread named title in chatID and posts m as its
	// first message. It returns the thread's id and m's platform id. If the
	// thread was made but m could not be posted, it returns the thread's id
	// with the error, so a retry posts into that thread.
	OpenThread(ctx context.Context, chatID, title string, m *Outbound) (threadID, platformID string, err error)
}

// Limit is a sending rate: PerSecond messages per second with Burst.
type Limit struct {
	PerSecond float64
	Burst     int
}

// RateLimited is implemented by channels that know their platform's limits.
type RateLimited interface {
	// ChatLimit is the limit for one chat (Telegram: 1/s private, 20/min groups).
	ChatLimit(chatID string) Limit
	// GlobalLimit is the limit for the whole channel (Telegram: 30/s).
	GlobalLimit() Limit
}

// ErrUnreachable means the platform will never deliver to this chat (the
// user blocked the bot, the chat is gone). The message fails at once and
// the identity is marked unreachable.
var ErrUnreachable = errors.New("chat unreachable")

// ErrNotSupported is returned by optional abilities a channel lacks.
var ErrNotSupported = errors.New("not supported by this channel")

// RetryAfterError asks the dispatcher to wait before trying again (HTTP 429).
// Global means the whole channel must wait, not just the chat.
type RetryAfterError struct {
	After  time.Duration
	Global bool
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("rate limited: retry after %s", e.After)
}

// PermanentError marks a failure that retrying cannot fix (a malformed
// request, a message the platform refuses).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// UserError is an error a handler returns to tell the customer something:
// Key names a catalogue text. It is not logged as a failure.
type UserError struct {
	Key  string
	Data map[string]any
}

func (e *UserError) Error() string { return "user error: " + e.Key }
