package handlers_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/handlers/survey"
	"github.com/kefu-bot/kefu/models"
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

// TestSurveyStored follows a CSAT from resolution to the recovery ticket
// and checks what is stored: the score (changed once), the comment, the
// state, the ticket's subject and the survey bonus.
func TestSurveyStored(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	var sent []*models.Message
	e, db := newEngine(t, setup{Now: now, Notify: func(rows []*models.Message) { sent = append(sent, rows...) },
		Deps: handlers.Deps{Surveys: handlers.NewSurveys(handlers.DefaultSurveyOptions(), time.UTC)}})
	seq := 0
	say := func(staff bool, text, data string) {
		t.Helper()
		seq++
		clock = clock.Add(time.Minute)
		in := bot.Inbound{Channel: "console", ChatID: "customer:kim", UserID: "kim", MessageID: fmt.Sprint("m", seq), Text: text, Data: data, PressedID: "p1"}
		if staff {
			in.ChatID, in.UserID, in.Staff, in.Room = "staff", "mei", true, true
		}
		if _, err := e.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	say(false, "I want to talk to a human", "")
	say(true, "/resolve T-1001 done", "")
	clock = clock.Add(time.Hour)
	if _, err := e.RunDueJobs(ctx, 10); err != nil {
		t.Fatal(err)
	}
	var data string
	for _, m := range sent {
		if len(m.Payload.Buttons) > 0 && strings.HasPrefix(m.Payload.Buttons[0][0].Data, "sv:a:") {
			data = m.Payload.Buttons[0][1].Data // score 2
		}
	}
	if data == "" {
		t.Fatal("no CSAT buttons sent")
	}
	say(false, "", data)
	say(false, "", strings.TrimSuffix(data, "2")+"1")
	say(false, "", "sv:a:999:0:3") // someone else's or no survey: refused
	say(false, "the courier was rude", "")

	req, err := db.Read().SurveyRequest(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if req.Kind != "csat" || req.Ref != "T-1001" || *req.Score != 1 || req.Comment != "the courier was rude" ||
		req.State != models.SurveyCompleted || req.RecoveryTicketID == nil || req.Channel != "console" {
		t.Fatalf("request = %+v; want csat T-1001 score 1 with comment, completed, with a recovery ticket", req)
	}
	tk, err := db.Read().Ticket(ctx, *req.RecoveryTicketID)
	if err != nil || tk.Kind != "survey" || tk.Subject != "CSAT 1/5 (T-1001): the courier was rude" {
		t.Fatalf("recovery ticket = %+v, %v", tk, err)
	}
	if _, err := db.Read().PointsEntryByKey(ctx, fmt.Sprintf("survey:%s:%d", req.Key, req.CustomerID)); err != nil {
		t.Errorf("survey bonus: %v", err)
	}
	// The same trigger again sends nothing new.
	err = db.Write(ctx, func(s *models.Store) error {
		created, err := s.CreateSurveyRequest(ctx, &models.SurveyRequest{Key: req.Key, CustomerID: req.CustomerID, Kind: "csat",
			Survey: "csat", State: models.SurveySent, SentAt: clock, ExpiresAt: clock})
		if created {
			t.Error("a second request with the same key was stored")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
