package discord

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// Gateway events arrive in order on one goroutine (SyncEvents). The
// handlers below only queue work: one queue per Discord channel, drained
// by its own goroutine, so a channel's messages become turns in the order
// they were written while channels proceed in parallel, and the gateway
// is never held up by a turn.

// queue is the pending work of one Discord channel.
type queue struct {
	items   []func(context.Context)
	running bool
}

// enqueue adds f to the queue of channel key and starts its drainer.
func (a *Adapter) enqueue(key string, f func(context.Context)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := a.queues[key]
	if q == nil {
		q = &queue{}
		a.queues[key] = q
	}
	q.items = append(q.items, f)
	if q.running {
		return
	}
	q.running = true
	a.wg.Add(1)
	go a.drain(a.ctx, key, q)
}

func (a *Adapter) drain(ctx context.Context, key string, q *queue) {
	defer a.wg.Done()
	for {
		a.mu.Lock()
		if len(q.items) == 0 || ctx.Err() != nil {
			// On shutdown the rest is dropped: nothing of it was
			// acknowledged, and the cursors make the next start fetch it.
			q.running = false
			delete(a.queues, key)
			a.mu.Unlock()
			return
		}
		f := q.items[0]
		q.items = q.items[1:]
		a.mu.Unlock()
		f(ctx)
	}
}

func (a *Adapter) onReady(*discordgo.Session, *discordgo.Ready) {
	a.mu.Lock()
	a.sessions++
	n := a.sessions
	a.mu.Unlock()
	a.log.Info("discord session ready; catching up on missed messages", "session", n)
	a.reloadCursors()
	a.catchUpAll()
}

func (a *Adapter) onResumed(*discordgo.Session, *discordgo.Resumed) {
	a.log.Info("discord session resumed; Discord replays what it missed")
}

func (a *Adapter) onThreadCreate(_ *discordgo.Session, t *discordgo.ThreadCreate) {
	if t.Channel != nil {
		a.mu.Lock()
		a.parents[t.ID] = t.ParentID
		a.mu.Unlock()
	}
}

func (a *Adapter) onGuildCreate(_ *discordgo.Session, g *discordgo.GuildCreate) {
	if g.Guild == nil {
		return
	}
	a.mu.Lock()
	for _, t := range g.Threads {
		a.parents[t.ID] = t.ParentID
	}
	a.mu.Unlock()
}

func (a *Adapter) onMessage(_ *discordgo.Session, m *discordgo.MessageCreate) {
	if m.Message == nil || m.Author == nil {
		return
	}
	if m.GuildID == "" {
		a.mu.Lock()
		a.parents[m.ChannelID] = dmParent
		a.mu.Unlock()
	} else if a.o.GuildID != "" && m.GuildID != a.o.GuildID {
		return
	}
	msg := m.Message
	a.enqueue(m.ChannelID, func(ctx context.Context) { a.handleMessage(ctx, msg) })
}

// dmParent marks a direct-message channel in the parents cache.
const dmParent = "@dm"

// handleMessage turns one Discord message into a turn and, once it
// committed, moves the channel's cursor past it. It reports false when
// ctx ended first (the cursor then stays, and a catch-up fetches it).
func (a *Adapter) handleMessage(ctx context.Context, m *discordgo.Message) bool {
	if m.Author == nil || m.Author.ID == a.selfID || m.Author.Bot ||
		(m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply) {
		// Not a turn (kefu's own messages, other bots, system messages):
		// move a cursor past it, but start none, so channels kefu does not
		// serve are never fetched.
		a.mu.Lock()
		_, followed := a.cursors[m.ChannelID]
		a.mu.Unlock()
		if followed {
			a.advance(m.ChannelID, m.ID)
		}
		return true
	}
	in, ok := a.messageInbound(ctx, m)
	if !ok {
		return true // a channel kefu does not serve: no cursor either
	}
	if strings.TrimSpace(in.Text) == "" && len(in.Attachments) == 0 {
		// A sticker, an embed only — or, in a guild, the Message Content
		// intent is off and Discord blanked the text. Nothing to answer.
		if m.GuildID != "" && !a.warnedContent.Swap(true) {
			a.log.Warn("discord: a guild message arrived without text; is the Message Content intent enabled for the bot? (Developer Portal → Bot → Privileged Gateway Intents)")
		}
		a.advance(m.ChannelID, m.ID)
		return true
	}
	if _, ok := a.handle(ctx, in); !ok {
		return false
	}
	a.advance(m.ChannelID, m.ID)
	return true
}

