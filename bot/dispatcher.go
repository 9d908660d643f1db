package bot

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/kefu-bot/kefu/models"
)

// DispatcherOptions configure a Dispatcher.
type DispatcherOptions struct {
	DB      *models.DB
	Writer  *Writer
	Log     *slog.Logger
	Metrics *Metrics
	Now     func() time.Time
	// Workers is how many sends may be in flight per channel.
	Workers        int
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// ChatLimit and GlobalLimit apply to channels that do not implement
	// RateLimited.
	ChatLimit   Limit
	GlobalLimit Limit
	// SweepInterval is how often pending rows are re-read from the
	// database (rows written by another process, or missed).
	SweepInterval time.Duration
	// MaxQueued bounds the rows held in memory per channel; the rest wait
	// in the database.
	MaxQueued int
	// SendTimeout bounds one Send call.
	SendTimeout time.Duration
	// Replica, when set, is this process's name among several sharing one
	// PostgreSQL database: the dispatcher then sends only rows it leased
	// (models.Store.ClaimOutbound), renews its leases three times a Lease
	// and hands them back at shutdown. Lease is how long a lease lasts
	// unrenewed: how soon another replica resends what a dead one held.
	Replica string
	Lease   time.Duration
	// ClaimBatch bounds the rows a replica leases at a time (default
	// 1000).
	ClaimBatch int
}

// Dispatcher delivers the outbox: it sends pending rows through their
// channel in order per chat, under per-chat and global rate limits,
// retries transient errors with backoff and records the outcome of each
// row. It resumes pending rows after a restart.
type Dispatcher struct {
	o     DispatcherOptions
	mu    sync.Mutex
	lanes map[string]*lane
}

// NewDispatcher returns a Dispatcher; add channels, then Run it.
func NewDispatcher(o DispatcherOptions) *Dispatcher {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.InitialBackoff <= 0 {
		o.InitialBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.ChatLimit.PerSecond <= 0 {
		o.ChatLimit = Limit{PerSecond: 1, Burst: 3}
	}
	if o.GlobalLimit.PerSecond <= 0 {
		o.GlobalLimit = Limit{PerSecond: 30, Burst: 30}
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = 5 * time.Second
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 10000
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.ClaimBatch <= 0 {
		o.ClaimBatch = 1000
	}
	if o.Lease <= 0 {
		o.Lease = max(30*time.Second, 6*o.SweepInterval)
	}
	return &Dispatcher{o: o, lanes: map[string]*lane{}}
}

// AddChannel makes the dispatcher deliver rows of ch. If onlyChat is set,
// only that chat's rows are delivered (a terminal chat shares the database
// with other processes and must not print their messages).
func (d *Dispatcher) AddChannel(ch Channel, onlyChat string) {
	chat, global := d.o.ChatLimit, d.o.GlobalLimit
	if rl, ok := ch.(RateLimited); ok {
		global = rl.GlobalLimit()
	}
	l := &lane{
		d: d, ch: ch, name: ch.Name(), onlyChat: onlyChat,
		global: rate.NewLimiter(rate.Limit(global.PerSecond), max(1, global.Burst)),
		chatLimit: func(chatID string) Limit {
			if rl, ok := ch.(RateLimited); ok {
				return rl.ChatLimit(chatID)
			}
			return chat
		},
		chats: map[string]*chatQueue{}, limiters: map[string]*rate.Limiter{}, known: map[uint64]bool{}, finished: map[uint64]settled{},
		wake: make(chan struct{}, 1), sem: make(chan struct{}, d.o.Workers),
	}
	d.mu.Lock()
	d.lanes[l.name] = l
	d.mu.Unlock()
}

// Notify hands freshly committed outbox rows to their lanes, so replies go
// out without waiting for the next sweep. Among replicas a row must be
// leased first: the lane claims at once instead.
func (d *Dispatcher) Notify(rows []*models.Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range rows {
		l, ok := d.lanes[m.Channel]
		switch {
		case !ok:
		case d.o.Replica != "":
			l.wantClaim()
		default:
			l.add([]models.Message{*m}, false)
		}
	}
}

// Run delivers until ctx ends, then waits for sends in flight to finish
// and be recorded.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.mu.Lock()
	lanes := make([]*lane, 0, len(d.lanes))
	for _, l := range d.lanes {
		lanes = append(lanes, l)
	}
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range lanes {
		wg.Add(1)
		go func() { defer wg.Done(); l.run(ctx) }()
	}
	wg.Wait()
	return nil
}

// Queued returns how many rows are held in memory, per channel.
func (d *Dispatcher) Queued() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]int{}
	for n, l := range d.lanes {
		l.mu.Lock()
		out[n] = l.queued
		l.mu.Unlock()
	}
	return out
}

