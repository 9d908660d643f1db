package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// Name is the channel's name in bot.Inbound.Channel and bot.Room.
const Name = models.ChannelDiscord

// Intents are the gateway intents kefu asks for, and no others: guilds
// (channel and thread metadata), guild messages (the staff channel, its
// threads and the support channel), direct messages, and message content
// (privileged: without it Discord blanks the text of guild messages that do
// not mention the bot, so staff could not answer in threads).
const Intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages |
	discordgo.IntentsDirectMessages | discordgo.IntentsMessageContent

// Discord's limits.
const (
	maxText        = 2000 // characters per message
	maxCustomID    = 100  // bytes of a component's custom_id
	maxLabel       = 80   // characters of a button label
	maxRowButtons  = 5    // buttons per action row
	maxRows        = 5    // action rows per message
	maxDescription = 100  // characters of a slash command description
)

// closeAuthFailed is the gateway's close code for a token it refuses.
const closeAuthFailed = 4004

// Engine is what the adapter needs of bot.Engine.
type Engine interface {
	Handle(ctx context.Context, in bot.Inbound) (bot.Result, error)
}

// Cursors keep, per Discord channel (a DM, a ticket thread), the id of the
// last message whose turn committed, so that after a lost gateway session
// the adapter fetches what it missed. StoreCursors is the database one.
type Cursors interface {
	// LoadCursors returns the cursors updated since the given time.
	LoadCursors(ctx context.Context, since time.Time) (map[string]string, error)
	// SaveCursors moves the given cursors forward (never back).
	SaveCursors(ctx context.Context, ids map[string]string) error
}

// Options configure an Adapter. Token is required.
type Options struct {
	Token string
	// APIBase replaces https://discord.com for every REST call (same
	// paths); the gateway URL is whatever that base answers. Empty means
	// Discord's.
	APIBase string
	// GuildID is the server kefu serves; StaffChannelID the channel where
	// ticket cards go (each ticket gets a thread on its card) and staff
	// work; members with StaffRoleID are staff. SupportChannelID, if set,
	// is a public channel customers may write in: kefu answers them in
	// direct messages.
	GuildID, StaffChannelID, StaffRoleID, SupportChannelID string
	// ShardID of ShardCount is the gateway shard this adapter opens (see
	// shard.go); more than one shard needs GuildID.
	ShardID, ShardCount int
	// Cursors persist the catch-up cursors; nil keeps them in memory only
	// (a restart then catches up nothing).
	Cursors Cursors
	// CatchUpWindow bounds catch-up to channels active this recently
	// (default 30 days); CatchUpParallel is how many channels are fetched
	// at once (default 4).
	CatchUpWindow   time.Duration
	CatchUpParallel int
	// Client is the HTTP client (tests); default one with a 20s timeout.
	Client *http.Client
	Log    *slog.Logger
	// Commands and Catalog feed RegisterCommands (slash commands with
	// English and Simplified Chinese descriptions).
	Commands []bot.CommandInfo
	Catalog  *bot.Catalog
}

// Adapter is the Discord channel: a gateway session whose messages and
// interactions become engine turns, and REST calls that deliver the
// dispatcher's messages.
type Adapter struct {
	s       *discordgo.Session
	o       Options
	log     *slog.Logger
	selfID  string
	appID   string
	catalog *bot.Catalog

	// Backoff of a failing turn; variables so tests can shorten them.
	errorMin, errorMax time.Duration
	flushEvery         time.Duration
	pendingGrace       time.Duration // see handleInteraction

	mu       sync.Mutex
	engine   Engine
	ctx      context.Context // Run's context, for event handlers
	queues   map[string]*queue
	parents  map[string]string    // channel id → parent channel id ("" none)
	dms      map[string]string    // user id → DM channel id
	cursors  map[string]string    // channel id → last committed message id
	movedAt  map[string]time.Time // when a cursor last moved (to forget idle channels)
	dirty    map[string]string    // cursors not yet saved
	pending  map[string]*pendingReply
	catching map[string]bool   // channels with a catch-up queued
	cards    map[uint64]string // outbox id → posted card, while its thread is missing
	roles    map[string]roleCache
	wg       sync.WaitGroup
	sem      chan struct{}
	sessions int // READY events seen

	guildShard int // the shard that receives the guild's events

	warnedContent atomic.Bool // the Message Content hint was logged
}

