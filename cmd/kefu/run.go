package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/admin"
	"github.com/kefu-bot/kefu/bot/config"
	"github.com/kefu-bot/kefu/bot/console"
	"github.com/kefu-bot/kefu/bot/discord"
	"github.com/kefu-bot/kefu/bot/telegram"
	"github.com/kefu-bot/kefu/bot/web"
	"github.com/kefu-bot/kefu/models"
)

// telegramWebhookPath is where kefu's HTTP server takes Telegram's updates
// in webhook mode; telegram.webhook_url must reach it.
const telegramWebhookPath = "/telegram/webhook"

// ordersWebhookPath is where the shop platform posts signed order updates.
const ordersWebhookPath = "/webhooks/orders"

// cmdRun is `kefu run`: every configured channel, the dispatcher, the
// scheduler and the HTTP server, until SIGINT or SIGTERM.
func cmdRun(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kefu run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	started := time.Now()
	if path := fs.Lookup("config").Value.String(); path != "" {
		if keys, err := config.ExposedSecrets(path); err == nil && len(keys) > 0 {
			log.Warn("config file is readable by every user on this machine and holds secrets; restrict it (chmod 600) or move the secrets to the environment",
				"file", path, "keys", strings.Join(keys, ","))
		}
	}
	if cfg.Database.Driver == "sqlite" && models.ExposedDatabase(cfg.Database.DSN.Reveal()) {
		// The path is not logged: the DSN is a secret (it may carry a password).
		log.Warn("database file is readable by every user on this machine and holds every conversation; restrict it (chmod 600 the file and its -wal and -shm files)")
	}

	var rooms []bot.Room
	if cfg.Telegram.Enabled() && cfg.Telegram.StaffChatID != 0 {
		rooms = append(rooms, bot.Room{Channel: models.ChannelTelegram, ChatID: strconv.FormatInt(cfg.Telegram.StaffChatID, 10)})
	}
	if cfg.Discord.Enabled() && cfg.Discord.StaffChannelID != "" {
		rooms = append(rooms, bot.Room{Channel: models.ChannelDiscord, ChatID: cfg.Discord.StaffChannelID})
	}
	// Without a platform staff room, escalations go to the terminal staff
	// room, where `kefu chat --staff` picks them up.
	if len(rooms) == 0 {
		rooms = []bot.Room{{Channel: models.ChannelConsole, ChatID: console.StaffRoom}}
	}
	// Web inbox: every signed-in inbox gets ticket cards and relays live.
	if cfg.Web.Enabled {
		rooms = append(rooms, bot.Room{Channel: models.ChannelWeb, ChatID: web.InboxRoom})
	}
	a, err := openApp(ctx, cfg, log, rooms, 0)
	if err != nil {
		return err
	}
	var tg *telegram.Adapter
	if cfg.Telegram.Enabled() {
		// A wrong token is one clear error (from getMe) before anything serves.
		tg, err = telegram.New(telegram.Options{Token: cfg.Telegram.Token.Reveal(), APIEndpoint: cfg.Telegram.APIEndpoint,
			StaffChatID: cfg.Telegram.StaffChatID, StaffUserIDs: cfg.Telegram.StaffUserIDs, StaffAdmins: cfg.Telegram.StaffAdmins,
			PollTimeout: cfg.Telegram.PollTimeout, Log: log.With("channel", models.ChannelTelegram),
			Commands: a.engine.Router().Commands(), Catalog: a.engine.Catalog(), Proxies: trustedProxies(cfg)})
		if err != nil {
			a.close()
			return err
		}
		a.disp.AddChannel(tg, "")
	}
	var dc *discord.Adapter
	if cfg.Discord.Enabled() {
		// A wrong token is one clear error (from /users/@me) before anything serves.
		d := cfg.Discord
		dc, err = discord.New(ctx, discord.Options{Token: d.Token.Reveal(), APIBase: d.APIBase, GuildID: d.GuildID,
			StaffChannelID: d.StaffChannelID, StaffRoleID: d.StaffRoleID, SupportChannelID: d.SupportChannelID,
			ShardID: d.ShardID, ShardCount: d.ShardCount, Cursors: discord.StoreCursors{DB: a.db, Writer: a.writer},
			Log: log.With("channel", models.ChannelDiscord), Commands: a.engine.Router().Commands(), Catalog: a.engine.Catalog()})
		if err != nil {
			a.close()
			return err
		}
		a.disp.AddChannel(dc, "")
	}
	mount := map[string]http.Handler{}
	webhook := tg != nil && cfg.Telegram.Mode == "webhook"
	if webhook {
		mount["POST "+telegramWebhookPath] = tg.WebhookHandler(a.engine, cfg.Telegram.WebhookSecret.Reveal())
	}
	if tok := cfg.HTTP.AdminToken.Reveal(); tok != "" {
		rw := requireToken(tok, http.StripPrefix("/api/rewards", admin.NewRewardsHandler(a.db, log.With("api", "rewards"))))
		mount["/api/rewards"], mount["/api/rewards/"] = rw, rw
		mount["/api/orders"] = requireToken(tok, admin.NewOrdersHandler(a.db, cfg.Location(), log.With("api", "orders")))
	}
	if secret := cfg.Orders.WebhookSecret.Reveal(); secret != "" {
		// Signed by the shop platform (HMAC-SHA256, see bot/admin/webhook.go), not by the admin token.
		mount[ordersWebhookPath] = admin.NewOrderWebhook(a.db, admin.WebhookOptions{Secret: []byte(secret),
			Tolerance: cfg.Orders.WebhookTolerance, Location: cfg.Location(), Log: log.With("api", "orders-webhook"), Proxies: trustedProxies(cfg)})
	}
	// Web chat and inbox.
	var login string
	var onShutdown []func()
	if cfg.Web.Enabled {
		site, err := newWebSite(ctx, a, log)
		if err == nil && cfg.Demo.Seed {
			if err = seedDemoStaff(ctx, a.db, cfg.Demo.StaffName); err != nil {
				site.Close() // its replica listener would outlive the failed start
			}
			login = demoLogin(ctx, a.db, cfg.Demo.StaffName)
		}
		if err != nil {
			a.close()
			return err
		}
		a.disp.AddChannel(site.Channel(), "")
		maps.Copy(mount, site.Mount())
		onShutdown = append(onShutdown, site.Close)
	}
	srv := web.New(web.Options{Addr: cfg.HTTP.Addr, Health: a.health, Log: log, ShutdownTimeout: cfg.HTTP.ShutdownTimeout,
		Metrics: promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}), Mount: mount, OnShutdown: onShutdown})
	addr, err := srv.Listen()
	if err != nil {
		a.close()
		return err
	}
	log.Info("kefu started", "http", addr.String(), "db", cfg.Database.Driver, "startup", time.Since(started).Round(time.Millisecond))
	printStarted(stdout, cfg.Web.Enabled, baseURL(cfg.Web.PublicURL, addr), addr, login)

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx) })
	g.Go(func() error { return a.disp.Run(gctx) })
	g.Go(func() error { return a.engine.RunScheduler(gctx, cfg.Scheduler.PollInterval, cfg.Scheduler.BatchSize) })
	if tg != nil {
		if err := tg.RegisterCommands(gctx); err != nil {
			log.Warn("telegram: could not register commands", "err", err)
		}
		if webhook {
			// Telegram posts updates to webhook_url, which a proxy forwards to
			// this server's /telegram/webhook; each is answered 200 only after
			// its turn committed.
			if err := tg.SetWebhook(gctx, cfg.Telegram.WebhookURL, cfg.Telegram.WebhookSecret.Reveal()); err != nil {
				stop()
				g.Wait()
				a.close()
				return err
			}
		} else {
			// A webhook left from an earlier run would make every poll a 409.
			if err := tg.DeleteWebhook(gctx); err != nil {
				log.Warn("telegram: could not delete an old webhook", "err", err)
			}
			g.Go(func() error { return tg.Poll(gctx, a.engine) })
		}
		log.Info("telegram started", "mode", cfg.Telegram.Mode, "staff_chat", cfg.Telegram.StaffChatID)
	}
	if dc != nil {
		if err := dc.RegisterCommands(gctx); err != nil {
			log.Warn("discord: could not register slash commands", "err", err)
		}
		// Run returns an error only if the gateway cannot be opened at all
		// (a token Discord refuses there): kefu then stops with it.
		g.Go(func() error { return dc.Run(gctx, a.engine) })
		log.Info("discord started", "guild", cfg.Discord.GuildID, "staff_channel", cfg.Discord.StaffChannelID)
	}
	err = g.Wait()
	// Every producer has stopped: commit what is queued, then close.
	if cerr := a.close(); err == nil {
		err = cerr
	}
	log.Info("kefu stopped")
	return err
}

