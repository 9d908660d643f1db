package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkStartToHealthy is `kefu run` on a fresh database (migrations,
// demo data, classifier training, HTTP) until GET /healthz answers 200,
// then a clean stop. The target is under 300 ms, on the default install's
// SQLite file (so it ignores the test run's driver).
func BenchmarkStartToHealthy(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		dir := b.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		vars := map[string]string{"KEFU_DATABASE_DSN": filepath.Join(dir, "kefu.db"), "KEFU_HTTP_ADDR": "127.0.0.1:0"}
		start := time.Now()
		errc := make(chan error, 1)
		go func() { errc <- run(ctx, []string{"kefu", "run"}, env(vars), strings.NewReader(""), &stdout, &stderr) }()
		var url string
		for url == "" {
			if m := healthURL.FindStringSubmatch(stdout.String()); m != nil {
				url = m[1]
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("no health URL:\n%s", stderr.String())
			}
			time.Sleep(200 * time.Microsecond)
		}
		for {
			resp, err := http.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			time.Sleep(200 * time.Microsecond)
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "ms-to-healthy")
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
}