// lane delivers one channel's rows. Each chat has a FIFO queue; chats that
// can send now wait in a heap ordered by the time they may send next.
type lane struct {
	d         *Dispatcher
	ch        Channel
	name      string
	onlyChat  string
	global    *rate.Limiter
	chatLimit func(chatID string) Limit

	mu       sync.Mutex
	chats    map[string]*chatQueue
	limiters map[string]*rate.Limiter // per chat; outlive the chat's queue so its rate holds between bursts
	ready    chatHeap
	known    map[uint64]bool    // rows queued or in flight; true if a sweep brought it in
	finished map[uint64]settled // rows recently settled, so stale news cannot bring them back
	queued   int
	lastID   uint64
	// overflow says pending rows wait in the database that memory lacks
	// (MaxQueued was reached, or a sweep filled its limit). Until a sweep
	// catches up, Notify stands aside, so no newer row overtakes them.
	overflow    bool
	pausedUntil time.Time
	claim       bool // replicas: rows were committed; claim them now
	wake        chan struct{}
	sem         chan struct{}
}

type chatQueue struct {
	id      string
	items   []models.Message
	readyAt time.Time
	busy    bool
	index   int // in the heap; -1 when not
	limiter *rate.Limiter
}

func (l *lane) add(rows []models.Message, swept bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(rows, swept)
}