var (
	_ bot.Channel     = (*Adapter)(nil)
	_ bot.Threader    = (*Adapter)(nil)
	_ bot.RateLimited = (*Adapter)(nil)
)

// New checks the token (GET /users/@me, then /gateway/bot) and returns an
// Adapter ready to Run. A rejected token is one clear error; the token
// never appears in errors or logs.
func New(ctx context.Context, o Options) (*Adapter, error) {
	if strings.TrimSpace(o.Token) == "" {
		return nil, errors.New("discord: no bot token configured")
	}
	if o.APIBase == "" {
		o.APIBase = "https://discord.com"
	}
	if o.ShardCount <= 0 {
		o.ShardCount = 1
	}
	if o.ShardID < 0 || o.ShardID >= o.ShardCount {
		return nil, fmt.Errorf("discord: shard id %d is not in 0..%d", o.ShardID, o.ShardCount-1)
	}
	gs, err := guildShard(o.GuildID, o.ShardCount)
	if err != nil {
		return nil, err
	}
	if o.CatchUpWindow <= 0 {
		o.CatchUpWindow = 30 * 24 * time.Hour
	}
	if o.CatchUpParallel <= 0 {
		o.CatchUpParallel = 4
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	rt, err := newRebase(o.APIBase, client.Transport)
	if err != nil {
		return nil, err
	}
	c := *client
	c.Transport = rt

	s, err := discordgo.New("Bot " + o.Token)
	if err != nil {
		return nil, fmt.Errorf("discord: new session: %w", err)
	}
	s.Client = &c
	s.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 15 * time.Second}
	s.Identify.Intents = Intents
	s.ShardID, s.ShardCount = o.ShardID, o.ShardCount
	// Rate limits: discordgo waits out the buckets Discord announces; a 429
	// anyway comes back to the dispatcher as bot.RetryAfterError instead of
	// being retried here, and a 502 is retried once.
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 1
	// Events are read in order and queued per channel by the handlers,
	// which must not block (see enqueue).
	s.SyncEvents = true
	s.StateEnabled = false
	s.LogLevel = discordgo.LogError

	a := &Adapter{s: s, o: o, log: o.Log.With("channel", Name), catalog: o.Catalog,
		errorMin: time.Second, errorMax: 30 * time.Second, flushEvery: 5 * time.Second, pendingGrace: 30 * time.Second,
		queues: map[string]*queue{}, parents: map[string]string{}, dms: map[string]string{},
		cursors: map[string]string{}, movedAt: map[string]time.Time{}, dirty: map[string]string{}, pending: map[string]*pendingReply{},
		catching: map[string]bool{}, cards: map[uint64]string{}, roles: map[string]roleCache{}, sem: make(chan struct{}, o.CatchUpParallel),
		guildShard: gs}
	if o.StaffChannelID != "" {
		a.parents[o.StaffChannelID] = ""
	}

	me, err := s.User("@me", discordgo.WithContext(ctx))
	if err != nil {
		if isStatus(err, http.StatusUnauthorized) {
			return nil, errors.New("discord: the bot token was rejected (401 Unauthorized)")
		}
		return nil, fmt.Errorf("discord: get bot user: %w", a.scrub(err))
	}
	a.selfID, a.appID = me.ID, me.ID
	gw, err := s.GatewayBot(discordgo.WithContext(ctx))
	if err != nil {
		if isStatus(err, http.StatusUnauthorized) {
			return nil, errors.New("discord: the bot token was rejected (401 Unauthorized)")
		}
		return nil, fmt.Errorf("discord: get gateway: %w", a.scrub(err))
	}
	if o.Cursors != nil {
		saved, err := o.Cursors.LoadCursors(ctx, time.Now().Add(-o.CatchUpWindow))
		if err != nil {
			return nil, fmt.Errorf("discord: load cursors: %w", err)
		}
		a.cursors = saved
		for ch := range saved {
			a.movedAt[ch] = time.Now()
		}
	}
	a.log.Info("discord bot connected", "username", me.Username, "id", me.ID, "gateway", gw.URL, "shards", gw.Shards)
	a.logShard()
	return a, nil
}

