package handlers_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/nlu"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestMain runs every test on SQLite and, with KEFU_TEST_POSTGRES_DSN, on
// PostgreSQL too.
func TestMain(m *testing.M) { modelstest.Main(m) }

// shared are what every test engine can share: the classifier (trained
// once) and the catalogue.
var shared = sync.OnceValues(func() (*nlu.Classifier, error) { return nlu.New() })

// setup describes a test engine; the zero value is a plain one.
type setup struct {
	Deps   handlers.Deps
	Now    func() time.Time // the clock of the database and the engine
	Log    *slog.Logger
	Notify func([]*models.Message)
	Rooms  []bot.Room // default: the terminal staff room "staff"
	DSN    string     // default: a fresh database (modelstest.DSN)
	Flood  int        // the engine's FloodPerMinute; 0: no flood gate
}

// newEngine returns the real handlers on a real SQLite database in a
// temporary directory, with a running writer.
func newEngine(tb testing.TB, s setup) (*bot.Engine, *models.DB) {
	tb.Helper()
	ctx := context.Background()
	if s.DSN == "" {
		s.DSN = modelstest.DSN(tb)
	}
	// A DSN from modelstest follows the run's driver; a file a test chose
	// is SQLite in either run.
	driver := models.DriverSQLite
	if strings.HasPrefix(s.DSN, "postgres") {
		driver = models.DriverPostgres
	}
	db, err := models.Open(ctx, models.Options{Driver: driver, DSN: s.DSN, Now: s.Now})
	if err != nil {
		tb.Fatal(err)
	}
	w := bot.NewWriter(db, 64, 1024, nil)
	done := make(chan struct{})
	go func() { w.Run(); close(done) }()
	tb.Cleanup(func() { w.Stop(); <-done; db.Close() })
	classifier, err := shared()
	if err != nil {
		tb.Fatal(err)
	}
	cat, err := bot.NewCatalog(handlers.Locales())
	if err != nil {
		tb.Fatal(err)
	}
	if s.Deps.ShopName == "" {
		s.Deps.ShopName = "Demo Shop"
	}
	if s.Rooms == nil {
		s.Rooms = []bot.Room{{Channel: "console", ChatID: "staff"}}
	}
	r := bot.NewRouter()
	handlers.Register(r, s.Deps)
	e, err := bot.New(bot.Options{DB: db, Writer: w, Router: r, Catalog: cat, NLU: classifier, Log: s.Log,
		StaffRooms: s.Rooms, Now: s.Now, Notify: s.Notify, FloodPerMinute: s.Flood})
	if err != nil {
		tb.Fatal(err)
	}
	return e, db
}