// addLocked queues rows (swept: read by a sweep, in id order) and reports
// whether some were left out for lack of room.
func (l *lane) addLocked(rows []models.Message, swept bool) (full bool) {
	for _, m := range rows {
		if _, known := l.known[m.ID]; known || m.Status != models.StatusPending || (l.onlyChat != "" && m.ChatID != l.onlyChat) {
			continue
		}
		if _, done := l.finished[m.ID]; done {
			continue
		}
		if !swept && l.overflow {
			continue // the sweep brings it in, after the older rows it waits behind
		}
		if l.queued >= l.d.o.MaxQueued {
			full, l.overflow = true, true // the sweep brings it in once there is room
			continue
		}
		q := l.chats[m.ChatID]
		if q == nil {
			lim := l.limiters[m.ChatID]
			if lim == nil {
				cl := l.chatLimit(m.ChatID)
				lim = rate.NewLimiter(rate.Limit(cl.PerSecond), max(1, cl.Burst))
				l.limiters[m.ChatID] = lim
			}
			q = &chatQueue{id: m.ChatID, index: -1, limiter: lim}
			l.chats[m.ChatID] = q
		}
		// Rows arrive in id order per source, but a sweep and Notify can
		// interleave: keep each chat's queue sorted by id.
		i := len(q.items)
		for i > 0 && q.items[i-1].ID > m.ID && !(q.busy && i == 1) {
			i--
		}
		q.items = append(q.items, models.Message{})
		copy(q.items[i+1:], q.items[i:])
		q.items[i] = m
		l.known[m.ID] = swept
		l.queued++
		if m.ID > l.lastID {
			l.lastID = m.ID
		}
		if at := m.NextAttemptAt; at.After(q.readyAt) && len(q.items) == 1 {
			q.readyAt = at
		}
		if !q.busy && q.index < 0 {
			heap.Push(&l.ready, q)
		} else if q.index >= 0 {
			heap.Fix(&l.ready, q.index)
		}
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return full
}

func (l *lane) wantClaim() {
	l.mu.Lock()
	l.claim = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// claimDue reports (and clears) a claim asked for by Notify.
func (l *lane) claimDue() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	due := l.claim
	l.claim = false
	return due
}

// pending reads up to room rows to send: every pending row after after, or
// among replicas the rows this one leases now, after renewing the leases
// it holds.
func (l *lane) pending(ctx context.Context, after uint64, room int) ([]models.Message, error) {
	o := l.d.o
	f := models.OutboxFilter{Channel: l.name, ChatID: l.onlyChat, AfterID: after, Limit: room}
	if o.Replica == "" {
		return o.DB.Read().PendingOutbound(ctx, f)
	}
	until := o.Now().Add(o.Lease)
	var rows []models.Message
	err := o.DB.Write(ctx, func(s *models.Store) (err error) {
		rows, err = s.ClaimOutbound(ctx, f, o.Replica, until)
		return err
	})
	return rows, err
}

// renewClaims keeps this replica's leases alive until ctx ends, on a
// ticker of its own: the lane's loop can wait on busy workers for as long
// as a send takes, longer than a lease.
func (l *lane) renewClaims(ctx context.Context) {
	o := l.d.o
	t := time.NewTicker(o.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := o.DB.Write(ctx, func(s *models.Store) error {
			_, err := s.RenewClaims(ctx, o.Replica, o.Now().Add(o.Lease))
			return err
		})
		if err != nil && ctx.Err() == nil {
			o.Log.Error("renew outbox leases", "channel", l.name, "err", err)
		}
	}
}

// releaseClaims hands this replica's leases back at shutdown, so another
// replica sends what is left at once rather than when the leases run out.
func (l *lane) releaseClaims() {
	if l.d.o.Replica == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.d.o.DB.Write(ctx, func(s *models.Store) error { return s.ReleaseClaims(ctx, l.d.o.Replica) }); err != nil {
		l.d.o.Log.Error("release outbox leases", "channel", l.name, "err", err)
	}
}

// sweep reads pending rows from the database: at start (resume after a
// restart) and periodically.
func (l *lane) sweep(ctx context.Context, full bool) {
	l.mu.Lock()
	locked := true
	defer func() {
		if locked {
			l.mu.Unlock()
		}
	}()
	room := l.d.o.MaxQueued - l.queued
	after := l.lastID
	overflow := l.overflow
	now := l.d.o.Now()
	for id, f := range l.finished {
		// This sweep reads the database after now, when a row settled
		// before now is no longer pending: only a late Notify could bring
		// such a row back, and one that Notify brought in was announced
		// already. Keeping every row for minutes had held over a million
		// ids at 16,000 replies a second.
		if !f.swept && f.at.Before(now) || now.Sub(f.at) > 10*l.d.o.SweepInterval+time.Minute {
			delete(l.finished, id)
		}
	}
	for id, lim := range l.limiters {
		if _, ok := l.chats[id]; !ok && lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(l.limiters, id) // idle long enough to be as good as new
		}
	}
	if room <= 0 {
		return
	}
	if full {
		after = 0
	}
	if l.d.o.Replica != "" {
		// Replicas claim a batch at a time, so they share a backlog.
		room = min(room, l.d.o.ClaimBatch)
	}
	if !overflow || l.d.o.Replica != "" {
		// Replicas: Notify adds no rows, so nothing can slip in before
		// the claim's; and a claim must not hold up Notify, which the
		// engine calls after every commit.
		//
		// Otherwise, while rows wait in the database, the read holds the lock: no
		// Notify slips a newer row in before it, and catching up is exact.
		l.mu.Unlock()
		locked = false
	}
	rows, err := l.pending(ctx, after, room)
	if err != nil {
		if ctx.Err() == nil {
			l.d.o.Log.Error("outbox sweep failed", "channel", l.name, "err", err)
		}
		return
	}
	if !locked {
		l.mu.Lock()
		locked = true
	}
	switch {
	case l.addLocked(rows, true) || len(rows) >= room:
		l.overflow = true // more may wait in the database
	case overflow:
		l.overflow = false // caught up: every pending row is held
	}
}

