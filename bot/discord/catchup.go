package discord

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// Catch-up. While the gateway is down nothing arrives; a resumed session
// replays what it missed, but a session Discord invalidated (or a kefu
// that was stopped) does not. So after every READY (a new session) the adapter
// asks, for each channel it holds a cursor for (direct messages, ticket
// threads, the staff and support channels), for the messages after the
// last one whose turn committed, oldest first, and hands them to the
// engine like live ones. The engine drops the ones it already stored
// (Inbound.MessageID is the Discord message id), so every message is
// handled once whichever path brings it.
//
// The catch-up of a channel is queued in that channel's queue, ahead of
// any live message that arrives after the new session started, so order
// within a channel is kept. Discord offers no way to list DM channels with
// new messages: a customer whose very first message falls into an outage
// that Discord did not replay is missed; everyone kefu has talked to within
// CatchUpWindow is not.

// catchUpPage is Discord's maximum page size for channel messages.
const catchUpPage = 100

func (a *Adapter) catchUpAll() {
	a.mu.Lock()
	var chans []string
	for ch := range a.cursors {
		if !a.catching[ch] {
			a.catching[ch] = true
			chans = append(chans, ch)
		}
	}
	a.mu.Unlock()
	for _, ch := range chans {
		a.enqueue(ch, func(ctx context.Context) { a.catchUp(ctx, ch) })
	}
}

// catchUp fetches and handles a channel's messages after its cursor.
func (a *Adapter) catchUp(ctx context.Context, ch string) {
	a.mu.Lock()
	delete(a.catching, ch)
	after := a.cursors[ch]
	a.mu.Unlock()
	if after == "" {
		return
	}
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-a.sem }()
	if !a.receivesHere(ctx, ch) {
		return // another shard's channel: that shard catches it up
	}
	handled := 0
	var wait time.Duration
	for ctx.Err() == nil {
		msgs, err := a.s.ChannelMessages(ch, catchUpPage, "", after, "", discordgo.WithContext(ctx))
		if err != nil {
			err = a.mapError("catch up", err)
			switch {
			case errors.Is(err, bot.ErrUnreachable):
				// The channel is gone or closed to the bot: stop following it.
				a.log.Info("discord: channel no longer readable; dropping its cursor", "discord_channel", ch, "err", err)
				a.mu.Lock()
				delete(a.cursors, ch)
				delete(a.movedAt, ch)
				a.mu.Unlock()
				return
			default:
				wait = a.backoff(err, wait)
			}
			a.log.Warn("discord: catch-up fetch failed; retrying", "discord_channel", ch, "retry_in", wait, "err", err)
			if !sleep(ctx, wait) {
				return
			}
			continue
		}
		wait = 0
		// Discord pages newest first; turns must go oldest first.
		slices.SortFunc(msgs, func(x, y *discordgo.Message) int { return compareIDs(x.ID, y.ID) })
		for _, m := range msgs {
			if !later(m.ID, after) {
				continue
			}
			if m.ChannelID == "" {
				m.ChannelID = ch
			}
			if !a.handleMessage(ctx, m) {
				return
			}
			after = m.ID
			handled++
		}
		if len(msgs) < catchUpPage {
			break
		}
	}
	if handled > 0 {
		a.log.Info("discord: caught up on missed messages", "discord_channel", ch, "messages", handled)
	}
}

// advance moves a channel's cursor forward to id.
func (a *Adapter) advance(ch, id string) {
	if ch == "" || id == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if later(id, a.cursors[ch]) {
		a.cursors[ch] = id
		a.dirty[ch] = id
		a.movedAt[ch] = time.Now()
	}
}

// compareIDs orders snowflakes numerically (they are decimal strings of
// growing length).
func compareIDs(x, y string) int {
	if len(x) != len(y) {
		if len(x) < len(y) {
			return -1
		}
		return 1
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// later reports whether snowflake x comes after y ("" is before all).
func later(x, y string) bool { return compareIDs(x, y) > 0 }

// StoreCursors keeps the cursors in the database (models.Cursor), written
// through the engine's writer so they join its group commits.
type StoreCursors struct {
	DB     *models.DB
	Writer *bot.Writer
}

// LoadCursors reads the Discord cursors updated since the given time.
func (c StoreCursors) LoadCursors(ctx context.Context, since time.Time) (map[string]string, error) {
	return c.DB.Read().Cursors(ctx, Name, since)
}

// SaveCursors moves the given cursors forward.
func (c StoreCursors) SaveCursors(ctx context.Context, ids map[string]string) error {
	return c.Writer.Do(ctx, func(s *models.Store) error { return s.AdvanceCursors(ctx, Name, ids) })
}
