package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kefu-bot/kefu/bot/config"
	"github.com/kefu-bot/kefu/bot/web"
	"github.com/kefu-bot/kefu/models"
)

func TestStaffCommand(t *testing.T) {
	e := testEnv(t)
	staff := func(stdin string, args ...string) (string, error) {
		var out, errb syncBuffer
		err := run(context.Background(), append([]string{"kefu", "staff"}, args...), env(e), strings.NewReader(stdin), &out, &errb)
		return out.String() + errb.String(), err
	}
	if out, err := staff("s3cret-pass\n", "add", "alice"); err != nil || !strings.Contains(out, "alice added") {
		t.Fatalf("staff add = %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name, stdin string
		args        []string
		usage       bool // exit status 2
		want        string
	}{
		{"Taken", "another-pass\n", []string{"add", "alice"}, false, "already exists"},
		{"ShortPassword", "short\n", []string{"add", "bob"}, true, "too short"},
		{"NoPassword", "", []string{"add", "bob"}, true, "too short"},
		{"BadName", "s3cret-pass\n", []string{"add", "bob smith"}, true, "staff name"},
		{"PasswdUnknown", "s3cret-pass\n", []string{"passwd", "nobody"}, false, "no staff account"},
		{"NoName", "", []string{"add"}, true, "usage"},
		{"UnknownSub", "", []string{"remove", "alice"}, true, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := staff(tc.stdin, tc.args...)
			if err == nil || !strings.Contains(err.Error()+out, tc.want) || (exitCode(err) == 2) != tc.usage {
				t.Errorf("staff %v = %v (exit %d)\n%s; want an error with %q, usage=%v", tc.args, err, exitCode(err), out, tc.want, tc.usage)
			}
		})
	}
	if out, err := staff("n3w-password\n", "passwd", "alice"); err != nil || !strings.Contains(out, "changed") {
		t.Fatalf("staff passwd = %v\n%s", err, out)
	}
	out, err := staff("", "list")
	if err != nil || !strings.Contains(out, "alice") || strings.Contains(out, "bob") {
		t.Fatalf("staff list = %v\n%s", err, out)
	}
	// The stored hash is bcrypt of the new password, never the password.
	db, err := models.Open(context.Background(), dbOptions(e))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := db.Read().StaffByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !web.CheckPassword(a.PasswordHash, "n3w-password") || web.CheckPassword(a.PasswordHash, "s3cret-pass") ||
		strings.Contains(string(a.PasswordHash), "n3w-password") {
		t.Error("stored hash does not match the new password only")
	}
}

func TestDemoStaffSeededOnce(t *testing.T) {
	ctx := context.Background()
	db, err := models.Open(ctx, dbOptions(testEnv(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := config.Default().Demo.StaffName
	if err := seedDemoStaff(ctx, db, name); err != nil {
		t.Fatal(err)
	}
	if got := demoLogin(ctx, db, name); got != name+" / "+demoPassword {
		t.Fatalf("demo login = %q", got)
	}
	// The owner changes the password: kefu stops printing it and a later
	// start does not put the demo password back.
	hash, _ := web.HashPassword("owner-chosen-pw")
	if err := db.Write(ctx, func(s *models.Store) error { return s.SetStaffPassword(ctx, name, hash) }); err != nil {
		t.Fatal(err)
	}
	if err := seedDemoStaff(ctx, db, name); err != nil {
		t.Fatal(err)
	}
	if got := demoLogin(ctx, db, name); got != "" {
		t.Errorf("demo login after a password change = %q; want none", got)
	}
	if _, err := db.Read().StaffByName(ctx, "nobody"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown staff: %v; want ErrNotFound", err)
	}
}