func (l *lane) run(ctx context.Context) {
	l.sweep(ctx, true)
	sweep := time.NewTicker(l.d.o.SweepInterval)
	defer sweep.Stop()
	sweeps := 0
	var inflight sync.WaitGroup
	// Deferred, so in this order at the end: the sends in flight are
	// recorded, the leases stop being renewed, what is left is released.
	defer l.releaseClaims()
	if l.d.o.Replica != "" {
		rctx, stop := context.WithCancel(context.Background())
		defer stop()
		go l.renewClaims(rctx)
	}
	defer inflight.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		// A backlog larger than memory comes in by sweeps: refill as soon
		// as half the room is free rather than at the next tick, so a
		// backlog drains at the platform's rate, not at MaxQueued per
		// SweepInterval.
		if l.refillDue() || l.claimDue() {
			l.sweep(ctx, false)
		}
		// Take a worker first, then the rate slots: the send starts the
		// moment its slots are taken, so messages to one chat are never
		// closer than the chat's interval.
		select {
		case l.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		q, wait := l.next()
		if q == nil {
			<-l.sem
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-l.wake:
			case <-timer.C:
			case <-sweep.C:
				sweeps++
				l.sweep(ctx, sweeps%10 == 0)
			}
			continue
		}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			l.send(q, func() { <-l.sem })
		}()
	}
}

// refillDue reports whether rows wait in the database and at least half
// of the lane's room is free.
func (l *lane) refillDue() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.overflow && l.queued <= l.d.o.MaxQueued/2
}

// next pops the chat that may send now, or says how long to wait.
func (l *lane) next() (*chatQueue, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.d.o.Now()
	if now.Before(l.pausedUntil) {
		return nil, l.pausedUntil.Sub(now)
	}
	for l.ready.Len() > 0 {
		q := l.ready[0]
		if q.readyAt.After(now) {
			return nil, q.readyAt.Sub(now)
		}
		r := q.limiter.ReserveN(now, 1)
		if delay := r.DelayFrom(now); delay > 0 {
			r.CancelAt(now)
			q.readyAt = now.Add(delay)
			heap.Fix(&l.ready, 0)
			continue
		}
		// The chat's slot and the channel's are taken at the same instant.
		if g := l.global.ReserveN(now, 1); g.DelayFrom(now) > 0 {
			delay := g.DelayFrom(now)
			g.CancelAt(now)
			r.CancelAt(now)
			return nil, delay
		}
		heap.Pop(&l.ready)
		q.busy = true
		return q, 0
	}
	return nil, time.Hour
}

