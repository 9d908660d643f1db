// Command kefu is the customer-service bot: `kefu run` serves every
// configured channel; `kefu chat` talks to it from the terminal; `kefu
// intent` shows what it understands. main only calls run.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kefu-bot/kefu/bot/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kefu:", err)
		os.Exit(exitCode(err))
	}
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitCode is 2 for usage and configuration mistakes, 1 for everything else.
func exitCode(err error) int {
	if code, ok := asExit(err); ok {
		return code
	}
	var ue *usageError
	var ce *config.Error
	if errors.As(err, &ue) || errors.As(err, &ce) {
		return 2
	}
	return 1
}

const usage = `kefu — customer service for online shops (客服)

Usage:
  kefu run    [--config FILE]                 serve every configured channel, the web endpoints and the scheduler
  kefu chat   [--config FILE] [--as NAME] [--staff]
                                              chat from this terminal as a customer, or as staff
  kefu intent [TEXT...]                       classify texts (or stdin lines) and print JSON
  kefu report tickets [--since 720h] [--json|--csv]
                                              ticket counts, response times and SLA attainment
  kefu bench  [--duration 10s] [--customers N] [--rate N] [--json] …
                                              load test: simulated customers through the whole engine
  kefu report surveys [--since 2016h] [--json|--csv] [--chart FILE]
                                              CSAT %, NPS and response rate by channel, agent, category and week
  kefu survey list | feedback | send NAME [--segment lang=zh,orders=yes] [--dry-run]
                                              questionnaires; unprompted feedback; send a survey to a segment
  kefu points history CUSTOMER_REF            a customer's points ledger with running balance
  kefu points adjust CUSTOMER_REF N --reason TEXT
                                              add or take points (audited)
  kefu points report [--json]                 points liability: outstanding, expiring, by tier
  kefu segments refresh [--json]              RFM scores, value segment and lifecycle stage of every customer, now
  kefu campaign list | run NAME [--dry-run]   care campaigns and their outcomes; send one (dry run: who gets what)
  kefu report customers [--json|--csv] [--chart FILE]
                                              segment sizes, lifecycle flow, churn and repeat purchase rates
  kefu import orders FILE [--strict]          import orders from CSV or JSON (exit 3: rows skipped, 4: nothing imported)
  kefu staff  add|passwd|list [NAME]          web inbox accounts (password prompted or from stdin)
  kefu version                                print the version

The configuration is read from --config, else $KEFU_CONFIG, else built-in
defaults; KEFU_<SECTION>_<KEY> variables override it (see config.example.yaml).
`

// run dispatches the subcommand. Everything below is testable without a
// process: arguments, environment and streams come in as parameters.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return &usageError{"no command given"}
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "run":
		return cmdRun(ctx, rest, getenv, stdout, stderr)
	case "chat":
		return cmdChat(ctx, rest, getenv, stdin, stdout, stderr)
	case "intent":
		return cmdIntent(rest, stdin, stdout)
	case "report":
		return cmdReport(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, getenv, stdout, stderr)
	case "points":
		return cmdPoints(ctx, rest, getenv, stdout, stderr)
	case "import":
		return cmdImport(ctx, rest, getenv, stdin, stdout, stderr)
	case "survey":
		return cmdSurvey(ctx, rest, getenv, stdout, stderr)
	case "staff":
		return cmdStaff(ctx, rest, getenv, stdin, stdout, stderr)
	case "segments":
		return cmdSegments(ctx, rest, getenv, stdout, stderr)
	case "campaign":
		return cmdCampaign(ctx, rest, getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "kefu", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return &usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"
