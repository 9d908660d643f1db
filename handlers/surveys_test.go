package handlers_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/handlers/survey"
)

// testSurveys builds the survey options of a transcript's "# surveys"
// line: load=a,b window=720h expiry=72h csat_delay=30m nps_delay=168h
// quiet=21:00-09:00 rate=60.
func testSurveys(t *testing.T, spec string) *handlers.Surveys {
	t.Helper()
	opt := handlers.DefaultSurveyOptions()
	for _, f := range strings.Fields(spec) {
		k, v, _ := strings.Cut(f, "=")
		dur := func() time.Duration {
			d, err := survey.ParseDuration(v)
			if err != nil {
				t.Fatalf("# surveys %s: %v", f, err)
			}
			return d
		}
		switch k {
		case "load":
			for _, name := range strings.Split(v, ",") {
				data, err := os.ReadFile("../surveys/" + name + ".yaml")
				if err != nil {
					t.Fatal(err)
				}
				d, err := survey.Parse("surveys/"+name+".yaml", data)
				if err != nil {
					t.Fatal(err)
				}
				opt.Questionnaires = append(opt.Questionnaires, d)
			}
		case "window":
			opt.Window = dur()
		case "expiry":
			opt.Expiry = dur()
		case "csat_delay":
			opt.CSATDelay = dur()
		case "nps_delay":
			opt.NPSDelay = dur()
		case "nps":
			opt.NPS = v == "on"
		case "quiet":
			q, err := survey.ParseQuiet(v)
			if err != nil {
				t.Fatal(err)
			}
			opt.Quiet = q
		default:
			t.Fatalf("# surveys: unknown option %q", k)
		}
	}
	return handlers.NewSurveys(opt, time.UTC)
}