// send delivers the head of q and settles it. It calls free once the
// platform has answered and the lane's memory knows the outcome: a worker bounds sends in flight, not the wait for
// the outcome to commit, which the chat's busy flag already covers (with
// workers held through the commit, delivery ran at workers ÷ commit time,
// far below the rate turns were stored).
func (l *lane) send(q *chatQueue, free func()) {
	l.mu.Lock()
	m := q.items[0]
	l.mu.Unlock()
	o := l.d.o
	out := &Outbound{ID: m.ID, ChatID: m.ChatID, Text: m.Text, Buttons: m.Payload.Buttons, Edit: m.Payload.Edit,
		ReplyTo: m.Payload.ReplyTo, Thread: m.Payload.Thread, Attachments: m.Payload.Attachments, Kind: m.Payload.Kind}
	if m.TicketID != nil {
		out.TicketID = *m.TicketID
	}
	// Sends outlive shutdown by SendTimeout: a message half-sent when the
	// process is asked to stop is finished and recorded, not abandoned.
	sctx, cancel := context.WithTimeout(context.Background(), o.SendTimeout)
	start := time.Now()
	pid, opened, err := l.deliver(sctx, out)
	cancel()
	o.Metrics.SendLatency.WithLabelValues(l.name).Observe(time.Since(start).Seconds())
	log := o.Log.With("channel", l.name, "conv", m.ConversationID, "outbox", m.ID)
	now := o.Now()

	var (
		ra   *RetryAfterError
		perm *PermanentError
	)
	switch {
	case err == nil:
		free()
		l.settle(q, m.ID, func(s *models.Store) error {
			if opened != "" {
				if err := s.SaveThread(context.Background(), l.name, m.ChatID, out.TicketID, opened); err != nil {
					return err
				}
			}
			return s.MarkSent(context.Background(), m.ID, pid, now.UTC())
		})
		o.Metrics.MessagesOut.WithLabelValues(l.name).Inc()
	case errors.As(err, &ra):
		o.Metrics.SendErrors.WithLabelValues(l.name, "rate_limited").Inc()
		log.Warn("rate limited by platform", "retry_after", ra.After, "global", ra.Global)
		l.mu.Lock()
		if ra.Global {
			l.pausedUntil = now.Add(ra.After)
		}
		q.readyAt = now.Add(ra.After)
		l.mu.Unlock()
		free() // only now: the pause must be in place before another send starts
		l.release(q, nil)
	case errors.Is(err, ErrUnreachable):
		o.Metrics.SendErrors.WithLabelValues(l.name, "unreachable").Inc()
		log.Warn("chat unreachable; giving up on its messages", "err", err)
		free()
		l.failChat(q, m, "unreachable: "+err.Error())
	case errors.As(err, &perm):
		o.Metrics.SendErrors.WithLabelValues(l.name, "permanent").Inc()
		log.Error("message refused by platform", "err", err)
		free()
		l.settle(q, m.ID, func(s *models.Store) error {
			return s.MarkFailed(context.Background(), m.ID, m.Attempts+1, err.Error())
		})
	default:
		o.Metrics.SendErrors.WithLabelValues(l.name, "transient").Inc()
		free()
		attempts := m.Attempts + 1
		if attempts >= o.MaxAttempts {
			log.Error("send failed; giving up", "attempts", attempts, "err", err)
			l.settle(q, m.ID, func(s *models.Store) error {
				return s.MarkFailed(context.Background(), m.ID, attempts, err.Error())
			})
			return
		}
		next := now.Add(backoff(o.InitialBackoff, o.MaxBackoff, attempts))
		log.Warn("send failed; will retry", "attempts", attempts, "next", next, "err", err)
		werr := o.Writer.Do(context.Background(), func(s *models.Store) error {
			return s.MarkRetry(context.Background(), m.ID, attempts, next, err.Error())
		})
		if werr != nil {
			log.Error("record retry failed", "err", werr)
		}
		l.mu.Lock()
		q.items[0].Attempts, q.items[0].NextAttemptAt = attempts, next
		q.readyAt = next
		l.mu.Unlock()
		l.release(q, nil)
	}
}

// deliver sends out, in its ticket's thread where the chat keeps one thread
// per ticket. opened is the id of a thread this call made, to be recorded.
func (l *lane) deliver(ctx context.Context, out *Outbound) (pid, opened string, err error) {
	th, ok := l.ch.(Threader)
	if !ok || out.TicketID == 0 || out.Thread != "" || !th.ThreadsIn(out.ChatID) {
		pid, err = l.ch.Send(ctx, out)
		return pid, "", err
	}
	read := l.d.o.DB.Read()
	out.Thread, err = read.TicketThread(ctx, l.name, out.ChatID, out.TicketID)
	if err == nil {
		pid, err = l.ch.Send(ctx, out)
		return pid, "", err
	}
	if !errors.Is(err, models.ErrNotFound) {
		return "", "", err
	}
	t, err := read.Ticket(ctx, out.TicketID)
	if err != nil {
		return "", "", fmt.Errorf("thread title: %w", err)
	}
	opened, pid, err = th.OpenThread(ctx, out.ChatID, threadTitle(t), out)
	if err != nil && opened != "" {
		// The thread exists but its first message failed: keep the thread so
		// the retry posts into it rather than opening another.
		if werr := l.d.o.Writer.Do(context.Background(), func(s *models.Store) error {
			return s.SaveThread(context.Background(), l.name, out.ChatID, out.TicketID, opened)
		}); werr != nil {
			l.d.o.Log.Error("record thread failed", "channel", l.name, "ticket", out.TicketID, "err", werr)
		}
		opened = ""
	}
	return pid, opened, err
}

// threadTitle names a ticket's thread: its reference and the start of its
// subject, within the 100 characters Telegram and Discord allow.
func threadTitle(t *models.Ticket) string {
	title := t.Ref()
	if subj := strings.Join(strings.Fields(t.Subject), " "); subj != "" {
		title += " · " + subj
	}
	if r := []rune(title); len(r) > 96 {
		title = string(r[:95]) + "…"
	}
	return title
}

