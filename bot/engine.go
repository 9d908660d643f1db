package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kefu-bot/kefu/bot/nlu"
	"github.com/kefu-bot/kefu/models"
)

// Classifier understands free text. *nlu.Classifier is the real one.
type Classifier interface {
	Classify(text string) nlu.Result
}

// Room is a staff destination: where ticket cards and relays go.
type Room struct {
	Channel string
	ChatID  string
}

// Options configure an Engine. DB, Writer, Router, Catalog and NLU are required.
type Options struct {
	DB      *models.DB
	Writer  *Writer
	Router  *Router
	Catalog *Catalog
	NLU     Classifier
	Log     *slog.Logger
	Metrics *Metrics
	Now     func() time.Time
	// StaffRooms get ticket cards and relayed customer messages.
	StaffRooms []Room
	// StaffLang is the language of texts for staff; DefaultLang that of
	// customers whose platform gives no locale.
	StaffLang   string
	DefaultLang string
	// MaxTextBytes caps inbound text; longer messages get a polite refusal.
	MaxTextBytes int
	// FloodPerMinute is how many messages a customer may send a minute
	// before the bot says so once and then stays quiet; 0 disables.
	FloodPerMinute int
	// Notify receives outbox rows right after their turn commits (the
	// dispatcher); rows it misses are found by the dispatcher's sweep.
	Notify func([]*models.Message)
}

// Engine runs turns: it stores each inbound message once, routes it to a
// handler and writes the replies to the outbox, all in one transaction.
type Engine struct {
	db          *models.DB
	writer      *Writer
	router      *Router
	catalog     *Catalog
	nlu         Classifier
	log         *slog.Logger
	metrics     *Metrics
	now         func() time.Time
	staffRooms  []Room
	staffLang   string
	defaultLang string
	maxText     int
	notify      func([]*models.Message)
	locks       keyedMutex
	flood       *floodGate
}

// Result tells an adapter what a turn did.
type Result struct {
	// Duplicate means the update was already handled; acknowledge it and
	// do nothing else.
	Duplicate      bool
	ConversationID uint64
	Replies        int
}

// errDuplicate rolls a redelivered update's turn back.
var errDuplicate = errors.New("duplicate update")