// handle runs a turn, retrying with backoff while the engine fails (the
// database is locked or full): the channel's later messages wait, so order
// is kept. It gives up only when ctx ends.
func (a *Adapter) handle(ctx context.Context, in bot.Inbound) (bot.Result, bool) {
	var wait time.Duration
	for {
		res, err := a.engine.Handle(ctx, in)
		if err == nil {
			return res, true
		}
		if ctx.Err() != nil {
			return res, false
		}
		if wait == 0 {
			wait = a.errorMin
		} else {
			wait = min(2*wait, a.errorMax)
		}
		a.log.Error("discord: handling a message failed; retrying", "chat", in.ChatID, "message", in.MessageID, "retry_in", wait, "err", err)
		if !sleep(ctx, wait) {
			return res, false
		}
	}
}

// place says where a Discord channel sits for kefu: chat is the
// conversation's chat id (a DM channel, or the staff channel for its
// threads), thread the ticket thread, room and customer whether it is the
// staff room or a customer's chat. ok is false for channels kefu ignores.
type place struct {
	chat, thread string
	room, ok     bool
	viaSupport   bool // written in the public support channel; answered in DM
}

// placeOf classifies a channel. Direct-message channels are known from
// their live events (no guild id) or looked up: messages fetched over REST
// carry no guild id.
// A lookup that fails for now (network, 5xx, 429) is retried with
// backoff until ctx ends — ok false then — so no message is dropped for a
// passing fault; a channel or user Discord refuses (403, 404) is ignored.
func (a *Adapter) placeOf(ctx context.Context, channelID, userID string) place {
	var wait time.Duration
	for {
		p, err := a.tryPlace(ctx, channelID, userID)
		if err == nil {
			return p
		}
		var pe *bot.PermanentError
		if errors.Is(err, bot.ErrUnreachable) || errors.As(err, &pe) || ctx.Err() != nil {
			a.log.Warn("discord: ignoring a message kefu cannot place", "discord_channel", channelID, "err", err)
			return place{}
		}
		wait = a.backoff(err, wait)
		a.log.Warn("discord: cannot look up a channel; retrying", "discord_channel", channelID, "retry_in", wait, "err", err)
		if !sleep(ctx, wait) {
			return place{}
		}
	}
}

func (a *Adapter) tryPlace(ctx context.Context, channelID, userID string) (place, error) {
	switch {
	case channelID == a.o.StaffChannelID && channelID != "":
		return place{chat: channelID, room: true, ok: true}, nil
	case channelID == a.o.SupportChannelID && channelID != "":
		dm, err := a.dmChannel(ctx, userID)
		if err != nil {
			return place{}, err
		}
		return place{chat: dm, ok: true, viaSupport: true}, nil
	}
	parent, err := a.parentOf(ctx, channelID)
	if err != nil {
		return place{}, err
	}
	switch {
	case parent == dmParent:
		return place{chat: channelID, ok: true}, nil
	case parent != "" && parent == a.o.StaffChannelID:
		return place{chat: parent, thread: channelID, room: true, ok: true}, nil
	}
	return place{}, nil
}

// parentOf returns a channel's parent (for threads), dmParent for direct
// messages, "" for other channels. Unknown channels are looked up once.
func (a *Adapter) parentOf(ctx context.Context, id string) (string, error) {
	a.mu.Lock()
	p, ok := a.parents[id]
	a.mu.Unlock()
	if ok {
		return p, nil
	}
	ch, err := a.s.Channel(id, discordgo.WithContext(ctx))
	if err != nil {
		return "", a.mapError("get channel", err)
	}
	switch {
	case ch.Type == discordgo.ChannelTypeDM:
		p = dmParent
	case ch.IsThread():
		p = ch.ParentID
	}
	a.mu.Lock()
	a.parents[id] = p
	a.mu.Unlock()
	return p, nil
}

