package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/kefu-bot/kefu/bot/web"
	"github.com/kefu-bot/kefu/models"
)

const staffUsage = `usage:
  kefu staff add NAME [--config FILE]      make a web inbox account (password prompted, or read from stdin)
  kefu staff passwd NAME [--config FILE]   set a new password
  kefu staff list [--config FILE]          list accounts`

// cmdStaff is `kefu staff add|passwd|list`.
func cmdStaff(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{staffUsage}
	}
	sub, args := args[0], args[1:]
	var name string
	switch sub {
	case "add", "passwd":
		if len(args) < 1 || strings.HasPrefix(args[0], "-") {
			return &usageError{staffUsage}
		}
		name, args = args[0], args[1:]
		if !validName(name) {
			return &usageError{fmt.Sprintf("staff name %q: use letters, digits, '.', '_' or '-' (at most 64)", name)}
		}
	case "list":
	default:
		return &usageError{staffUsage}
	}
	fs := flag.NewFlagSet("kefu staff "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if sub == "list" {
		accts, err := db.Read().StaffAccounts(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tPASSWORD CHANGED")
		for _, a := range accts {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Name, a.CreatedAt.In(cfg.Location()).Format("2006-01-02 15:04"), a.UpdatedAt.In(cfg.Location()).Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	hash, err := web.HashPassword(pw)
	if err != nil {
		return &usageError{err.Error()}
	}
	err = db.Write(ctx, func(s *models.Store) error {
		if sub == "add" {
			if _, err := s.CreateStaff(ctx, name, hash); err != nil {
				return err
			}
			return s.Audit(ctx, "cli", "staff.add", name, "")
		}
		if err := s.SetStaffPassword(ctx, name, hash); err != nil {
			return err
		}
		return s.Audit(ctx, "cli", "staff.passwd", name, "")
	})
	switch {
	case errors.Is(err, models.ErrConflict):
		return fmt.Errorf("staff %q already exists (kefu staff passwd %s sets a new password)", name, name)
	case errors.Is(err, models.ErrNotFound):
		return fmt.Errorf("no staff account %q (kefu staff add %s makes one)", name, name)
	case err != nil:
		return err
	}
	if sub == "add" {
		fmt.Fprintf(stdout, "staff %s added; sign in at /inbox\n", name)
	} else {
		fmt.Fprintf(stdout, "password of %s changed\n", name)
	}
	return nil
}

func validName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// readPassword asks twice without echo on a terminal; otherwise it reads
// the first line of stdin (for scripts: echo "$PW" | kefu staff add NAME).
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", &usageError{"the passwords differ"}
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
