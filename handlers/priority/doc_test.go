package priority

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// docText returns the package documentation in doc.go, without comment
// markers.
func docText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l, ok := strings.CutPrefix(l, "//"); ok {
			lines = append(lines, strings.TrimPrefix(l, " "))
		}
	}
	return strings.Join(lines, "\n")
}

// TestDocListsDefaults keeps doc.go, which shop owners are pointed to, true
// to DefaultRules: every word, exception and tier, and the numbers.
func TestDocListsDefaults(t *testing.T) {
	doc := docText(t)
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`"([^"\n]*)"`).FindAllStringSubmatch(doc, -1) {
		listed[m[1]] = true
	}
	for _, f := range strings.Fields(doc) {
		listed[strings.TrimRight(f, ".,;:")] = true
	}
	r := DefaultRules()
	for name, words := range map[string][]string{
		"threat": r.ThreatWords, "anger": r.AngerWords, "urgency": r.UrgencyWords,
		"exception": r.Exceptions, "tier": r.HighValueTiers,
	} {
		for _, w := range words {
			if !listed[w] {
				t.Errorf("doc.go does not list the %s word %q", name, w)
			}
		}
	}

	row := regexp.MustCompile(`(?m)^\t([a-z_.]+|"" \(uncategorised handoff\))\s+(\d+)\s+(P[1-4])$`)
	rows := row.FindAllStringSubmatch(doc, -1)
	if len(rows) != len(Categories()) {
		t.Errorf("doc.go category table has %d rows; want %d", len(rows), len(Categories()))
	}
	for _, m := range rows {
		key := m[1]
		if strings.HasPrefix(key, `""`) {
			key = ""
		}
		points, _ := strconv.Atoi(m[2])
		if got := r.CategoryPoints[key]; got != points {
			t.Errorf("doc.go: %q has %d points; DefaultRules has %d", key, points, got)
		}
		if got := r.Grade(Input{Category: key}).Priority; got != m[3] {
			t.Errorf("doc.go: %q alone is %s; Grade says %s", key, m[3], got)
		}
	}

	for _, s := range []struct {
		label  string
		points int
	}{
		{"threat", r.ThreatPoints}, {"anger", r.AngerPoints}, {"shouting", r.ShoutPoints},
		{"urgency", r.UrgencyPoints}, {"repeat, per earlier complaint", r.RepeatPoints},
		{"high value", r.HighValuePoints},
	} {
		re := regexp.MustCompile(`(?m)^\t` + regexp.QuoteMeta(s.label) + `\s+` + strconv.Itoa(s.points) + `\b`)
		if !re.MatchString(doc) {
			t.Errorf("doc.go signal table: no %q row with %d points", s.label, s.points)
		}
	}
	thresholds := "P1 ≥ " + strconv.Itoa(r.Thresholds[0]) + ", P2 ≥ " + strconv.Itoa(r.Thresholds[1]) +
		", P3 ≥ " + strconv.Itoa(r.Thresholds[2])
	if !strings.Contains(doc, thresholds) {
		t.Errorf("doc.go does not say %q", thresholds)
	}
	if cap := "at most " + strconv.Itoa(r.RepeatCap); !strings.Contains(doc, cap) {
		t.Errorf("doc.go does not say %q", cap)
	}
}
