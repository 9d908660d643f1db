package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/kefu-bot/kefu/handlers/orderfile"
	"github.com/kefu-bot/kefu/models"
)

const importUsage = `usage:
  kefu import orders FILE [--strict] [--config FILE]
      read orders from a CSV or JSON file ("-" reads stdin) into the database;
      exit 0 all imported, 3 some rows skipped, 4 nothing imported (--strict: any bad row)`

// Exit statuses of kefu import orders.
const (
	exitSkipped  = 3 // bad rows were reported and skipped, the rest imported
	exitRejected = 4 // nothing was imported (--strict with a bad row, or no good row)
)

// exitError ends kefu with a given exit status after printing its message.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// cmdImport is `kefu import orders FILE [--strict]`.
func cmdImport(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "orders" {
		return &usageError{importUsage}
	}
	file, args := args[1], args[2:]
	fs := flag.NewFlagSet("kefu import orders", flag.ContinueOnError)
	fs.SetOutput(stderr)
	strict := fs.Bool("strict", false, "import nothing if any row is bad")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	var in io.Reader = stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("import orders: %w", err)
		}
		defer f.Close()
		in = f
	}
	br := bufio.NewReader(in)
	head, _ := br.Peek(512)
	rows, bad, err := orderfile.Parse(br, orderfile.Detect(file, head), cfg.Location())
	if err != nil {
		return &exitError{code: exitRejected, msg: fmt.Sprintf("%s: %v; nothing imported", file, err)}
	}
	for _, e := range bad {
		fmt.Fprintf(stderr, "%s: %s\n", file, e.Error())
	}
	switch {
	case *strict && len(bad) > 0:
		return &exitError{code: exitRejected, msg: fmt.Sprintf("%s: %d bad row(s); --strict: nothing imported", file, len(bad))}
	case len(rows) == 0:
		return &exitError{code: exitRejected, msg: fmt.Sprintf("%s: no good rows; nothing imported", file)}
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	orders := make([]models.OrderInput, len(rows))
	for i, r := range rows {
		orders[i] = r.Order
	}
	var res []models.UpsertResult
	err = db.Write(ctx, func(s *models.Store) (err error) {
		res, err = s.UpsertOrders(ctx, orders, "import")
		if err != nil {
			return err
		}
		return s.Audit(ctx, "cli:"+orDefault(getenv("USER"), "unknown"), "orders.import", file, fmt.Sprintf("%d rows, %d skipped", len(rows), len(bad)))
	})
	if err != nil {
		return fmt.Errorf("import orders: %w", err)
	}
	counts := map[string]int{}
	changes := 0
	for _, r := range res {
		counts[r.Outcome]++
		if r.Event != nil && r.Event.From != "" {
			changes++
		}
	}
	fmt.Fprintf(stdout, "%s: %d order(s) imported: %d created, %d updated, %d unchanged; %d status change(s) to notify; %d row(s) skipped\n",
		file, len(res), counts[models.OrderCreated], counts[models.OrderUpdated], counts[models.OrderUnchanged], changes, len(bad))
	if len(bad) > 0 {
		return &exitError{code: exitSkipped, msg: fmt.Sprintf("%s: %d bad row(s) skipped (listed above)", file, len(bad))}
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// asExit returns the exit status an exitError carries.
func asExit(err error) (int, bool) {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code, true
	}
	return 0, false
}
