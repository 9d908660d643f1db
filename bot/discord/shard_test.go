package discord

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/discord/discordtest"
)

// memCursors is a Cursors shared by adapters, as the database is shared by
// replicas.
type memCursors struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *memCursors) LoadCursors(context.Context, time.Time) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out, nil
}

func (c *memCursors) SaveCursors(_ context.Context, ids map[string]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range ids {
		if later(v, c.m[k]) {
			c.m[k] = v
		}
	}
	return nil
}

func (c *memCursors) has(ch string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[ch] != ""
}

// shardRun is one replica's adapter on one shard, with its own engine.
type shardRun struct {
	a    *Adapter
	e    *fakeEngine
	logs *syncBuffer
}

func (r shardRun) done() []string { _, d := r.e.texts(); return d }

func (r shardRun) follows(ch string) bool {
	r.a.mu.Lock()
	defer r.a.mu.Unlock()
	_, ok := r.a.cursors[ch]
	return ok
}

// TestShardsSplitTheWork runs two adapters, shard 0 and shard 1 of 2, on
// one fake Discord whose guild is on shard 1, sharing their cursors as
// replicas share the database. Each identifies with its own shard; a DM
// and a slash command in it reach shard 0 only, a staff channel message
// shard 1 only, each handled once. Then Discord ends both sessions while a
// customer and staff write: after the new sessions each shard fetches only
// the channels Discord sends it — though both follow both channels — so
// each missed message is handled once.
func TestShardsSplitTheWork(t *testing.T) {
	f := discordtest.New(testToken)
	defer f.Close()
	guild := f.MoveGuild(1, 2)
	if discordtest.ShardOf(guild, 2) != 1 {
		t.Fatalf("guild %s is on shard %d of 2, want 1", guild, discordtest.ShardOf(guild, 2))
	}
	staff := f.AddChannel("staff")
	cur := &memCursors{m: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	start := func(id int) shardRun {
		logs := &syncBuffer{}
		a, err := New(ctx, Options{Token: testToken, APIBase: f.URL, GuildID: guild, StaffChannelID: staff,
			ShardID: id, ShardCount: 2, Cursors: cur, Log: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		a.errorMin, a.errorMax, a.flushEvery = 10*time.Millisecond, 50*time.Millisecond, 20*time.Millisecond
		r := shardRun{a: a, e: &fakeEngine{}, logs: logs}
		wg.Go(func() {
			if err := a.Run(ctx, r.e); err != nil {
				t.Errorf("shard %d: %v", id, err)
			}
		})
		return r
	}
	s0, s1 := start(0), start(1)
	if !f.Wait(5*time.Second, func() bool { return slices.Equal(f.ConnectedShards(), []int{0, 1}) }) {
		t.Fatalf("connected shards %v, want [0 1]", f.ConnectedShards())
	}
	got := f.Shards()
	slices.SortFunc(got, func(x, y [2]int) int { return x[0] - y[0] })
	if !slices.Equal(got, [][2]int{{0, 2}, {1, 2}}) {
		t.Fatalf("IDENTIFY shards %v, want [0 2] and [1 2]", got)
	}
	if !strings.Contains(s0.logs.String(), "discord shard receives direct messages") ||
		!strings.Contains(s1.logs.String(), "discord shard receives the guild") {
		t.Errorf("the shards did not log what they receive:\n%s\n%s", s0.logs, s1.logs)
	}

	ann, mei := user(f, "ann"), user(f, "mei")
	dm := f.DMChannel(ann.ID)
	f.Say(ann, "", "a DM")
	f.Say(mei, staff, "in the staff channel")
	slash := f.Slash(ann, "", "help", "")
	both := func(want0, want1 []string) bool {
		return slices.Equal(s0.done(), want0) && slices.Equal(s1.done(), want1)
	}
	want0, want1 := []string{"a DM", "/help"}, []string{"in the staff channel"}
	if !f.Wait(5*time.Second, func() bool { return both(want0, want1) }) {
		t.Fatalf("shard 0 handled %q (want %q), shard 1 %q (want %q)", s0.done(), want0, s1.done(), want1)
	}
	if r := f.Response(slash); r.Type == 0 {
		t.Errorf("the slash command was not acknowledged")
	}
	// Both cursors reach the shared store.
	if !f.Wait(5*time.Second, func() bool { return cur.has(dm) && cur.has(staff) }) {
		t.Fatalf("cursors not saved: %v", cur.m)
	}

	f.Disconnect(true)
	f.Say(ann, "", "missed DM")
	f.Say(mei, staff, "missed staff message")
	f.Up()
	want0, want1 = append(want0, "missed DM"), append(want1, "missed staff message")
	if !f.Wait(10*time.Second, func() bool { return both(want0, want1) }) {
		t.Fatalf("after the new sessions shard 0 handled %q (want %q), shard 1 %q (want %q)\nshard 0:\n%s\nshard 1:\n%s",
			s0.done(), want0, s1.done(), want1, s0.logs, s1.logs)
	}
	if identifies, _ := f.Sessions(); identifies != 4 {
		t.Errorf("%d IDENTIFYs, want 4 (two shards, twice)", identifies)
	}
	// Each shard followed the other's channel too (the cursors are
	// shared): only the shard rule kept it from fetching it.
	if !s0.follows(staff) || !s1.follows(dm) {
		t.Errorf("a shard does not follow the other's channel: shard 0 follows staff %v, shard 1 follows the DM %v",
			s0.follows(staff), s1.follows(dm))
	}
	time.Sleep(300 * time.Millisecond) // a second answer would show by now
	if !both(want0, want1) {
		t.Errorf("handled twice: shard 0 %q, shard 1 %q", s0.done(), s1.done())
	}
	// One fetch per missed channel: by its shard, not by both.
	fetches := map[string]int{}
	for _, r := range f.Requests() {
		for _, ch := range []string{dm, staff} {
			if strings.HasPrefix(r, "GET /channels/"+ch+"/messages") {
				fetches[ch]++
			}
		}
	}
	if fetches[dm] != 1 || fetches[staff] != 1 {
		t.Errorf("catch-up fetches: DM %d, staff channel %d; want 1 each", fetches[dm], fetches[staff])
	}
}

// TestShardOptions: which shard receives what, and the options that
// cannot work.
func TestShardOptions(t *testing.T) {
	f := discordtest.New(testToken)
	defer f.Close()
	g0, g1 := "175928847299117063", "" // Discord's example guild: shard 0 of 2
	if discordtest.ShardOf(g0, 2) != 0 {
		t.Fatalf("example guild on shard %d", discordtest.ShardOf(g0, 2))
	}
	g1 = f.MoveGuild(1, 3)
	for _, tc := range []struct {
		name           string
		guild          string
		id, count      int
		dms, guildGets bool
		err            string
	}{
		{"one shard", "", 0, 1, true, true, ""},
		{"guild on shard 0, shard 0", g0, 0, 2, true, true, ""},
		{"guild on shard 0, shard 1", g0, 1, 2, false, false, ""},
		{"guild on shard 1, shard 0", g1, 0, 3, true, false, ""},
		{"guild on shard 1, shard 1", g1, 1, 3, false, true, ""},
		{"guild on shard 1, shard 2", g1, 2, 3, false, false, ""},
		{"no guild", "", 0, 2, false, false, "need the guild id"},
		{"id too big", g0, 2, 2, false, false, "not in 0..1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			a, err := New(context.Background(), Options{Token: testToken, APIBase: f.URL, GuildID: tc.guild,
				ShardID: tc.id, ShardCount: tc.count, Log: slog.New(slog.NewTextHandler(logs, nil))})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("New = %v; want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dms, guild := a.receives(); dms != tc.dms || guild != tc.guildGets {
				t.Errorf("receives DMs %v, guild %v; want %v, %v", dms, guild, tc.dms, tc.guildGets)
			}
			if idle := strings.Contains(logs.String(), "receives no events"); idle != (!tc.dms && !tc.guildGets) {
				t.Errorf("idle warning %v:\n%s", idle, logs)
			}
		})
	}
}