// dmChannel opens (or recalls) the direct-message channel with a user.
func (a *Adapter) dmChannel(ctx context.Context, userID string) (string, error) {
	a.mu.Lock()
	id, ok := a.dms[userID]
	a.mu.Unlock()
	if ok {
		return id, nil
	}
	ch, err := a.s.UserChannelCreate(userID, discordgo.WithContext(ctx))
	if err != nil {
		return "", a.mapError("open DM", err)
	}
	a.mu.Lock()
	a.dms[userID] = ch.ID
	a.parents[ch.ID] = dmParent
	a.mu.Unlock()
	return ch.ID, nil
}

// messageInbound turns a message into a bot.Inbound; ok is false for
// messages outside the channels kefu serves.
func (a *Adapter) messageInbound(ctx context.Context, m *discordgo.Message) (bot.Inbound, bool) {
	p := a.placeOf(ctx, m.ChannelID, m.Author.ID)
	if !p.ok {
		return bot.Inbound{}, false
	}
	in := bot.Inbound{Channel: Name, ChatID: p.chat, Thread: p.thread, Room: p.room, MessageID: m.ID,
		UserID: m.Author.ID, UserName: displayName(m.Author), Text: m.Content, Time: m.Timestamp}
	if in.Time.IsZero() {
		in.Time, _ = discordgo.SnowflakeTimestamp(m.ID)
	}
	if p.room {
		in.Staff = a.isStaff(ctx, m.Member, m.Author.ID)
	}
	if r := m.MessageReference; r != nil && m.Type == discordgo.MessageTypeReply && r.MessageID != p.thread {
		in.ReplyTo = r.MessageID
	}
	for _, at := range m.Attachments {
		if at == nil {
			continue
		}
		kind := "document"
		switch {
		case strings.HasPrefix(at.ContentType, "image/"):
			kind = "photo"
		case strings.HasPrefix(at.ContentType, "video/"):
			kind = "video"
		case strings.HasPrefix(at.ContentType, "audio/"):
			kind = "audio"
		}
		in.Attachments = append(in.Attachments, models.Attachment{Kind: kind, FileID: at.ID, Name: at.Filename,
			MIME: at.ContentType, Size: int64(at.Size), URL: at.URL})
	}
	return in, true
}

func displayName(u *discordgo.User) string {
	if u.GlobalName != "" {
		return u.GlobalName
	}
	return u.Username
}

// isStaff reports whether a guild member has the staff role. Messages
// fetched over REST carry no member: the member is looked up (and cached
// for a few minutes).
func (a *Adapter) isStaff(ctx context.Context, m *discordgo.Member, userID string) bool {
	if a.o.StaffRoleID == "" {
		return false
	}
	if m != nil && m.Roles != nil {
		return slices.Contains(m.Roles, a.o.StaffRoleID)
	}
	if a.o.GuildID == "" {
		return false
	}
	a.mu.Lock()
	c, ok := a.roles[userID]
	a.mu.Unlock()
	if ok && time.Since(c.at) < roleTTL {
		return c.staff
	}
	mem, err := a.s.GuildMember(a.o.GuildID, userID, discordgo.WithContext(ctx))
	if err != nil {
		a.log.Warn("discord: cannot look up a member's roles; treating as not staff", "user", userID, "err", a.mapError("get member", err))
		return false
	}
	staff := slices.Contains(mem.Roles, a.o.StaffRoleID)
	a.mu.Lock()
	a.roles[userID] = roleCache{staff: staff, at: time.Now()}
	a.mu.Unlock()
	return staff
}

const roleTTL = 5 * time.Minute

type roleCache struct {
	staff bool
	at    time.Time
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff is the wait before trying again after err, the last wait being
// wait: what Discord asked for on a 429, else doubling from errorMin up
// to errorMax.
func (a *Adapter) backoff(err error, wait time.Duration) time.Duration {
	var ra *bot.RetryAfterError
	switch {
	case errors.As(err, &ra):
		return ra.After
	case wait == 0:
		return a.errorMin
	default:
		return min(2*wait, a.errorMax)
	}
}
