package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestBench runs a short load, closed and open loop, over a mix that opens
// tickets (staff notifications) and flows, and checks the accounting: every
// turn stored once, every reply delivered once. On the PostgreSQL run it
// benches with --driver postgres on a fresh schema.
func TestBench(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"closed", []string{"--concurrency", "8"}},
		{"open", []string{"--rate", "300"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"kefu", "bench", "--duration", "400ms", "--customers", "20", "--baseline=false", "--json",
				"--prefill", "500", "--prefill-customers", "50", "--mix", "order=3,greeting=2,complaint=1,handoff=1,help=1"}, tc.args...)
			if modelstest.Driver() == "postgres" {
				args = append(args, "--driver", "postgres", "--db", modelstest.PostgresDSN(t))
			}
			if err := run(context.Background(), args, env(nil), nil, &out, &errOut); err != nil {
				t.Fatalf("bench: %v\n%s", err, errOut.String())
			}
			var r benchResult
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out.String())
			}
			if r.Turns == 0 || r.Replies < r.Turns || r.TurnsPerSec <= 0 || r.P99ms < r.P50ms || r.MaxRSSMB <= 0 {
				t.Errorf("implausible result %+v", r)
			}
			if r.Lost != 0 || r.Duplicated != 0 || r.Errors != 0 {
				t.Errorf("lost %d, duplicated %d, errors %d; want none", r.Lost, r.Duplicated, r.Errors)
			}
		})
	}
}

// A backlog drains at the platform limit, each row once; a sweep runs a
// load per rate and draws the chart. SQLite only: --backlog and --sweep
// run on fresh SQLite files (kefu bench refuses them with --driver).
func TestBenchBacklogAndSweep(t *testing.T) {
	sqliteOnly(t)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"kefu", "bench", "--backlog", "3000", "--platform-rate", "20000", "--json"},
		env(nil), nil, &out, &errOut)
	if err != nil {
		t.Fatalf("bench --backlog: %v\n%s", err, errOut.String())
	}
	var b backlogResult
	if err := json.Unmarshal(out.Bytes(), &b); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if b.Rows != 3000 || b.Lost != 0 || b.Duplicated != 0 || b.RowsPerSec <= 0 {
		t.Errorf("backlog result %+v", b)
	}

	chart := filepath.Join(t.TempDir(), "sweep.svg")
	out.Reset()
	err = run(context.Background(), []string{"kefu", "bench", "--sweep", "100,200", "--duration", "300ms", "--customers", "20",
		"--baseline=false", "--json", "--chart", chart}, env(nil), nil, &out, &errOut)
	if err != nil {
		t.Fatalf("bench --sweep: %v\n%s", err, errOut.String())
	}
	var rs []benchResult
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil || len(rs) != 2 || rs[0].OfferedPerSec != 100 || rs[1].OfferedPerSec != 200 {
		t.Fatalf("sweep output %v: %s", err, out.String())
	}
	if svg, err := os.ReadFile(chart); err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("chart: %v", err)
	}
}

func TestBenchBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--mix", "order=x"}, {"--mix", "shouting=3"}, {"--mix", "order=0"}, {"--customers", "0"}, {"extra"},
		{"--sweep", "1000,500", "--baseline=false"}, {"--backlog", "10", "--platform-rate", "0"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"kefu", "bench"}, args...), env(nil), nil, &out, &errOut)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("bench %v = %v; want a usage error", args, err)
		}
	}
}

func TestParseRates(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []float64
		bad  bool
	}{
		{"500,1000, 2000", []float64{500, 1000, 2000}, false},
		{"1000,500", nil, true},
		{"0,10", nil, true},
		{"fast", nil, true},
	} {
		got, err := parseRates(tc.in)
		if (err != nil) != tc.bad || !slices.Equal(got, tc.want) {
			t.Errorf("parseRates(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

// The sweep chart is well-formed SVG with a point per rate.
func TestSweepSVG(t *testing.T) {
	rs := []benchResult{
		{OfferedPerSec: 500, TurnsPerSec: 499, P50ms: 1, P99ms: 4, MaxMs: 6, StorageLimit: 20000},
		{OfferedPerSec: 1000, TurnsPerSec: 998, P50ms: 1.2, P99ms: 8, MaxMs: 12, StorageLimit: 20000},
		{OfferedPerSec: 4000, TurnsPerSec: 3100, P50ms: 9, P99ms: 80, MaxMs: 120, StorageLimit: 20000},
	}
	svg := sweepSVG(rs)
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
	}
	if n := strings.Count(svg, "<circle"); n != len(rs) {
		t.Errorf("%d points; want %d", n, len(rs))
	}
	if !strings.Contains(svg, "50% of raw SQLite (10000/s)") {
		t.Error("the 50% storage line is missing")
	}
}
