package models_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

func queue(t *testing.T, db *models.DB, chats ...string) []uint64 {
	t.Helper()
	ctx := context.Background()
	var ms []*models.Message
	for _, c := range chats {
		ms = append(ms, &models.Message{ConversationID: 1, Channel: "telegram", ChatID: c, Text: "to " + c})
	}
	if err := db.Write(ctx, func(s *models.Store) error { return s.QueueOutbound(ctx, ms) }); err != nil {
		t.Fatal(err)
	}
	ids := make([]uint64, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

func claim(t *testing.T, db *models.DB, owner string, limit int, until time.Time) []uint64 {
	t.Helper()
	ctx := context.Background()
	var got []models.Message
	err := db.Write(ctx, func(s *models.Store) (err error) {
		got, err = s.ClaimOutbound(ctx, models.OutboxFilter{Channel: "telegram", Limit: limit}, owner, until)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]uint64, len(got))
	for i, m := range got {
		if m.ClaimOwner != owner {
			t.Errorf("row %d: owner %q, want %q", m.ID, m.ClaimOwner, owner)
		}
		ids[i] = m.ID
	}
	return ids
}

// TestClaimOutboundKeepsAChatWithOneReplica: a chat's rows go to the
// replica that holds its oldest pending row; leases run out and are renewed.
func TestClaimOutboundKeepsAChatWithOneReplica(t *testing.T) {
	now := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	db := openAt(t, &now)
	ctx := context.Background()
	ids := queue(t, db, "a", "a", "b")
	a1, a2, b1 := ids[0], ids[1], ids[2]
	lease := now.Add(30 * time.Second)
	steps := []struct {
		owner string
		limit int
		want  []uint64
	}{
		{"r1", 1, []uint64{a1}},
		{"r2", 0, []uint64{b1}}, // a2 waits behind a1, which r1 holds
		{"r2", 0, nil},
		{"r1", 0, []uint64{a2}},
	}
	for i, st := range steps {
		if got := claim(t, db, st.owner, st.limit, lease); fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Fatalf("step %d: %s claimed %v, want %v", i, st.owner, got, st.want)
		}
	}
	// r1 renews; r2's lease on b runs out: r3 takes b only.
	now = now.Add(20 * time.Second)
	err := db.Write(ctx, func(s *models.Store) error {
		n, err := s.RenewClaims(ctx, "r1", now.Add(30*time.Second))
		if n != 2 {
			t.Errorf("renewed %d rows, want 2", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(15 * time.Second)
	if got := claim(t, db, "r3", 0, now.Add(30*time.Second)); fmt.Sprint(got) != fmt.Sprint([]uint64{b1}) {
		t.Fatalf("r3 claimed %v, want [%d]", got, b1)
	}
	// A sent row is never claimed again; a released one at once.
	err = db.Write(ctx, func(s *models.Store) error {
		if err := s.MarkSent(ctx, a1, "p1", now); err != nil {
			return err
		}
		return s.ReleaseClaims(ctx, "r1")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := claim(t, db, "r3", 0, now.Add(30*time.Second)); fmt.Sprint(got) != fmt.Sprint([]uint64{a2}) {
		t.Fatalf("after release r3 claimed %v, want [%d]", got, a2)
	}
}

// TestClaimOutboundConcurrent: replicas claiming at once never share a row
// or a chat.
func TestClaimOutboundConcurrent(t *testing.T) {
	db := mustOpen(t)
	var chats []string
	for i := range 300 {
		chats = append(chats, fmt.Sprintf("c%d", i%25))
	}
	queue(t, db, chats...)
	until := time.Now().Add(time.Hour)
	var mu sync.Mutex
	owner := map[uint64]string{}
	chatOwner := map[string]string{}
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			me := fmt.Sprintf("r%d", r)
			ctx := context.Background()
			for {
				var got []models.Message
				err := db.Write(ctx, func(s *models.Store) (err error) {
					got, err = s.ClaimOutbound(ctx, models.OutboxFilter{Channel: "telegram", Limit: 7}, me, until)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					if o, ok := owner[m.ID]; ok {
						t.Errorf("row %d claimed by %s and %s", m.ID, o, me)
					}
					owner[m.ID] = me
					if o, ok := chatOwner[m.ChatID]; ok && o != me {
						t.Errorf("chat %s split between %s and %s", m.ChatID, o, me)
					}
					chatOwner[m.ChatID] = me
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(owner) != len(chats) {
		t.Fatalf("claimed %d rows, want %d", len(owner), len(chats))
	}
}

// TestTryLeadFailsOver: one process leads at a time; when the leader
// closes its database (stops), another takes over. A leader that dies
// loses its session, and the lock with it, the same way.
func TestTryLeadFailsOver(t *testing.T) {
	if modelstest.Driver() != models.DriverPostgres {
		t.Skip("on SQLite the one writer process always leads")
	}
	ctx := context.Background()
	dsn := modelstest.DSN(t)
	open := func() *models.DB {
		db, err := models.Open(ctx, models.Options{Driver: modelstest.Driver(), DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	a, b := open(), open()
	defer b.Close()
	la, err := a.TryLead(ctx, "scheduler")
	if err != nil || la == nil {
		t.Fatalf("first TryLead = %v, %v; want the lead", la, err)
	}
	if lb, err := b.TryLead(ctx, "scheduler"); err != nil || lb != nil {
		t.Fatalf("second TryLead = %v, %v; want none while a leads", lb, err)
	}
	if err := la.Check(ctx); err != nil {
		t.Fatal(err)
	}
	a.Close() // the leader stops: its locks go with its connections
	if err := la.Check(ctx); err == nil {
		t.Error("Check after the leader's database closed = nil, want an error")
	}
	var lb *models.Leadership
	for range 50 {
		if lb, err = b.TryLead(ctx, "scheduler"); err != nil || lb != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || lb == nil {
		t.Fatalf("TryLead after the leader died = %v, %v; want the lead", lb, err)
	}
	lb.Release()
}

// TestLocksAreScopedBySchema: advisory locks belong to the whole
// PostgreSQL database, but two kefu installations in their own schemas of
// one database (or two test runs) must each have their own leader and
// chat locks.
func TestLocksAreScopedBySchema(t *testing.T) {
	if modelstest.Driver() != models.DriverPostgres {
		t.Skip("advisory locks are PostgreSQL's")
	}
	ctx := context.Background()
	var leads []*models.Leadership
	for range 2 {
		db, err := models.Open(ctx, models.Options{Driver: modelstest.Driver(), DSN: modelstest.DSN(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		l, err := db.TryLead(ctx, "scheduler")
		if err != nil || l == nil {
			t.Fatalf("TryLead in schema %d = %v, %v; want the lead, as no other kefu uses that schema", len(leads)+1, l, err)
		}
		leads = append(leads, l)
	}
	for _, l := range leads {
		l.Release()
	}
}
