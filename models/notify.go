package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// MaxNotice is the longest payload Notify sends: PostgreSQL refuses
// NOTIFY payloads of 8000 bytes or more. Notices name what changed (ids,
// kinds); the receiver loads the rest from the database.
const MaxNotice = 7999

// listenIdle is how long a listener waits for a notice before it checks
// that its connection still answers: a peer that vanished without closing
// (a dropped network path) would otherwise leave it waiting for ever.
const listenIdle = 30 * time.Second

var topicName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,19}$`)

// Notifier passes short notices between the kefu processes that share a
// PostgreSQL database, on one topic: NOTIFY and LISTEN. The PostgreSQL
// channel is named after the topic, the database and the schema, so two
// kefu installations in one server (or two tests in their own schemas)
// never hear each other. SQLite has one kefu process per file and no
// notices: DB.Notifier fails there with errors.ErrUnsupported.
type Notifier struct {
	db    *DB
	topic string
	idle  time.Duration // listenIdle; shorter in tests

	mu      sync.Mutex
	channel string // resolved on first use
}

// ListenFuncs are what Listen calls.
type ListenFuncs struct {
	// Listening runs each time the listener is listening again after
	// (re)connecting. Notices sent while it was not are lost: the caller
	// catches up from the database here.
	Listening func()
	// Notice gets each payload, in the order PostgreSQL delivers them.
	Notice func(payload string)
	// Broken gets each failure to connect and each lost connection; Listen
	// reconnects after a pause.
	Broken func(err error)
}

// Notifier returns the notifier of topic (lower-case letters, digits and
// underscores, at most 20).
func (db *DB) Notifier(topic string) (*Notifier, error) {
	if !topicName.MatchString(topic) {
		return nil, fmt.Errorf("notifier: bad topic %q", topic)
	}
	if db.dialect != DriverPostgres {
		return nil, fmt.Errorf("notifier %s on %s: %w", topic, db.dialect, errors.ErrUnsupported)
	}
	return &Notifier{db: db, topic: topic, idle: listenIdle}, nil
}

// Channel is the PostgreSQL channel of the topic in this database and
// schema: "kefu_<topic>_<16 hex digits>", within PostgreSQL's 63 bytes.
// Its listening connections are named "kefu listen <channel>"
// (application_name in pg_stat_activity).
func (n *Notifier) Channel(ctx context.Context) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.channel != "" {
		return n.channel, nil
	}
	var where struct{ DB, Schema string }
	if err := n.db.write.WithContext(ctx).Raw(`SELECT current_database() AS db, current_schema() AS schema`).Scan(&where).Error; err != nil {
		return "", fmt.Errorf("notifier %s: where am I: %w", n.topic, err)
	}
	sum := sha256.Sum256([]byte(where.DB + "\x00" + where.Schema))
	n.channel = "kefu_" + n.topic + "_" + hex.EncodeToString(sum[:8])
	return n.channel, nil
}

// Notify sends payload to every listener of the topic, this process's
// included. It is sent at once, outside any transaction.
func (n *Notifier) Notify(ctx context.Context, payload string) error {
	if len(payload) > MaxNotice {
		return fmt.Errorf("notify %s: payload of %d bytes exceeds %d", n.topic, len(payload), MaxNotice)
	}
	ch, err := n.Channel(ctx)
	if err != nil {
		return err
	}
	if err := n.db.write.WithContext(ctx).Exec(`SELECT pg_notify(?, ?)`, ch, payload).Error; err != nil {
		return fmt.Errorf("notify %s: %w", n.topic, err)
	}
	return nil
}

// Listen receives the topic's notices until ctx ends, on a connection of
// its own (outside the pools, so it takes no writer's place). When the
// connection breaks it reconnects, after a pause growing from 100 ms to
// 5 s, and calls Listening again. It returns when ctx ends.
func (n *Notifier) Listen(ctx context.Context, f ListenFuncs) {
	pause := 100 * time.Millisecond
	for {
		listened, err := n.listenOnce(ctx, f)
		if ctx.Err() != nil {
			return
		}
		if f.Broken != nil {
			f.Broken(err)
		}
		if listened {
			pause = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// listenOnce connects, listens and delivers notices until the connection
// fails; listened says whether it got as far as listening.
func (n *Notifier) listenOnce(ctx context.Context, f ListenFuncs) (listened bool, err error) {
	ch, err := n.Channel(ctx)
	if err != nil {
		return false, err
	}
	cfg, err := pgx.ParseConfig(n.db.dsn)
	if err != nil {
		return false, fmt.Errorf("listen %s: %w", n.topic, err)
	}
	// Named, so an operator sees what the long-idle connection is.
	cfg.RuntimeParams["application_name"] = "kefu listen " + ch
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return false, fmt.Errorf("listen %s: connect: %w", n.topic, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen %s: %w", n.topic, err)
	}
	if f.Listening != nil {
		f.Listening()
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, n.idle)
		nt, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if nt.Channel == ch && f.Notice != nil {
				f.Notice(nt.Payload)
			}
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Quiet for a while: make sure the server is still there.
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("listen %s: connection lost: %w", n.topic, err)
			}
		default:
			return true, fmt.Errorf("listen %s: connection lost: %w", n.topic, err)
		}
	}
}