// TestSlashAnsweredByAnotherReplica: among replicas, the reply to a slash
// command may be sent by another process (it holds the chat's outbox
// lease) as a plain message. The "thinking" response is then deleted after
// the grace period, not left to time out; a reply sent here in time
// replaces it as usual and is not deleted.
func TestSlashAnsweredByAnotherReplica(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sendHere  bool
		deleted   bool
		edited    bool
		waitUntil time.Duration
	}{
		{"sent elsewhere", false, true, false, 2 * time.Second},
		{"sent here", true, false, true, 600 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := discordtest.New(testToken)
			defer f.Close()
			a, err := New(context.Background(), Options{Token: testToken, APIBase: f.URL, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			a.pendingGrace = 300 * time.Millisecond
			e := &fakeEngine{} // answers with one reply, which it never sends
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- a.Run(ctx, e) }()
			defer func() { cancel(); <-done }()
			f.Wait(5*time.Second, f.Connected)
			ann := user(f, "ann")
			iid := f.Slash(ann, "", "help", "")
			if !f.Wait(5*time.Second, func() bool { _, d := e.texts(); return len(d) == 1 }) {
				t.Fatal("the command's turn did not run")
			}
			if tc.sendHere {
				if _, err := a.Send(ctx, &bot.Outbound{ChatID: f.DMChannel(ann.ID), Text: "the answer"}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.deleted {
				if !f.Wait(tc.waitUntil, func() bool { return f.Response(iid).Deleted }) {
					t.Fatalf("the thinking response was not deleted: %+v", f.Response(iid))
				}
			} else {
				time.Sleep(tc.waitUntil)
			}
			r := f.Response(iid)
			if r.Deleted != tc.deleted || (r.Original != nil && r.Original.Content == "the answer") != tc.edited {
				t.Errorf("response deleted %v, edited with the answer %v; want %v, %v", r.Deleted, r.Original != nil, tc.deleted, tc.edited)
			}
		})
	}
}
