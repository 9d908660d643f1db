package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/config"
	"github.com/kefu-bot/kefu/bot/nlu"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/handlers/loyalty"
	"github.com/kefu-bot/kefu/handlers/priority"
	"github.com/kefu-bot/kefu/handlers/sla"
	"github.com/kefu-bot/kefu/models"
)

// app is one kefu process's wiring: database, writer, engine, dispatcher.
type app struct {
	cfg      config.Config
	log      *slog.Logger
	db       *models.DB
	writer   *bot.Writer
	engine   *bot.Engine
	disp     *bot.Dispatcher
	reg      *prometheus.Registry
	metrics  *bot.Metrics
	writerWG chan struct{}
	points   *handlers.Points
	deps     handlers.Deps // the handlers' policies, for reports such as the web dashboard
}

// loadConfig reads --config (else $KEFU_CONFIG) and the environment.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (config.Config, error) {
	path := fs.String("config", getenv("KEFU_CONFIG"), "configuration `file` (YAML)")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return config.Config{}, &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return config.Load(*path, getenv)
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openApp opens the database, seeds the demo shop if asked, and builds the
// engine with its writer and dispatcher. rooms are the staff destinations.
func openApp(ctx context.Context, cfg config.Config, log *slog.Logger, rooms []bot.Room, sweep time.Duration) (*app, error) {
	db, err := models.Open(ctx, models.Options{Driver: cfg.Database.Driver, DSN: cfg.Database.DSN.Reveal(),
		MaxReadConns: cfg.Database.MaxReadConns, BusyTimeout: cfg.Database.BusyTimeout})
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, db: db, reg: prometheus.NewRegistry(), writerWG: make(chan struct{})}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = bot.NewMetrics(a.reg)
	a.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kefu_outbox_depth", Help: "Outbound messages waiting to be sent.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := db.Read().CountPending(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))

	if cfg.Demo.Seed {
		var seeded bool
		err := db.Write(ctx, func(s *models.Store) (err error) { seeded, err = s.SeedDemo(ctx); return err })
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("seed demo data: %w", err)
		}
		if seeded {
			log.Info("demo shop data seeded")
		}
	}

	classifier, err := nlu.New()
	if err != nil {
		db.Close()
		return nil, err
	}
	catalog, err := bot.NewCatalog(handlers.Locales())
	if err != nil {
		db.Close()
		return nil, err
	}
	deps, err := handlerDeps(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	router := bot.NewRouter()
	handlers.Register(router, deps)
	// The nightly loyalty review (tiers, expiry catch-up) must run even in
	// a shop where no points moved since the last start.
	if err := db.Write(ctx, func(s *models.Store) error { return deps.Points.StartJobs(ctx, s) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("schedule loyalty jobs: %w", err)
	}
	if err := db.Write(ctx, func(s *models.Store) error {
		return handlers.StartPrivacyJobs(ctx, s, deps.Location, deps.Retention)
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("schedule retention purge: %w", err)
	}
	// Nightly segments and the next occurrence of each calendar campaign.
	if err := db.Write(ctx, func(s *models.Store) error { return deps.Insight.StartJobs(ctx, s) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("schedule insight jobs: %w", err)
	}
	log.Info("campaigns", "count", len(deps.Insight.Campaigns()), "dir", cfg.Insight.CampaignDir)
	a.points, a.deps = deps.Points, deps
	log.Info("surveys", "questionnaires", deps.Surveys.Names(), "dir", cfg.Surveys.Dir)
	// A missing directory means none, which is allowed; but a deployment
	// that forgot to ship the files should hear about it.
	for _, d := range []struct{ key, dir string }{{"insight.campaign_dir", cfg.Insight.CampaignDir}, {"surveys.dir", cfg.Surveys.Dir}} {
		if _, err := os.Stat(d.dir); d.dir != "" && errors.Is(err, fs.ErrNotExist) {
			log.Warn("directory not found; none loaded (set "+d.key+" to where the files are, or to \"\" for none)",
				"key", d.key, "dir", d.dir)
		}
	}

	a.writer = bot.NewWriter(db, cfg.Engine.BatchSize, cfg.Engine.QueueSize, a.metrics)
	a.writer.SetConcurrency(db.WriteConns()) // 1 on SQLite
	go func() { a.writer.Run(); close(a.writerWG) }()
	d := cfg.Dispatcher
	if sweep <= 0 {
		sweep = d.SweepInterval
	}
	a.disp = bot.NewDispatcher(bot.DispatcherOptions{DB: db, Writer: a.writer, Log: log, Metrics: a.metrics,
		Workers: d.Workers, MaxAttempts: d.MaxAttempts, InitialBackoff: d.InitialBackoff, MaxBackoff: d.MaxBackoff,
		ChatLimit: bot.Limit{PerSecond: d.PerChatRate, Burst: d.PerChatBurst}, GlobalLimit: bot.Limit{PerSecond: d.GlobalRate, Burst: int(d.GlobalRate)},
		SweepInterval: sweep, Replica: replicaName(db), Lease: d.Lease})
	a.engine, err = bot.New(bot.Options{DB: db, Writer: a.writer, Router: router, Catalog: catalog, NLU: classifier,
		Log: log, Metrics: a.metrics, StaffRooms: rooms, StaffLang: cfg.Shop.DefaultLanguage, DefaultLang: cfg.Shop.DefaultLanguage,
		MaxTextBytes: cfg.Engine.MaxTextBytes, FloodPerMinute: cfg.Engine.FloodPerMinute, Notify: a.disp.Notify})
	if err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// handlerDeps turns the support and priority configuration into the
// handlers' rules. Mistakes are configuration errors naming the key.
func handlerDeps(cfg config.Config) (handlers.Deps, error) {
	bad := func(key string, err error) error {
		return &config.Error{Problems: []config.Problem{{Key: key, Message: err.Error()}}}
	}
	loc := cfg.Location()
	s := cfg.Support
	cal, err := sla.ParseCalendar(loc, s.BusinessHours, s.Holidays, s.Workdays)
	if err != nil {
		return handlers.Deps{}, bad("support.business_hours", err)
	}
	policy := sla.Policy{
		"P1": {FirstResponse: s.P1FirstResponse, Resolution: s.P1Resolution},
		"P2": {FirstResponse: s.P2FirstResponse, Resolution: s.P2Resolution},
		"P3": {FirstResponse: s.P3FirstResponse, Resolution: s.P3Resolution},
		"P4": {FirstResponse: s.P4FirstResponse, Resolution: s.P4Resolution},
	}
	p := cfg.Priority
	rules := priority.DefaultRules()
	rules.HighValueTiers = append(rules.HighValueTiers, p.HighValueTiers...)
	rules.ThreatWords = append(rules.ThreatWords, p.ExtraThreatWords...)
	rules.AngerWords = append(rules.AngerWords, p.ExtraAngerWords...)
	rules.UrgencyWords = append(rules.UrgencyWords, p.ExtraUrgencyWords...)
	rules.Thresholds = [3]int{p.P1Score, p.P2Score, p.P3Score}
	if err := rules.Validate(); err != nil {
		return handlers.Deps{}, bad("priority", err)
	}
	lr, err := loyaltyRules(cfg.Loyalty)
	if err != nil {
		return handlers.Deps{}, bad("loyalty", err)
	}
	points := handlers.NewPoints(lr, loc, cfg.Loyalty.UpgradeCoupon)
	quiet, err := handlers.ParseQuietHours(cfg.Orders.QuietHours)
	if err != nil {
		return handlers.Deps{}, bad("orders.quiet_hours", err)
	}
	window := cfg.Orders.ReturnWindow
	if window == 0 {
		window = -1 // 0 in the config refuses every return; in Deps it is the default
	}
	so, err := surveyOptions(cfg.Surveys)
	if err != nil {
		return handlers.Deps{}, err
	}
	surveys := handlers.NewSurveys(so, loc)
	iopt, err := insightOptions(cfg.Insight, cfg.Shop.Name, points)
	if err != nil {
		return handlers.Deps{}, err
	}
	in := handlers.NewInsight(iopt, loc)
	return handlers.Deps{ShopName: cfg.Shop.Name, Location: loc, Calendar: &cal, Policy: policy, Priority: &rules,
		WarnAt: s.WarnAt, AutoClose: s.AutoClose, ReopenWindow: s.ReopenWindow,
		Points: points, Surveys: surveys,
		Insight: in,
		// Order hooks: delivered orders earn points, cancelled, returned
		// and refunded ones take them back; a delivery schedules the NPS
		// survey and delivery-triggered questionnaires.
		// Delivery-triggered care campaigns (post-delivery tips) too.
		OrderHooks:   []handlers.OrderHook{handlers.PointsHook(points), handlers.SurveyHook(surveys), handlers.CampaignHook(in)},
		ReturnWindow: window, QuietHours: quiet, NotifyStatuses: cfg.Orders.NotifyStatuses,
		Retention: models.Retention{Texts: cfg.Privacy.MessageRetention, Attachments: cfg.Privacy.AttachmentRetention}}, nil
}

// loyaltyRules turns the loyalty section into the programme's rules.
func loyaltyRules(l config.Loyalty) (loyalty.Rules, error) {
	r := loyalty.DefaultRules()
	tiers, err := loyalty.ParseTiers(l.Tiers)
	if err != nil {
		return r, err
	}
	mult, err := loyalty.ParseMultipliers(l.CategoryMultipliers)
	if err != nil {
		return r, err
	}
	r.PointsPerUnit, r.CategoryMultipliers, r.Tiers, r.Basis = l.PointsPerUnit, mult, tiers, l.TierBasis
	r.Validity, r.ExpiryReminder = l.PointsValidity, l.ExpiryReminder
	r.FirstOrderBonus, r.SurveyBonus, r.BirthdayBonus = l.FirstOrderBonus, l.SurveyBonus, l.BirthdayBonus
	return r, r.Validate()
}

// health is nil when the database answers and the last commit went through.
func (a *app) health(ctx context.Context) error {
	if err := a.db.Ping(ctx); err != nil {
		return err
	}
	if err := a.writer.Err(); err != nil {
		return fmt.Errorf("last commit failed: %w", err)
	}
	return nil
}

// close stops the writer (committing what is queued) and closes the database.
func (a *app) close() error {
	if a.writer != nil {
		a.writer.Stop()
		<-a.writerWG
	}
	return a.db.Close()
}
