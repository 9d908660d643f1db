package discord

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/discord/discordtest"
	"github.com/kefu-bot/kefu/bot/nlu"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestMain runs every test on SQLite and, with KEFU_TEST_POSTGRES_DSN, on
// PostgreSQL too.
func TestMain(m *testing.M) { modelstest.Main(m) }

const testToken = "MTE.fake-SECRET.token"

var classifier = sync.OnceValues(func() (*nlu.Classifier, error) { return nlu.New() })

// env is the whole of kefu for Discord: real handlers and engine on real
// SQLite, the dispatcher, and the real discordgo session of an Adapter,
// against a fake Discord.
type env struct {
	f                    *discordtest.Server
	a                    *Adapter
	e                    *bot.Engine
	db                   *models.DB
	w                    *bot.Writer
	staff, support, role string
	logs                 *syncBuffer
	stop                 func()
	cat                  *bot.Catalog
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEnv starts everything on f (a new fake if nil) and db (a new
// database if "").
func newEnv(t *testing.T, f *discordtest.Server, dbPath string) *env {
	t.Helper()
	if f == nil {
		f = discordtest.New(testToken)
		t.Cleanup(f.Close)
	}
	if dbPath == "" {
		dbPath = modelstest.DSN(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	db, err := models.Open(ctx, models.Options{Driver: modelstest.Driver(), DSN: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	w := bot.NewWriter(db, 64, 1024, nil)
	wdone := make(chan struct{})
	go func() { w.Run(); close(wdone) }()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	nl, err := classifier()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := bot.NewCatalog(handlers.Locales())
	if err != nil {
		t.Fatal(err)
	}
	ev := &env{f: f, db: db, w: w, logs: logs, cat: cat}
	ev.staff, ev.support, ev.role = channelNamed(f, "staff"), channelNamed(f, "support"), roleID(f)
	disp := bot.NewDispatcher(bot.DispatcherOptions{DB: db, Writer: w, Log: log, InitialBackoff: 50 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, SweepInterval: 200 * time.Millisecond})
	r := bot.NewRouter()
	handlers.Register(r, handlers.Deps{ShopName: "Demo Shop"})
	e, err := bot.New(bot.Options{DB: db, Writer: w, Router: r, Catalog: cat, NLU: nl, Log: log,
		StaffRooms: []bot.Room{{Channel: Name, ChatID: ev.staff}}, Notify: disp.Notify})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(ctx, Options{Token: testToken, APIBase: f.URL, GuildID: f.Guild, StaffChannelID: ev.staff,
		StaffRoleID: ev.role, SupportChannelID: ev.support, Cursors: StoreCursors{DB: db, Writer: w}, Log: log,
		Commands: r.Commands(), Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	a.errorMin, a.errorMax, a.flushEvery = 10*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	disp.AddChannel(a, "")
	ev.a, ev.e = a, e
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := disp.Run(ctx); err != nil {
			t.Errorf("dispatcher: %v", err)
		}
	})
	wg.Go(func() {
		if err := a.Run(ctx, e); err != nil {
			t.Errorf("adapter: %v", err)
		}
	})
	var once sync.Once
	ev.stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			w.Stop()
			<-wdone
			db.Close()
		})
	}
	t.Cleanup(ev.stop)
	if !f.Wait(5*time.Second, f.Connected) {
		t.Fatalf("the adapter did not connect to the gateway; logs:\n%s", logs)
	}
	return ev
}

// channelNamed returns the id of the fake's channel with that name,
// creating it (so a restarted env finds the same channels).
func channelNamed(f *discordtest.Server, name string) string {
	if id := f.ChannelID(name); id != "" {
		return id
	}
	return f.AddChannel(name)
}

func roleID(f *discordtest.Server) string {
	if id := f.ChannelID("@staff-role"); id != "" {
		return id
	}
	return f.AddChannel("@staff-role") // a snowflake kept by name; never posted in
}

// texts returns the contents of messages.
func texts(ms []discordtest.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Content)
	}
	return out
}

// waitBot waits until the bot posted at least n messages in channel.
func (ev *env) waitBot(t *testing.T, channel string, n int) []discordtest.Message {
	t.Helper()
	if !ev.f.Wait(10*time.Second, func() bool { return len(ev.f.BotMessages(channel)) >= n }) {
		t.Fatalf("bot posted %d messages in %s, want %d: %q\nlogs:\n%s", len(ev.f.BotMessages(channel)), channel, n,
			texts(ev.f.BotMessages(channel)), ev.logs)
	}
	return ev.f.BotMessages(channel)
}

func user(f *discordtest.Server, name string) discordtest.User {
	return discordtest.User{ID: f.NewID(), Username: name}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func openDB(path string) (*models.DB, error) {
	return models.Open(context.Background(), models.Options{Driver: modelstest.Driver(), DSN: path})
}
