package survey

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// Point is one week of the trend: CSAT % and NPS, nil when unmeasured.
type Point struct {
	Week string
	CSAT *float64
	NPS  *float64
}

// WriteChart draws the weekly trend as a self-contained SVG: CSAT % on a
// 0–100 axis, NPS on −100..100, one point per week, gaps where a week has
// no responses.
func WriteChart(w io.Writer, title string, pts []Point) error {
	const W, H, left, right, top, bottom = 720, 360, 56, 56, 40, 60
	pw, ph := float64(W-left-right), float64(H-top-bottom)
	x := func(i int) float64 {
		if len(pts) <= 1 {
			return left + pw/2
		}
		return left + pw*float64(i)/float64(len(pts)-1)
	}
	yCSAT := func(v float64) float64 { return top + ph*(1-v/100) }
	yNPS := func(v float64) float64 { return top + ph*(1-(v+100)/200) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", W, H)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	for i := 0; i <= 4; i++ {
		y := top + ph*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, W-right, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#1f77b4">%d%%</text>`+"\n", left-6, y+4, 100-25*i)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#d62728">%d</text>`+"\n", W-right+6, y+4, 100-50*i)
	}
	for i, p := range pts {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(i), H-bottom+18, html.EscapeString(p.Week))
	}
	series := func(color, name string, val func(Point) *float64, y func(float64) float64) {
		var path strings.Builder
		pen := false
		for i, p := range pts {
			vp := val(p)
			if vp == nil {
				pen = false
				continue
			}
			v := *vp
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(i), y(v))
			pen = true
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %g</title></circle>`+"\n",
				x(i), y(v), color, name, html.EscapeString(p.Week), v)
		}
		if path.Len() > 0 {
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.TrimSpace(path.String()), color)
		}
	}
	series("#1f77b4", "CSAT %", func(p Point) *float64 { return p.CSAT }, yCSAT)
	series("#d62728", "NPS", func(p Point) *float64 { return p.NPS }, yNPS)
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#1f77b4">● CSAT %% (left)</text>`+"\n", left, H-16)
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#d62728">● NPS (right)</text>`+"\n", left+140, H-16)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
