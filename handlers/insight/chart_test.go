package insight

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

func TestWriteBars(t *testing.T) {
	var b strings.Builder
	err := WriteBars(&b, "Lifecycle <now>", []string{"now", "2026-10-24"}, []Bar{
		{Label: "active", Values: []int{10, 5}},
		{Label: "churned & gone", Values: []int{0, -1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	// Well-formed XML, labels escaped, the longest bar full width (720 -
	// 160 - 60 = 500), half of it for 5, the unknown value a dash.
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed: %v\n%s", err, svg)
			}
			break
		}
	}
	for _, want := range []string{"Lifecycle &lt;now&gt;", "churned &amp; gone", `width="500.0"`, `width="250.0"`, ">—<", ">2026-10-24<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("svg lacks %s:\n%s", want, svg)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteBarsError(t *testing.T) {
	if err := WriteBars(failWriter{}, "x", nil, nil); err == nil {
		t.Error("WriteBars to a failing writer = nil; want the error")
	}
}
