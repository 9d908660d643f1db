package insight

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// Bar is one row of a bar chart: a label and one value per series.
type Bar struct {
	Label  string
	Values []int
}

// seriesColours are the fills of the first series; more reuse them.
var seriesColours = []string{"#1f77b4", "#aec7e8", "#ff7f0e", "#2ca02c"}

// WriteBars draws horizontal bars as a self-contained SVG (for the
// dashboard and `kefu report customers --chart`): one group per Bar, one
// bar per series, named by series in the legend. Negative values (unknown)
// draw no bar and print "—".
func WriteBars(w io.Writer, title string, series []string, bars []Bar) error {
	const W, left, right, top, rowH, barH = 720, 160, 60, 56, 8, 18
	groupH := barH*max(len(series), 1) + rowH
	H := top + groupH*len(bars) + 20
	most := 1
	for _, b := range bars {
		for _, v := range b.Values {
			most = max(most, v)
		}
	}
	pw := float64(W - left - right)
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&sb, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", W, H)
	fmt.Fprintf(&sb, `<text x="16" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	for i, s := range series {
		x := left + 140*i
		fmt.Fprintf(&sb, `<rect x="%d" y="34" width="12" height="12" fill="%s"/><text x="%d" y="45">%s</text>`+"\n",
			x, seriesColours[i%len(seriesColours)], x+16, html.EscapeString(s))
	}
	for g, b := range bars {
		y0 := top + g*groupH
		fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y0+barH-4, html.EscapeString(b.Label))
		for i, v := range b.Values {
			y := y0 + i*barH
			if v < 0 {
				fmt.Fprintf(&sb, `<text x="%d" y="%d" fill="#999">—</text>`+"\n", left+4, y+barH-5)
				continue
			}
			wd := pw * float64(v) / float64(most)
			fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y+1, wd, barH-2, seriesColours[i%len(seriesColours)])
			fmt.Fprintf(&sb, `<text x="%.1f" y="%d">%d</text>`+"\n", float64(left)+wd+4, y+barH-5, v)
		}
	}
	sb.WriteString("</svg>\n")
	_, err := io.WriteString(w, sb.String())
	return err
}
