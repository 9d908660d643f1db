package survey

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func mustParse(t *testing.T, file, src string) *Definition {
	t.Helper()
	d, err := Parse(file, []byte(src))
	if err != nil {
		t.Fatalf("Parse(%s): %v", file, err)
	}
	return d
}

func TestExamplesLoad(t *testing.T) {
	defs, err := LoadDir(os.DirFS("../.."), "surveys")
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 2 || defs[0].Name != "delivery" || defs[1].Name != "product" {
		t.Fatalf("LoadDir = %d definitions, want delivery and product", len(defs))
	}
	if d := defs[0]; d.Trigger != "order.delivered" || time.Duration(d.Delay) != 72*time.Hour {
		t.Errorf("delivery trigger %q delay %v, want order.delivered 72h", d.Trigger, time.Duration(d.Delay))
	}
}

func TestBranching(t *testing.T) {
	defs, err := LoadDir(os.DirFS("../.."), "surveys")
	if err != nil {
		t.Fatal(err)
	}
	d := defs[0]
	idx := func(id string) int {
		i := d.Index(id)
		if i < 0 && id != "" {
			t.Fatalf("no question %q", id)
		}
		return i
	}
	for _, tc := range []struct {
		from   string
		answer []string
		want   string // "" the end
	}{
		{"on_time", []string{"yes"}, "packaging"},
		{"on_time", []string{"late"}, "how_late"}, // no option next: the following question
		{"on_time", []string{"lost"}, ""},
		{"on_time", []string{"nonsense"}, "how_late"},
		{"how_late", []string{"week"}, "packaging"},
		{"packaging", []string{"1"}, "what_wrong"},
		{"packaging", []string{"2"}, "what_wrong"},
		{"packaging", []string{"3"}, "extras"}, // question next
		{"packaging", []string{"5"}, "extras"},
		{"what_wrong", []string{"torn box"}, "extras"},
		{"extras", []string{"eco", "locker"}, ""},
	} {
		got := d.Next(idx(tc.from), tc.answer)
		want := -1
		if tc.want != "" {
			want = idx(tc.want)
		}
		if got != want {
			t.Errorf("Next(%s, %v) = %d; want %d (%s)", tc.from, tc.answer, got, want, tc.want)
		}
	}
	if got := d.Next(99, nil); got != -1 {
		t.Errorf("Next(99) = %d; want -1", got)
	}
}

