// Package modelstest gives storage tests a fresh database on each driver
// kefu supports: SQLite always, and PostgreSQL when KEFU_TEST_POSTGRES_DSN
// names a server the tests may create schemas on.
//
// A test package runs every test on both through Main:
//
//	func TestMain(m *testing.M) { modelstest.Main(m) }
//
// and opens its databases with
//
//	models.Open(ctx, models.Options{Driver: modelstest.Driver(), DSN: modelstest.DSN(t)})
//
// It imports nothing of kefu, so models' own tests can use it.
package modelstest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Environment variables.
const (
	// EnvPostgresDSN names a PostgreSQL server (a URL or key=value DSN) on
	// which the tests create, and drop, one schema per database.
	EnvPostgresDSN = "KEFU_TEST_POSTGRES_DSN"
	// EnvDriver picks the driver of this run: "sqlite" (default) or
	// "postgres". Main sets it; set it by hand to run one driver only.
	EnvDriver = "KEFU_TEST_DRIVER"
)

// Driver is the driver the tests of this run open: "sqlite" or "postgres".
func Driver() string {
	if os.Getenv(EnvDriver) == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// Main runs the package's tests on SQLite and then, when
// KEFU_TEST_POSTGRES_DSN is set, again on PostgreSQL, and exits with
// failure if either run failed. A KEFU_TEST_DRIVER set by hand runs that
// driver only.
func Main(m *testing.M) {
	if os.Getenv(EnvDriver) != "" {
		os.Exit(m.Run())
	}
	code := m.Run()
	if os.Getenv(EnvPostgresDSN) != "" {
		fmt.Println("--- storage: running the tests again on PostgreSQL")
		os.Setenv(EnvDriver, "postgres")
		if c := m.Run(); c != 0 {
			fmt.Println("--- storage: FAIL on PostgreSQL")
			code = c
		}
	}
	os.Exit(code)
}

// DSN returns the DSN of a fresh, empty database for Driver(): a file in
// tb.TempDir() on SQLite; on PostgreSQL a new schema, made the search path
// of every connection opened with the DSN and dropped when tb ends (after
// the cleanups the test registers later, such as closing the database).
func DSN(tb testing.TB) string {
	tb.Helper()
	if Driver() != "postgres" {
		return filepath.Join(tb.TempDir(), "kefu.db")
	}
	return PostgresDSN(tb)
}

// PostgresDSN returns the DSN of a fresh PostgreSQL schema, whatever
// Driver() says (for tests that only make sense on PostgreSQL, such as
// several processes sharing one database). It needs KEFU_TEST_POSTGRES_DSN.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv(EnvPostgresDSN)
	if admin == "" {
		tb.Fatalf("%s=postgres needs %s", EnvDriver, EnvPostgresDSN)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "kefu_test_" + hex.EncodeToString(b[:])
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		db.Close()
		tb.Fatalf("postgres: create schema: %v", err)
	}
	// Which test made it, should a killed run leave it behind.
	_, _ = db.Exec(`COMMENT ON SCHEMA ` + schema + ` IS ` + quote(tb.Name()))
	tb.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("postgres: drop schema %s: %v", schema, err)
		}
	})
	return WithParam(admin, "search_path", schema)
}

// WithParam sets a run-time parameter in a PostgreSQL DSN of either form.
func WithParam(dsn, key, value string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return dsn
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn + " " + key + "=" + value)
}

// quote makes s an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