// New returns an Engine.
func New(o Options) (*Engine, error) {
	if o.DB == nil || o.Writer == nil || o.Router == nil || o.Catalog == nil || o.NLU == nil {
		return nil, errors.New("new engine: DB, Writer, Router, Catalog and NLU are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.StaffLang == "" {
		o.StaffLang = LangEN
	}
	if o.DefaultLang == "" {
		o.DefaultLang = LangEN
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = 4096
	}
	if o.Notify == nil {
		o.Notify = func([]*models.Message) {}
	}
	if o.Router.fallback == nil {
		return nil, errors.New("new engine: router has no fallback handler")
	}
	return &Engine{
		db: o.DB, writer: o.Writer, router: o.Router, catalog: o.Catalog, nlu: o.NLU, log: o.Log,
		metrics: o.Metrics, now: o.Now, staffRooms: o.StaffRooms, staffLang: o.StaffLang,
		defaultLang: o.DefaultLang, maxText: o.MaxTextBytes, notify: o.Notify,
		locks: keyedMutex{m: map[string]*keyedEntry{}}, flood: newFloodGate(o.FloodPerMinute),
	}, nil
}

// Router returns the engine's router (adapters read its command list).
func (e *Engine) Router() *Router { return e.router }

// Catalog returns the engine's message catalogue.
func (e *Engine) Catalog() *Catalog { return e.catalog }

// StaffRooms returns where staff notifications go.
func (e *Engine) StaffRooms() []Room { return e.staffRooms }

// Handle runs one turn and returns once it has committed. Only then may the
// adapter acknowledge the update to its platform. A redelivered update
// returns Result{Duplicate: true} and changes nothing. Turns of one
// conversation run one at a time, in the order Handle is called.
func (e *Engine) Handle(ctx context.Context, in Inbound) (Result, error) {
	start := time.Now()
	if in.Channel == "" || in.ChatID == "" || in.MessageID == "" {
		return Result{}, errors.New("handle: inbound needs channel, chat id and message id")
	}
	if in.Time.IsZero() {
		in.Time = e.now()
	}
	t := &turn{in: &in}
	in.UserName = cleanName(in.UserName)
	if len(in.Data) > maxDataBytes || !utf8.ValidString(in.Data) {
		// No keyboard of ours carries that: forged. It is answered as an
		// unknown button, and not stored at any size.
		in.Data = "invalid"
	}
	t.text, t.tooLong, t.binary = cleanText(in.Text, e.maxText)
	in.Text = t.text
	if in.Data == "" {
		t.command, t.args = parseCommand(t.text)
	}
	// Understanding is pure CPU: do it here, in parallel with other turns,
	// not inside the single writer.
	t.classified = in.Data == "" && t.command == "" && t.text != "" && !t.tooLong && !t.binary && !in.Room
	if t.classified {
		t.intent = e.nlu.Classify(t.text)
	} else {
		t.intent = nlu.Result{Intent: nlu.Unknown, Entities: map[string]string{}}
	}
	if !in.Staff {
		t.flooded, t.floodNotice = e.flood.check(in.Channel+":"+in.UserID, in.Time)
	}

	unlock := e.locks.lock(in.Channel + "\x00" + in.ChatID)
	defer unlock()
	err := e.writer.Do(ctx, func(s *models.Store) error { return e.turn(ctx, s, t) })
	if errors.Is(err, errDuplicate) {
		e.metrics.Duplicates.WithLabelValues(in.Channel).Inc()
		e.log.Debug("duplicate update dropped", "channel", in.Channel, "update", in.MessageID)
		return Result{Duplicate: true}, nil
	}
	if err != nil {
		e.log.Error("turn failed", "channel", in.Channel, "update", in.MessageID, "err", err)
		return Result{}, fmt.Errorf("handle %s update %s: %w", in.Channel, in.MessageID, err)
	}
	e.notify(t.rows)
	e.metrics.MessagesIn.WithLabelValues(in.Channel).Inc()
	e.metrics.TurnLatency.Observe(time.Since(start).Seconds())
	if t.classified {
		e.metrics.Intents.WithLabelValues(string(t.intent.Intent)).Inc()
	}
	return Result{ConversationID: t.convID, Replies: len(t.rows)}, nil
}

// turn is the state of one Handle call across the writer boundary.
type turn struct {
	in                   *Inbound
	text, command, args  string
	tooLong, binary      bool
	classified           bool
	flooded, floodNotice bool
	intent               nlu.Result
	// results, set inside the transaction
	rows   []*models.Message
	convID uint64
}

// turn runs inside the writer's transaction.
func (e *Engine) turn(ctx context.Context, s *models.Store, t *turn) error {
	in := t.in
	t.rows, t.convID = nil, 0 // a retried batch starts clean
	// Replicas on one PostgreSQL: turns of a chat run one at a time, each
	// seeing what the last one stored (a no-op on SQLite's single writer).
	if err := s.LockConversation(ctx, in.Channel, in.ChatID); err != nil {
		return err
	}
	c := &Context{In: in, Intent: t.intent, Command: t.command, Args: t.args, Now: in.Time,
		sender: sender{store: s, engine: e}}
	kind := models.KindCustomer
	if in.Room {
		kind = models.KindStaff
	}
	var custID *uint64
	c.lang = e.staffLang
	if kind == models.KindCustomer {
		lang := e.catalog.Match(in.Locale)
		if lang == "" && hasHan(t.text) {
			lang = LangZH
		}
		cust, ident, _, err := s.ResolveIdentity(ctx, models.Contact{
			Channel: in.Channel, ExternalID: in.UserID, Name: in.UserName, Language: lang, NewLanguage: e.defaultLang,
		})
		if err != nil {
			return err
		}
		c.Customer, c.Identity, custID, c.lang = cust, ident, &cust.ID, cust.Language
	}
	conv, err := s.Conversation(ctx, in.Channel, in.ChatID, kind, custID)
	if err != nil {
		return err
	}
	c.Conv = conv
	ext := in.MessageID
	msg := &models.Message{ConversationID: conv.ID, Channel: in.Channel, ChatID: in.ChatID, ExternalID: &ext,
		SenderID: in.UserID, Text: t.text, TicketID: conv.TicketID, CreatedAt: in.Time.UTC(),
		Payload: models.Payload{Attachments: in.Attachments, Command: t.command, Data: in.Data, Intent: string(t.intent.Intent),
			Thread: in.Thread, ReplyTo: in.ReplyTo}}
	inserted, err := s.InsertInbound(ctx, msg)
	if err != nil {
		return err
	}
	if !inserted {
		return errDuplicate
	}
	c.Message = msg
	attrs := []slog.Attr{slog.String("channel", in.Channel), slog.Uint64("conv", conv.ID)}
	if custID != nil {
		attrs = append(attrs, slog.Uint64("customer", *custID))
	}
	c.Log = slog.New(&turnLog{h: e.log.Handler(), attrs: attrs})

	switch {
	case t.binary && len(in.Attachments) == 0:
		c.Say("engine.unsupported")
	case t.tooLong:
		// The cap is in bytes; tell the customer how many of *their*
		// characters fit (4096 Latin letters, but only 1365 汉字).
		c.Say("engine.too_long", "Max", utf8.RuneCountInString(t.text))
	case t.flooded:
		if t.floodNotice {
			c.Say("engine.flood")
		}
		c.Log.Info("flood: message stored, not answered")
	default:
		if h := e.router.route(c); h != nil {
			e.runHandler(ctx, c, h)
		}
	}
	conv.LastActivityAt = in.Time.UTC()
	if err := s.QueueOutbound(ctx, c.rows); err != nil {
		return err
	}
	if err := s.SaveConversation(ctx, conv); err != nil {
		return err
	}
	t.rows, t.convID = c.rows, conv.ID
	return nil
}

// runHandler runs h in a savepoint. A failing handler leaves nothing behind
// but the stored message and an apology: its writes roll back, its queued
// replies and conversation changes are dropped.
func (e *Engine) runHandler(ctx context.Context, c *Context, h Handler) {
	before, queued := snapshot(c.Conv), len(c.rows)
	err := c.store.Savepoint(ctx, "handler", func() error {
		return safely(func() error { return h.Handle(ctx, c) })
	})
	if err == nil {
		return
	}
	*c.Conv = before
	c.rows = c.rows[:queued]
	var ue *UserError
	if errors.As(err, &ue) {
		c.Reply(c.engine.catalog.T(c.lang, ue.Key, ue.Data))
		return
	}
	c.Log.Error("handler failed", "command", c.Command, "intent", c.Intent.Intent, "err", err)
	c.Say("engine.error")
}

// safely turns a panic into an error so one bad turn cannot take the
// writer, and every other turn in its batch, down.
func safely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn()
}