const good = `title: {en: T, zh: 题}
questions:
  - id: a
    type: rating
    scale: 5
    text: {en: A, zh: 甲}
`

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, src string
		want            []string // substrings of the error
	}{
		{"syntax", "s.yaml", "title: [", []string{"s.yaml:1:"}},
		{"unknown field", "u.yaml", good + "    colour: red\n", []string{"u.yaml:7:", "colour"}},
		{"empty", "e.yaml", "", []string{"e.yaml: empty file"}},
		{"no questions", "n.yaml", "title: {en: T, zh: 题}\n", []string{"n.yaml: no questions"}},
		{"missing zh", "z.yaml", strings.Replace(good, "zh: 甲", "fr: A", 1), []string{"z.yaml:3:", "needs both en and zh", `language "fr"`}},
		{"bad type", "b.yaml", strings.Replace(good, "rating", "slider", 1), []string{"b.yaml:3:", `type "slider"`}},
		{"scale", "c.yaml", strings.Replace(good, "scale: 5", "scale: 11", 1), []string{"c.yaml:3:", "scale 11"}},
		{"reserved name", "csat.yaml", good, []string{"built-in"}},
		{"bad name", "Bad Name.yaml", good, []string{"file name"}},
		{"trigger", "t.yaml", "trigger: birthday\n" + good, []string{`trigger "birthday"`}},
		{"next unknown", "x.yaml", good + "    next: zzz\n", []string{"x.yaml:3:", `next "zzz" is not a question`}},
		{"goes back", "g.yaml", good + `  - id: b
    type: single
    text: {en: B, zh: 乙}
    options:
      - {id: x, text: {en: X, zh: 叉}, next: a}
      - {id: y, text: {en: Y, zh: 歪}}
`, []string{"g.yaml:11:", "goes back"}},
		{"one option", "o.yaml", good + `  - id: b
    type: single
    text: {en: B, zh: 乙}
    options:
      - {id: x, text: {en: X, zh: 叉}}
`, []string{"o.yaml:7:", "needs 2 to 10 options"}},
		{"branch range", "r.yaml", good + "    branches:\n      - {min: 0, max: 9, next: end}\n", []string{"r.yaml:8:", "outside 1-5"}},
		{"duplicate id", "d.yaml", good + `  - id: a
    type: text
    text: {en: B, zh: 乙}
`, []string{"d.yaml:7:", "used twice"}},
		{"optional rating", "p.yaml", good + "    optional: true\n", []string{"only text and multi"}},
		{"bad delay", "l.yaml", "delay: soon\n" + good, []string{"l.yaml:1:", `duration "soon"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.file, []byte(tc.src))
			if err == nil {
				t.Fatalf("Parse = nil error; want %v", tc.want)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadDirCollectsAllErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"s/a.yaml":   {Data: []byte(good)},
		"s/b.yaml":   {Data: []byte("title: [")},
		"s/c.yaml":   {Data: []byte("")},
		"s/note.txt": {Data: []byte("ignored")},
	}
	_, err := LoadDir(fsys, "s")
	if err == nil || !strings.Contains(err.Error(), "s/b.yaml:1:") || !strings.Contains(err.Error(), "s/c.yaml: empty") {
		t.Fatalf("LoadDir error = %v; want both bad files named", err)
	}
	delete(fsys, "s/b.yaml")
	delete(fsys, "s/c.yaml")
	defs, err := LoadDir(fsys, "s")
	if err != nil || len(defs) != 1 || defs[0].Name != "a" {
		t.Fatalf("LoadDir = %v, %v; want [a]", defs, err)
	}
}

func TestStats(t *testing.T) {
	n := func(v int) *int { return &v }
	// Hand-computed: CSAT scores 5,4,3,1 → 2 of 4 satisfied = 50%.
	// NPS scores 10,9,8,6,0 → 2 promoters, 2 detractors of 5 → 0;
	// 10,9,7 → (2-0)/3 = 66.7. Sent 12, answered 9 → 75%.
	var s Stats
	for _, v := range []int{5, 4, 3, 1} {
		s.Add(KindCSAT, true, n(v))
	}
	for _, v := range []int{10, 9, 8, 6, 0} {
		s.Add(KindNPS, true, n(v))
	}
	s.Add(KindCSAT, false, nil)
	s.Add(KindNPS, false, nil)
	s.Add(KindQuestionnaire, false, nil)
	s.Finish()
	if s.Sent != 12 || s.Answered != 9 || *s.Response != 75 || *s.CSAT != 50 || *s.NPS != 0 ||
		s.Promoters != 2 || s.Passives != 1 || s.Detractors != 2 {
		t.Errorf("stats = %+v; want sent 12 answered 9 response 75 CSAT 50 NPS 0 (2/1/2)", s)
	}
	var p Stats
	for _, v := range []int{10, 9, 7} {
		p.Add(KindNPS, true, n(v))
	}
	p.Finish()
	if *p.NPS != 66.7 || p.CSAT != nil {
		t.Errorf("NPS = %v, CSAT = %v; want 66.7 and nil", *p.NPS, p.CSAT)
	}
	var empty Stats
	empty.Finish()
	if empty.Response != nil || empty.CSAT != nil || empty.NPS != nil {
		t.Errorf("empty stats measured something: %+v", empty)
	}
}

func TestRecoveryThresholds(t *testing.T) {
	for _, tc := range []struct {
		kind  string
		score int
		want  bool
	}{
		{KindCSAT, 1, true}, {KindCSAT, 2, true}, {KindCSAT, 3, false},
		{KindNPS, 0, true}, {KindNPS, 6, true}, {KindNPS, 7, false}, {KindQuestionnaire, 0, false},
	} {
		if got := NeedsRecovery(tc.kind, tc.score); got != tc.want {
			t.Errorf("NeedsRecovery(%s, %d) = %v; want %v", tc.kind, tc.score, got, tc.want)
		}
	}
}

func TestQuietHours(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	q, err := ParseQuiet("21:00-09:00")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, sh)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct{ now, want string }{
		{"2026-11-11 10:00", "2026-11-11 10:00"},
		{"2026-11-11 20:59", "2026-11-11 20:59"},
		{"2026-11-11 21:00", "2026-11-12 09:00"},
		{"2026-11-11 23:30", "2026-11-12 09:00"},
		{"2026-11-12 03:00", "2026-11-12 09:00"},
		{"2026-11-12 09:00", "2026-11-12 09:00"},
	} {
		if got := q.After(at(tc.now), sh); !got.Equal(at(tc.want)) {
			t.Errorf("After(%s) = %s; want %s", tc.now, got.In(sh).Format("2006-01-02 15:04"), tc.want)
		}
	}
	day, _ := ParseQuiet("12:00-13:00")
	if !day.Quiet(at("2026-11-11 12:30"), sh) || day.Quiet(at("2026-11-11 13:00"), sh) {
		t.Error("12:00-13:00 quiet at the wrong time")
	}
	for _, bad := range []string{"21-9", "25:00-09:00", "09:00-09:00", "x"} {
		if _, err := ParseQuiet(bad); err == nil {
			t.Errorf("ParseQuiet(%q) = nil error", bad)
		}
	}
	if never, _ := ParseQuiet(""); never.Quiet(at("2026-11-11 03:00"), sh) {
		t.Error(`"" is quiet`)
	}
}

func TestChart(t *testing.T) {
	v := func(f float64) *float64 { return &f }
	var b strings.Builder
	err := WriteChart(&b, "Surveys <weekly>", []Point{{Week: "2026-W45", CSAT: v(80), NPS: v(-20)},
		{Week: "2026-W46"}, {Week: "2026-W47", CSAT: v(100)}})
	if err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	for _, want := range []string{"<svg", "Surveys &lt;weekly&gt;", "2026-W46", "CSAT % 2026-W45: 80", "NPS 2026-W45: -20", "</svg>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	// The gap week breaks the CSAT line: two separate M commands.
	if strings.Count(svg, `d="M`) != 2 {
		t.Errorf("want one path per measured series start; got %d", strings.Count(svg, `d="M`))
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	for _, name := range []string{"delivery", "product"} {
		if b, err := os.ReadFile("../../surveys/" + name + ".yaml"); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("questions: [{id: a, type: single, options: [{id: x}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("f.yaml", data)
		if err != nil {
			return
		}
		// A valid definition always ends: following any answers never loops.
		for i, steps := 0, 0; i >= 0; steps++ {
			if steps > len(d.Questions) {
				t.Fatalf("questionnaire does not end")
			}
			var ans []string
			if q := d.Questions[i]; len(q.Options) > 0 {
				ans = []string{q.Options[steps%len(q.Options)].ID}
			} else if q.Type == Rating {
				ans = []string{"1"}
			}
			i = d.Next(i, ans)
		}
	})
}