// Name is "discord".
func (a *Adapter) Name() string { return Name }

// StaffRoom is the staff channel as a bot.Room.
func (a *Adapter) StaffRoom() bot.Room { return bot.Room{Channel: Name, ChatID: a.o.StaffChannelID} }

// ChatLimit keeps within Discord's 5 messages per 5 seconds in a channel:
// a burst of 4, then one a second (discordgo also waits out the buckets
// Discord announces in its headers).
func (a *Adapter) ChatLimit(string) bot.Limit { return bot.Limit{PerSecond: 1, Burst: 4} }

// GlobalLimit keeps under Discord's 50 requests a second per bot.
func (a *Adapter) GlobalLimit() bot.Limit { return bot.Limit{PerSecond: 40, Burst: 5} }

// Run opens the gateway and hands every message and interaction to e until
// ctx ends; then it closes the session, waits for turns in progress and
// saves the cursors. discordgo reconnects by itself (resuming when it
// can); each new session (READY) triggers a catch-up of the messages the
// gateway did not deliver. A resumed session needs none: Discord replays
// what it missed, and resumes are routine (Discord asks for reconnects),
// so fetching every followed channel each time would only spend the rate
// limit.
func (a *Adapter) Run(ctx context.Context, e Engine) error {
	a.mu.Lock()
	a.engine, a.ctx = e, ctx
	a.mu.Unlock()
	remove := []func(){
		a.s.AddHandler(a.onReady),
		a.s.AddHandler(a.onResumed),
		a.s.AddHandler(a.onMessage),
		a.s.AddHandler(a.onInteraction),
		a.s.AddHandler(a.onThreadCreate),
		a.s.AddHandler(a.onGuildCreate),
	}
	if err := a.s.Open(); err != nil {
		for _, r := range remove {
			r()
		}
		var ce *websocket.CloseError
		if isStatus(err, http.StatusUnauthorized) || errors.As(err, &ce) && ce.Code == closeAuthFailed {
			return errors.New("discord: the bot token was rejected (401 Unauthorized)")
		}
		return fmt.Errorf("discord: open gateway: %w", a.scrub(err))
	}
	a.log.Info("discord gateway open", "intents", int(Intents))
	t := time.NewTicker(a.flushEvery)
	defer t.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-t.C:
			a.flush(context.WithoutCancel(ctx))
		}
	}
	// No new work from here on; what is queued stops at the next turn
	// boundary (ctx is done) and is fetched again by the next start.
	for _, r := range remove {
		r()
	}
	if err := a.s.Close(); err != nil {
		a.log.Warn("discord: close gateway", "err", a.scrub(err))
	}
	a.wg.Wait()
	a.flush(context.WithoutCancel(ctx))
	return nil
}