// settle records the outcome of the head row, then moves the chat on. The
// row leaves memory only after the record commits, so no sweep can queue it
// again; while the database refuses, the chat waits.
func (l *lane) settle(q *chatQueue, id uint64, record func(*models.Store) error) {
	delay := l.d.o.InitialBackoff
	for {
		err := l.d.o.Writer.Do(context.Background(), record)
		if err == nil {
			break
		}
		if errors.Is(err, models.ErrNotFound) {
			// The row is gone (deleted by retention or by a customer's
			// request to forget them): nothing is left to record.
			break
		}
		if errors.Is(err, ErrStopped) {
			// Shutting down: leave the row pending. It was sent; the only
			// way to lose nothing is to risk sending it again on restart.
			l.d.o.Log.Error("outbox record lost at shutdown", "channel", l.name, "outbox", id, "err", err)
			break
		}
		l.d.o.Log.Error("outbox record failed; retrying", "channel", l.name, "outbox", id, "err", err)
		time.Sleep(delay)
		delay = min(2*delay, l.d.o.MaxBackoff)
	}
	l.release(q, &id)
}

// settled is when a row left the lane, and whether a sweep brought it in
// (its Notify may then still come).
type settled struct {
	at    time.Time
	swept bool
}

// settle1 forgets id, settled at at. The caller holds l.mu.
func (l *lane) settle1(id uint64, at time.Time) {
	l.finished[id] = settled{at: at, swept: l.known[id]}
	delete(l.known, id)
}

// release puts q back: done (if not nil) is removed from its head first.
func (l *lane) release(q *chatQueue, done *uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if done != nil && len(q.items) > 0 && q.items[0].ID == *done {
		q.items = q.items[1:]
		l.settle1(*done, l.d.o.Now())
		l.queued--
	}
	q.busy = false
	if len(q.items) == 0 {
		delete(l.chats, q.id)
		return
	}
	heap.Push(&l.ready, q)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// failChat fails every queued row of an unreachable chat and marks its
// identity so proactive messages skip it.
func (l *lane) failChat(q *chatQueue, head models.Message, reason string) {
	l.mu.Lock()
	ids := make([]uint64, len(q.items))
	for i, m := range q.items {
		ids[i] = m.ID
	}
	l.mu.Unlock()
	err := l.d.o.Writer.Do(context.Background(), func(s *models.Store) error {
		for _, id := range ids {
			if err := s.MarkFailed(context.Background(), id, head.Attempts+1, reason); err != nil {
				return err
			}
		}
		return s.MarkUnreachable(context.Background(), l.name, head.ChatID)
	})
	if err != nil {
		l.d.o.Log.Error("record unreachable chat failed", "channel", l.name, "err", err)
		l.mu.Lock()
		q.readyAt = l.d.o.Now().Add(l.d.o.InitialBackoff)
		l.mu.Unlock()
		l.release(q, nil)
		return
	}
	l.mu.Lock()
	now := l.d.o.Now()
	failed := make(map[uint64]bool, len(ids))
	for _, id := range ids {
		failed[id] = true
		l.settle1(id, now)
	}
	l.queued -= len(ids)
	// Rows queued for the chat while the record was written stay: they
	// are tried (and fail) in turn rather than being forgotten.
	kept := q.items[:0]
	for _, m := range q.items {
		if !failed[m.ID] {
			kept = append(kept, m)
		}
	}
	q.items = kept
	l.mu.Unlock()
	l.release(q, nil)
}

func backoff(initial, maxDelay time.Duration, attempts int) time.Duration {
	d := initial
	for i := 1; i < attempts && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

type chatHeap []*chatQueue

func (h chatHeap) Len() int { return len(h) }
func (h chatHeap) Less(i, j int) bool {
	if !h[i].readyAt.Equal(h[j].readyAt) {
		return h[i].readyAt.Before(h[j].readyAt)
	}
	return h[i].items[0].ID < h[j].items[0].ID
}
func (h chatHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *chatHeap) Push(x any) {
	q := x.(*chatQueue)
	q.index = len(*h)
	*h = append(*h, q)
}
func (h *chatHeap) Pop() any {
	old := *h
	q := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	q.index = -1
	return q
}