// requireToken lets through only requests carrying "Authorization: Bearer
// token"; the comparison takes the same time whatever the guess.
func requireToken(token string, next http.Handler) http.Handler {
	// Digests of equal length, so the comparison's time says nothing about
	// the token, not even its length.
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kefu admin"`)
			http.Error(w, `{"errors":["unauthorized"]}`, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// printStarted tells the person who ran kefu where to go next.
func printStarted(w io.Writer, webOn bool, base string, addr net.Addr, login string) {
	fmt.Fprintln(w, "kefu is running.")
	if webOn {
		fmt.Fprintf(w, "  web chat (customers): %s/chat\n", base)
		fmt.Fprintf(w, "  staff inbox:          %s/inbox\n", base)
		if login != "" {
			fmt.Fprintf(w, "  demo staff sign-in:   %s\n", login)
		}
		fmt.Fprintf(w, "  embed on your site:   <script src=\"%s/chat/embed.js\" async></script>\n", base)
	}
	fmt.Fprintf(w, "  health:  http://%s/healthz\n  metrics: http://%s/metrics\n", addr, addr)
	fmt.Fprintln(w, "  chat as a customer in this terminal: go run ./cmd/kefu chat --as alice")
	fmt.Fprintln(w, "  answer as staff in this terminal:    go run ./cmd/kefu chat --staff")
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}
