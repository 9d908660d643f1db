package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/kefu-bot/kefu/bot/config"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/models"
)

const pointsUsage = `usage:
  kefu points history CUSTOMER_REF [--config FILE]        ledger with running balance
  kefu points adjust CUSTOMER_REF N --reason TEXT [--key KEY] [--config FILE]
                                                          add (N > 0) or take (N < 0) points, audited
  kefu points report [--json] [--config FILE]             liability: outstanding, expiring, by tier`

// cmdPoints is `kefu points history|adjust|report`.
func cmdPoints(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{pointsUsage}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("kefu points "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var pos []string
	var reason, key *string
	var asJSON *bool
	switch sub {
	case "history":
		if len(args) < 1 {
			return &usageError{pointsUsage}
		}
		pos, args = args[:1], args[1:]
	case "adjust":
		// Positionals first: a negative N would otherwise read as a flag.
		if len(args) < 2 {
			return &usageError{pointsUsage}
		}
		pos, args = args[:2], args[2:]
		reason = fs.String("reason", "", "why (required; shown to the customer)")
		key = fs.String("key", "", "idempotency `key`: running the same adjustment twice with it changes points once")
	case "report":
		asJSON = fs.Bool("json", false, "print one JSON object")
	default:
		return &usageError{pointsUsage}
	}
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	deps, db, err := openCommand(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "history":
		return pointsHistory(ctx, db, pos[0], stdout)
	case "adjust":
		n, err := strconv.ParseInt(pos[1], 10, 64)
		if err != nil || n == 0 {
			return &usageError{fmt.Sprintf("N must be a non-zero whole number, got %q", pos[1])}
		}
		if *reason == "" {
			return &usageError{"--reason is required"}
		}
		return pointsAdjust(ctx, db, deps.Points, pos[0], n, *reason, *key, getenv, stdout)
	}
	return pointsReport(ctx, db, deps, *asJSON, stdout)
}

// openCommand builds the handlers' settings and opens the database, for
// subcommands that work on kefu run's data; the caller closes db.
func openCommand(ctx context.Context, cfg config.Config) (handlers.Deps, *models.DB, error) {
	deps, err := handlerDeps(cfg)
	if err != nil {
		return handlers.Deps{}, nil, err
	}
	db, err := openStore(ctx, cfg)
	return deps, db, err
}

func openStore(ctx context.Context, cfg config.Config) (*models.DB, error) {
	return models.Open(ctx, models.Options{Driver: cfg.Database.Driver, DSN: cfg.Database.DSN.Reveal(), BusyTimeout: cfg.Database.BusyTimeout})
}

func customerByRef(ctx context.Context, s *models.Store, ref string) (*models.Customer, error) {
	c, err := s.CustomerByRef(ctx, ref)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("no customer with reference %q", ref)
	}
	return c, err
}

func pointsHistory(ctx context.Context, db *models.DB, ref string, stdout io.Writer) error {
	s := db.Read()
	c, err := customerByRef(ctx, s, ref)
	if err != nil {
		return err
	}
	hist, err := s.PointsHistory(ctx, c.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s · tier %s · balance %d\n\n", ref, c.Name, orDash(c.Tier), c.PointsBalance)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tKIND\tPOINTS\tBALANCE\tREFERENCE\tREASON\tEXPIRES\tLEFT")
	for _, e := range hist {
		exp, left := "", ""
		if e.Points > 0 && e.ExpiresAt != nil {
			exp, left = e.ExpiresAt.Format(time.DateOnly), strconv.FormatInt(e.Remaining, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%+d\t%d\t%s\t%s\t%s\t%s\n", e.CreatedAt.Format(time.DateOnly), e.Kind, e.Points, e.Balance,
			e.RefKind+" "+e.RefID, e.Reason, exp, left)
	}
	return tw.Flush()
}

func pointsAdjust(ctx context.Context, db *models.DB, p *handlers.Points, ref string, n int64, reason, key string,
	getenv func(string) string, stdout io.Writer) error {
	actor := "cli:" + getenv("USER")
	if key == "" {
		key = fmt.Sprintf("cli:%s:%d", ref, time.Now().UnixNano())
	}
	var bal int64
	var name string
	err := db.Write(ctx, func(s *models.Store) error {
		c, err := customerByRef(ctx, s, ref)
		if err != nil {
			return err
		}
		name = c.Name
		bal, err = p.Adjust(ctx, s, c.ID, n, reason, actor, models.RefStaff, "cli", key)
		return err
	})
	var short *models.InsufficientPointsError
	if errors.As(err, &short) {
		return fmt.Errorf("%s has only %d points; nothing was taken", ref, short.Balance)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s: %+d points (%s). Balance: %d.\n", ref, name, n, reason, bal)
	return nil
}

func pointsReport(ctx context.Context, db *models.DB, deps handlers.Deps, asJSON bool, stdout io.Writer) error {
	l, err := db.Read().PointsLiability(ctx, time.Now())
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(l)
	}
	fmt.Fprintf(stdout, "Points outstanding: %d (%d customers)\nExpiring within 30 days: %d\nExpiring within 90 days: %d\n\n",
		l.Outstanding, l.Customers, l.Expiring30, l.Expiring90)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIER\tPOINTS")
	// Tiers in programme order, then anything else stored on customers.
	seen := map[string]bool{}
	for _, t := range deps.Points.Rules().Tiers {
		seen[t.Name] = true
		fmt.Fprintf(tw, "%s %s\t%d\n", t.Name, t.NameEN, l.ByTier[t.Name])
	}
	var other []string
	for name := range l.ByTier {
		if !seen[name] {
			other = append(other, name)
		}
	}
	sort.Strings(other)
	for _, name := range other {
		fmt.Fprintf(tw, "%s\t%d\n", orDash(name), l.ByTier[name])
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
