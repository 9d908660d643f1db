package campaign

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const winBack = `name: win-back
segment:
  stage: [churned]
schedule:
  monthly: "15 11:00"
reward: CNY10
message:
  en: "We miss you, {{.Name}}! Coupon {{.Coupon}}."
  zh: "{{.Name}}，好久不见！优惠券 {{.Coupon}}。"
`

func TestParseAndRender(t *testing.T) {
	d, err := Parse("win-back.yaml", []byte(winBack))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "win-back" || d.Reward != "CNY10" || len(d.Filter.Stages) != 1 || d.Triggered() {
		t.Errorf("parsed %+v", d)
	}
	tests := []struct{ lang, want string }{
		{"en", "We miss you, Li Wei! Coupon CNY10-ABCD."},
		{"zh", "Li Wei，好久不见！优惠券 CNY10-ABCD。"},
		{"fr", "We miss you, Li Wei! Coupon CNY10-ABCD."},
	}
	for _, tt := range tests {
		got, err := d.Render(tt.lang, Fields{Name: "Li Wei", Coupon: "CNY10-ABCD"})
		if err != nil || got != tt.want {
			t.Errorf("Render(%s) = %q, %v; want %q", tt.lang, got, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"no chinese", "name: a\nschedule: {daily: \"10:00\"}\nmessage: {en: hi}\n", []string{"message.zh is missing"}},
		{"unknown field", "name: a\nschedual: {}\n", []string{"field schedual not found"}},
		{"unknown template field", "name: a\nschedule: {daily: \"10:00\"}\nmessage: {en: \"{{.Nmae}}\", zh: 好}\n", []string{"message.en", "Nmae"}},
		{"loop", "name: a\nschedule: {daily: \"10:00\"}\nmessage: {en: \"{{range 100000000}}x{{end}}\", zh: 好}\n", []string{"message.en", "only"}},
		{"function", "name: a\nschedule: {daily: \"10:00\"}\nmessage: {en: \"{{printf \\\"%d\\\" .Points}}\", zh: 好}\n", []string{"message.en", "only fields"}},
		{"define", "name: a\nschedule: {daily: \"10:00\"}\nmessage: {en: \"{{define \\\"x\\\"}}a{{end}}hi\", zh: 好}\n", []string{"message.en", "define"}},
		{"two schedules", "name: a\nschedule: {daily: \"10:00\", yearly: \"11-11 10:00\"}\nmessage: {en: a, zh: b}\n", []string{"exactly one"}},
		{"no schedule", "name: a\nmessage: {en: a, zh: b}\n", []string{"exactly one"}},
		{"bad trigger", "name: a\nschedule: {trigger: order.paid}\nmessage: {en: a, zh: b}\n", []string{"trigger \"order.paid\""}},
		{"delay without trigger", "name: a\nschedule: {daily: \"10:00\", delay: 3d}\nmessage: {en: a, zh: b}\n", []string{"delay goes with trigger"}},
		{"every problem at once", "name: Bad Name\nsegment: {stage: [gone], value: [vip], lang: fr}\nschedule: {monthly: \"31 10:00\"}\nmessage: {en: a, zh: b, fr: c}\n",
			[]string{"name \"Bad Name\"", "stage \"gone\"", "value \"vip\"", "lang \"fr\"", "monthly", "message.fr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse = nil error; want one")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q; want it to mention %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "c.yaml: ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, sh)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		schedule string
		now      string
		wantNext string // "" none
		wantOcc  string // of Next
		wantCur  string // Occurrence(now)
	}{
		{`{yearly: "11-10 20:00"}`, "2026-11-10 19:59", "2026-11-10 20:00", "2026", "2026"},
		{`{yearly: "11-10 20:00"}`, "2026-11-10 20:00", "2027-11-10 20:00", "2027", "2026"},
		{`{monthly: "15 11:00"}`, "2026-12-20 08:00", "2027-01-15 11:00", "2027-01", "2026-12"},
		{`{daily: "10:30"}`, "2026-11-23 10:31", "2026-11-24 10:30", "2026-11-24", "2026-11-23"},
		{`{dates: ["2028-01-25 10:00", "2027-02-05 10:00"]}`, "2026-11-23 00:00", "2027-02-05 10:00", "2027-02-05", "2027-02-05"},
		{`{dates: ["2028-01-25 10:00", "2027-02-05 10:00"]}`, "2027-03-01 00:00", "2028-01-25 10:00", "2028-01-25", "2027-02-05"},
		{`{dates: ["2027-02-05 10:00"]}`, "2027-03-01 00:00", "", "", "2027-02-05"},
		{`{trigger: order.delivered, delay: 3d}`, "2027-03-01 00:00", "", "", ""},
	}
	for _, tt := range tests {
		d, err := Parse("c.yaml", []byte("name: c\nschedule: "+tt.schedule+"\nmessage: {en: a, zh: b}\n"))
		if err != nil {
			t.Fatal(err)
		}
		next, occ, ok := d.Next(at(tt.now), sh)
		if tt.wantNext == "" {
			if ok {
				t.Errorf("%s Next(%s) = %s; want none", tt.schedule, tt.now, next)
			}
		} else if !ok || !next.Equal(at(tt.wantNext)) || occ != tt.wantOcc {
			t.Errorf("%s Next(%s) = %s %q %v; want %s %q", tt.schedule, tt.now, next, occ, ok, tt.wantNext, tt.wantOcc)
		}
		if cur := d.Occurrence(at(tt.now), sh); cur != tt.wantCur {
			t.Errorf("%s Occurrence(%s) = %q; want %q", tt.schedule, tt.now, cur, tt.wantCur)
		}
	}
}

// TestExamples keeps the shipped campaigns/ folder loadable.
func TestExamples(t *testing.T) {
	defs, err := LoadDir(filepath.Join("..", "..", "campaigns"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range defs {
		names[d.Name] = true
	}
	for _, want := range []string{"birthday", "spring-festival", "double-eleven", "win-back", "delivery-tips", "tier-anniversary"} {
		if !names[want] {
			t.Errorf("campaigns/ lacks %s (have %v)", want, names)
		}
	}
}

func TestLoadDirDuplicatesAndMissing(t *testing.T) {
	if defs, err := LoadDir(filepath.Join(t.TempDir(), "none")); err != nil || defs != nil {
		t.Errorf("missing dir = %v, %v; want nothing", defs, err)
	}
	dir := t.TempDir()
	for _, f := range []string{"a.yaml", "b.yml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(winBack), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "also defined") {
		t.Errorf("duplicate names: %v; want an error", err)
	}
}

// FuzzParse: any file is a definition or an error naming the file, never
// a panic or a hang; a definition renders in both languages.
func FuzzParse(f *testing.F) {
	f.Add([]byte(winBack))
	f.Add([]byte("name: a\nschedule: {dates: [\"2027-02-05 10:00\"]}\nmessage: {en: \"{{.Name}} {{.Points}}\", zh: \"{{.Tier}}\"}\n"))
	f.Add([]byte("name: a\nschedule: {trigger: order.delivered, delay: 3d}\nmessage: {en: \"{{range 9}}\", zh: x}\n"))
	f.Add([]byte("name: b\nschedule: {yearly: \"02-29 10:00\"}\nmessage: {en: a, zh: b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml: ") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, lang := range []string{"en", "zh"} {
			if _, err := d.Render(lang, Fields{Name: "n"}); err != nil {
				t.Fatalf("Render(%s) of a valid definition: %v", lang, err)
			}
		}
		d.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC)
		d.Occurrence(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	})
}
