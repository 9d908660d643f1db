package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/console"
	"github.com/kefu-bot/kefu/models"
)

// cmdChat is `kefu chat`: the terminal as a customer's chat, or with
// --staff as the staff room. Run both in two terminals against the same
// database to try the whole customer → staff → customer loop.
func cmdChat(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kefu chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	staff := fs.Bool("staff", false, "join the staff room instead of chatting as a customer")
	as := fs.String("as", "", "your `name` (customer or staff); default alice, or the first console.staff_ids entry")
	lang := fs.String("lang", "", "your locale, e.g. zh-CN or en (default $LANG)")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	// Logs would interleave with the chat: keep only warnings and errors.
	if cfg.Log.Level == "info" || cfg.Log.Level == "debug" {
		cfg.Log.Level = "warn"
	}
	log := newLogger(cfg.Log, stderr)
	user := *as
	if user == "" {
		user = "alice"
		if *staff && len(cfg.Console.StaffIDs) > 0 {
			user = cfg.Console.StaffIDs[0]
		}
	}
	if *staff && !contains(cfg.Console.StaffIDs, user) {
		return &usageError{fmt.Sprintf("%q is not staff: add it to console.staff_ids (KEFU_CONSOLE_STAFF_IDS)", user)}
	}
	locale := *lang
	if locale == "" {
		locale = getenv("LANG")
	}

	a, err := openApp(ctx, cfg, log, []bot.Room{{Channel: models.ChannelConsole, ChatID: console.StaffRoom}}, 300*time.Millisecond)
	if err != nil {
		return err
	}
	term := console.New(stdout, user, locale, *staff, time.Now())
	a.disp.AddChannel(term, term.ChatID())
	if *staff {
		fmt.Fprintf(stdout, "kefu staff room — you are %s. /tickets lists open tickets, /help the commands.\n", user)
	} else {
		fmt.Fprintf(stdout, "kefu chat — you are %s. Type a message (try \"hi\" or \"我要人工\"); a number presses a button; Ctrl-D quits.\n", user)
	}

	dctx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	g := new(errgroup.Group)
	g.Go(func() error { return a.disp.Run(dctx) })
	err = term.Run(ctx, stdin, a.engine, time.Now)
	// Let replies to the last lines arrive before leaving.
	waitDrained(ctx, a, term.ChatID(), 5*time.Second)
	stopDispatch()
	_ = g.Wait()
	if cerr := a.close(); err == nil {
		err = cerr
	}
	return err
}

// waitDrained waits until this terminal's chat has nothing pending.
func waitDrained(ctx context.Context, a *app, chatID string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		rows, err := a.db.Read().PendingOutbound(ctx, models.OutboxFilter{Channel: models.ChannelConsole, ChatID: chatID, Limit: 1})
		if err == nil && len(rows) == 0 && a.disp.Queued()[models.ChannelConsole] == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
