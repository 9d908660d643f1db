package bot

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
)

// TestReplicasSendEachRowOnceInOrder: three dispatchers share one database
// as replicas do; rows keep arriving and one replica stops half-way. Every
// row goes out exactly once, and each chat's rows in id order.
func TestReplicasSendEachRowOnceInOrder(t *testing.T) {
	e := newDispEnv(t)
	var fakes []*dispFake
	var disps []*Dispatcher
	var cancels []context.CancelFunc
	var wg sync.WaitGroup
	for r := range 3 {
		f := newDispFake(func(m *Outbound, _ int) (string, error) {
			time.Sleep(time.Millisecond) // sends take time, so chats interleave
			return fmt.Sprintf("p-%d", m.ID), nil
		})
		o := e.opts()
		o.Replica = fmt.Sprintf("r%d", r)
		o.Lease = time.Minute // only a release hands rows over here
		o.ClaimBatch = 3      // small, so the replicas share the chats
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		d := NewDispatcher(o)
		d.AddChannel(f, "")
		ctx, cancel := context.WithCancel(context.Background())
		wg.Add(1)
		go func() { defer wg.Done(); d.Run(ctx) }()
		fakes, disps, cancels = append(fakes, f), append(disps, d), append(cancels, cancel)
	}
	defer func() {
		for _, c := range cancels {
			c()
		}
		wg.Wait()
	}()
	var chats []string
	for i := range 21 {
		chats = append(chats, fmt.Sprintf("chat%d", i))
	}
	var all []*models.Message
	for wave := range 12 {
		rows := e.queue(t, chats, 2, nil)
		all = append(all, rows...)
		disps[wave%3].Notify(rows)
		if wave == 6 {
			cancels[1]() // replica r1 stops; its leases are released
		}
		time.Sleep(10 * time.Millisecond)
	}
	sent := func() int {
		n := 0
		for _, f := range fakes {
			n += len(f.delivered())
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for sent() < len(all) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a duplicate would show by now
	count := map[uint64]int{}
	var log []dispSend
	for _, f := range fakes {
		for id, n := range f.delivered() {
			count[id] += n
		}
		log = append(log, f.log()...)
	}
	for _, m := range all {
		if count[m.ID] != 1 {
			t.Errorf("row %d (%s) sent %d times, want once", m.ID, m.ChatID, count[m.ID])
		}
	}
	slices.SortFunc(log, func(a, b dispSend) int { return a.Start.Compare(b.Start) })
	last := map[string]uint64{}
	for _, s := range log {
		if s.Msg.ID < last[s.Msg.ChatID] {
			t.Errorf("chat %s: row %d sent after row %d", s.Msg.ChatID, s.Msg.ID, last[s.Msg.ChatID])
		}
		last[s.Msg.ChatID] = s.Msg.ID
	}
	busy := 0
	for _, f := range fakes {
		t.Logf("a replica sent %d rows", len(f.log()))
		if len(f.log()) > 0 {
			busy++
		}
	}
	// Sharing is a matter of timing, and replicas are a PostgreSQL
	// deployment: on SQLite one dispatcher may well claim every chat first.
	// What must hold on both is above: each row once, each chat in order.
	if busy < 2 && e.db.Dialect() == models.DriverPostgres {
		t.Errorf("%d replicas sent anything; want the chats shared", busy)
	}
	for {
		n, err := e.db.Read().CountPending(context.Background())
		if err != nil || n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d rows still pending", n)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}