// cleanText makes inbound text safe to store and read: valid UTF-8, no
// control characters but newline and tab, trimmed, at most max bytes.
// binary reports input that was mostly not text.
func cleanText(s string, max int) (text string, tooLong, binary bool) {
	if s == "" {
		return "", false, false
	}
	bad := 0
	var b strings.Builder
	b.Grow(min(len(s), max+8))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			bad++
		case r == '\r':
			// dropped: \r\n becomes \n
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r) || r == 0xFEFF:
			bad++
		default:
			b.WriteRune(r)
		}
	}
	text = strings.TrimSpace(b.String())
	// Binary: nothing readable is left, or a good share of it was junk. A
	// stray control character in real text is just dropped.
	binary = bad > 0 && (text == "" || bad >= 4 && bad*10 >= 3*utf8.RuneCountInString(s))
	if len(text) > max {
		tooLong = true
		cut := max
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	return text, tooLong, binary
}

// maxDataBytes caps button data: Telegram allows 64 bytes and Discord 100
// characters; kefu's own buttons stay far below.
const maxDataBytes = 256

// maxNameRunes caps a display name; platforms allow 32 (Discord) to 64
// (Telegram) characters.
const maxNameRunes = 64

// cleanName makes a platform display name safe to show staff on one line
// of a ticket card or listing: control characters and line breaks become
// spaces (a name must not forge card lines such as "Customer: … VIP"),
// other control characters and bidirectional overrides are dropped (they would reverse what follows
// them), runs of spaces collapse and the name is capped.
func cleanName(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		switch {
		case r == utf8.RuneError, r == 0x061C, r == 0x200E, r == 0x200F,
			r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0xFEFF:
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r):
			continue
		}
		if n == maxNameRunes {
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// parseCommand splits "/reply@kefu_bot T-1001 hi" into ("reply", "T-1001 hi").
func parseCommand(text string) (cmd, args string) {
	if len(text) < 2 || text[0] != '/' {
		return "", ""
	}
	word, rest, _ := strings.Cut(text[1:], " ")
	if nl := strings.IndexByte(word, '\n'); nl >= 0 {
		word, rest = word[:nl], word[nl+1:]+" "+rest
	}
	word, _, _ = strings.Cut(word, "@")
	word = strings.ToLower(word)
	for _, r := range word {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return "", "" // "/ 你好" or "/path/to" is text, not a command
		}
	}
	if word == "" {
		return "", ""
	}
	return word, strings.TrimSpace(rest)
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// turnLog adds a turn's attributes to the records it logs. Unlike
// Logger.With, which formats them at once, it costs nothing for the turns
// that log nothing — nearly all of them.
type turnLog struct {
	h     slog.Handler
	attrs []slog.Attr
}

func (l *turnLog) Enabled(ctx context.Context, level slog.Level) bool { return l.h.Enabled(ctx, level) }

func (l *turnLog) Handle(ctx context.Context, r slog.Record) error {
	// The turn's attributes first, as With would put them.
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(l.attrs...)
	r.Attrs(func(a slog.Attr) bool { out.AddAttrs(a); return true })
	return l.h.Handle(ctx, out)
}

func (l *turnLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &turnLog{h: l.h, attrs: append(slices.Clip(l.attrs), attrs...)}
}

func (l *turnLog) WithGroup(name string) slog.Handler {
	return l.h.WithAttrs(l.attrs).WithGroup(name)
}

// keyedMutex serialises turns of one conversation while others run.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	e, ok := k.m[key]
	if !ok {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// floodGate counts each sender's messages in a sliding minute. Past the
// limit a sender gets one notice; messages are still stored.
type floodGate struct {
	limit int
	mu    sync.Mutex
	seen  map[string]*floodState
	swept time.Time
}

type floodState struct {
	times    []time.Time
	notified bool
}

func newFloodGate(perMinute int) *floodGate {
	return &floodGate{limit: perMinute, seen: map[string]*floodState{}}
}

// check records a message at now and reports whether the sender is over
// the limit, and whether this is the first message over it.
func (f *floodGate) check(key string, now time.Time) (flooded, notice bool) {
	if f.limit <= 0 {
		return false, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.swept) > time.Minute {
		for k, st := range f.seen {
			if len(st.times) == 0 || now.Sub(st.times[len(st.times)-1]) > time.Minute {
				delete(f.seen, k)
			}
		}
		f.swept = now
	}
	st := f.seen[key]
	if st == nil {
		st = &floodState{}
		f.seen[key] = st
	}
	cut := 0
	for cut < len(st.times) && now.Sub(st.times[cut]) >= time.Minute {
		cut++
	}
	st.times = append(st.times[cut:], now)
	if len(st.times) <= f.limit {
		st.notified = false
		return false, false
	}
	if len(st.times) > 2*f.limit { // bound memory for a sender who never stops
		st.times = st.times[len(st.times)-2*f.limit:]
	}
	notice = !st.notified
	st.notified = true
	return true, notice
}