// flush saves the cursors that moved since the last flush. A cursor saved
// late only means a catch-up fetches a few messages the engine then drops.
func (a *Adapter) flush(ctx context.Context) {
	a.mu.Lock()
	dirty := a.dirty
	a.dirty = map[string]string{}
	// Channels idle longer than the catch-up window are no longer followed,
	// so memory stays bounded by recent activity.
	for ch, at := range a.movedAt {
		if time.Since(at) > a.o.CatchUpWindow {
			delete(a.cursors, ch)
			delete(a.movedAt, ch)
		}
	}
	a.mu.Unlock()
	if len(dirty) == 0 || a.o.Cursors == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.o.Cursors.SaveCursors(ctx, dirty); err != nil {
		a.log.Warn("discord: save cursors; will retry", "err", err)
		a.mu.Lock()
		for k, v := range dirty {
			if later(v, a.dirty[k]) {
				a.dirty[k] = v
			}
		}
		a.mu.Unlock()
	}
}

// RegisterCommands publishes the customer commands as global slash
// commands (so they work in direct messages), each with an optional text
// argument, described in English with Simplified Chinese localisations.
func (a *Adapter) RegisterCommands(ctx context.Context) error {
	var cmds []*discordgo.ApplicationCommand
	seen := map[string]bool{}
	for _, c := range a.o.Commands {
		name := strings.ToLower(strings.TrimPrefix(c.Name, "/"))
		if name == "" || len(name) > 32 || seen[name] {
			continue
		}
		seen[name] = true
		en, zh := a.text(bot.LangEN, c.Help), a.text(bot.LangZH, c.Help)
		argEN, argZH := a.text(bot.LangEN, "discord.option_text"), a.text(bot.LangZH, "discord.option_text")
		dm := true
		cmds = append(cmds, &discordgo.ApplicationCommand{
			Name: name, Description: clip(en, maxDescription),
			DescriptionLocalizations: &map[discordgo.Locale]string{discordgo.ChineseCN: clip(zh, maxDescription)},
			DMPermission:             &dm,
			Options: []*discordgo.ApplicationCommandOption{{
				Type: discordgo.ApplicationCommandOptionString, Name: "text", Description: clip(argEN, maxDescription),
				DescriptionLocalizations: map[discordgo.Locale]string{discordgo.ChineseCN: clip(argZH, maxDescription)},
			}},
		})
	}
	if _, err := a.s.ApplicationCommandBulkOverwrite(a.appID, "", cmds, discordgo.WithContext(ctx)); err != nil {
		return a.mapError("register commands", err)
	}
	return nil
}

func (a *Adapter) text(lang, id string) string {
	if a.catalog == nil {
		return id
	}
	return a.catalog.T(lang, id, nil)
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// scrubbedError hides the token in an error's text.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func (a *Adapter) scrub(err error) error {
	if err == nil || a.o.Token == "" || !strings.Contains(err.Error(), a.o.Token) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), a.o.Token, "<token>"), err: err}
}

// isStatus reports whether err is a REST error with that HTTP status.
func isStatus(err error, status int) bool {
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == status
}

// mapError classifies a REST failure for the dispatcher: 429 waits the
// time Discord asked, 403 and 404 on a channel are unreachable (the user
// left, blocks DMs, the channel is gone), other 4xx are permanent, the
// rest (5xx, network) is retried.
func (a *Adapter) mapError(op string, err error) error {
	if err == nil {
		return nil
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		after := rl.RetryAfter
		if after <= 0 {
			after = time.Second
		}
		// discordgo does not pass Discord's "global" flag on; the global
		// limit is kept by GlobalLimit and discordgo's own global bucket.
		return &bot.RetryAfterError{After: after}
	}
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response == nil {
		return fmt.Errorf("discord %s: %w", op, a.scrub(err))
	}
	msg := ""
	if re.Message != nil {
		msg = re.Message.Message
	}
	switch code := re.Response.StatusCode; {
	case code == http.StatusForbidden || code == http.StatusNotFound:
		return fmt.Errorf("%w: discord %s: %d %s", bot.ErrUnreachable, op, code, msg)
	case code >= 400 && code < 500:
		return &bot.PermanentError{Err: fmt.Errorf("discord %s: %d %s", op, code, msg)}
	}
	return fmt.Errorf("discord %s: %d %s", op, re.Response.StatusCode, msg)
}
