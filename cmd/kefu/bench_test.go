package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// TestBench runs a short load, closed and open loop, over a mix that opens
// tickets (staff notifications) and flows, and checks the accounting: every
// turn stored once, every reply delivered once.
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

func TestBenchBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--mix", "order=x"}, {"--mix", "shouting=3"}, {"--mix", "order=0"}, {"--customers", "0"}, {"extra"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"kefu", "bench"}, args...), env(nil), nil, &out, &errOut)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("bench %v = %v; want a usage error", args, err)
		}
	}
}
