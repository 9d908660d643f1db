package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// parseRates reads "500,1000,2000" into ascending positive rates.
func parseRates(s string) ([]float64, error) {
	var out []float64
	for part := range strings.SplitSeq(s, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("%q is not a positive rate", part)
		}
		if len(out) > 0 && r <= out[len(out)-1] {
			return nil, fmt.Errorf("rates must rise: %g after %g", r, out[len(out)-1])
		}
		out = append(out, r)
	}
	return out, nil
}

// benchSweep runs one open-loop load per offered rate, each on a fresh
// database, and reports throughput and latency against offered load.
func benchSweep(ctx context.Context, p benchParams, rates []float64, dir, chart string, asJSON bool, stdout, stderr io.Writer) error {
	var results []benchResult
	for i, r := range rates {
		p.rate, p.dsn = r, filepath.Join(dir, fmt.Sprintf("sweep-%d.db", i))
		res, err := benchTurns(ctx, p, stderr)
		if err != nil {
			return fmt.Errorf("bench at %g/s: %w", r, err)
		}
		if res.Lost != 0 || res.Duplicated != 0 {
			return fmt.Errorf("bench at %g/s: %d lost, %d duplicated", r, res.Lost, res.Duplicated)
		}
		results = append(results, res)
	}
	if chart != "" {
		if err := os.WriteFile(chart, []byte(sweepSVG(results)), 0o644); err != nil {
			return fmt.Errorf("bench: chart: %w", err)
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "offered/s\tturns/s\tp50 ms\tp99 ms\tmax ms\tlost\tduplicated\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%d\t%d\t\n", r.OfferedPerSec, r.TurnsPerSec, r.P50ms, r.P99ms, r.MaxMs, r.Lost, r.Duplicated)
	}
	if len(results) > 0 && results[0].StorageLimit > 0 {
		fmt.Fprintf(tw, "raw SQLite turns/s: %.0f\t\t\t\t\t\t\t\n", results[0].StorageLimit)
	}
	return tw.Flush()
}

// sweepSVG draws two panels: achieved against offered turns per second
// (with the ideal diagonal and the raw SQLite limit), and p50/p99 latency
// against offered load on a log scale.
func sweepSVG(rs []benchResult) string {
	const w, h, pad, gap = 900, 380, 60, 40
	pw := (w - 2*pad - gap) / 2
	ph := h - 2*pad
	maxX, maxY, maxLat, minLat := 0.0, 0.0, 1.0, math.Inf(1)
	for _, r := range rs {
		maxX = math.Max(maxX, r.OfferedPerSec)
		maxY = math.Max(maxY, math.Max(r.TurnsPerSec, r.OfferedPerSec))
		maxLat = math.Max(maxLat, r.MaxMs)
		minLat = math.Min(minLat, math.Max(r.P50ms, 0.1))
	}
	if len(rs) > 0 && rs[0].StorageLimit > 0 {
		maxY = math.Max(maxY, rs[0].StorageLimit*0.6)
	}
	maxX, maxY = niceCeil(maxX), niceCeil(maxY)
	loLat, hiLat := math.Floor(math.Log10(minLat)), math.Ceil(math.Log10(maxLat))
	if hiLat <= loLat {
		hiLat = loLat + 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	x0, x1 := float64(pad), float64(pad+pw+gap)
	px := func(ox, v float64) float64 { return ox + v/maxX*float64(pw) }
	py := func(v float64) float64 { return float64(pad+ph) - v/maxY*float64(ph) }
	ly := func(ms float64) float64 {
		return float64(pad+ph) - (math.Log10(math.Max(ms, 0.01))-loLat)/(hiLat-loLat)*float64(ph)
	}
	axes := func(ox float64, title, ylabel string) {
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", ox, pad-25, title)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%d" x2="%.0f" y2="%d" stroke="black"/>`+"\n", ox, pad+ph, ox+float64(pw), pad+ph)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%d" x2="%.0f" y2="%d" stroke="black"/>`+"\n", ox, pad, ox, pad+ph)
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">offered turns/s</text>`+"\n", ox+float64(pw)/2, h-15)
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" fill="#555">%s</text>`+"\n", ox, pad-8, ylabel)
		for i := 0; i <= 4; i++ {
			v := maxX * float64(i) / 4
			fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">%.0f</text>`+"\n", px(ox, v), pad+ph+16, v)
		}
	}
	poly := func(pts []string, color string, dash bool) {
		d := ""
		if dash {
			d = ` stroke-dasharray="5,4"`
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), color, d)
	}

	// Throughput.
	axes(x0, "Throughput", "achieved turns/s")
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">%.0f</text>`+"\n", x0-5, py(v)+4, v)
	}
	poly([]string{fmt.Sprintf("%.1f,%.1f", px(x0, 0), py(0)), fmt.Sprintf("%.1f,%.1f", px(x0, maxX), py(math.Min(maxX, maxY)))}, "#bbb", true)
	if len(rs) > 0 && rs[0].StorageLimit > 0 {
		half := rs[0].StorageLimit / 2
		if half <= maxY {
			fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#c33" stroke-dasharray="3,3"/>`+"\n", x0, py(half), x0+float64(pw), py(half))
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" fill="#c33" text-anchor="end">50%% of raw SQLite (%.0f/s)</text>`+"\n", x0+float64(pw), py(half)-4, half)
		}
	}
	var tp []string
	for _, r := range rs {
		tp = append(tp, fmt.Sprintf("%.1f,%.1f", px(x0, r.OfferedPerSec), py(r.TurnsPerSec)))
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="#1f77b4"/>`+"\n", px(x0, r.OfferedPerSec), py(r.TurnsPerSec))
	}
	poly(tp, "#1f77b4", false)

	// Latency (log scale).
	axes(x1, "Turn latency", "ms (log scale) — p50 green, p99 orange; 10 ms dashed")
	for e := loLat; e <= hiLat; e++ {
		v := math.Pow(10, e)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">%g</text>`+"\n", x1-5, ly(v)+4, v)
	}
	if 1 >= loLat && 1 <= hiLat {
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#c33" stroke-dasharray="3,3"/>`+"\n", x1, ly(10), x1+float64(pw), ly(10))
	}
	var p50, p99 []string
	for _, r := range rs {
		p50 = append(p50, fmt.Sprintf("%.1f,%.1f", px(x1, r.OfferedPerSec), ly(r.P50ms)))
		p99 = append(p99, fmt.Sprintf("%.1f,%.1f", px(x1, r.OfferedPerSec), ly(r.P99ms)))
	}
	poly(p50, "#2ca02c", false)
	poly(p99, "#ff7f0e", false)
	b.WriteString("</svg>\n")
	return b.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*e {
			return m * e
		}
	}
	return 10 * e
}
