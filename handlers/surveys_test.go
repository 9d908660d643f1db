package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
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
	say(false, "", "cs:yes") // agreed earlier to proactive messages (consent_en.txtar asks)
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

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSurveyManners checks who is not asked and why: opted out,
// unreachable, never chatted, surveyed within the window; quiet hours
// hold a send until they end; an unanswered survey expires.
func TestSurveyManners(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	logs := &syncBuffer{}
	opt := handlers.DefaultSurveyOptions()
	opt.NPSDelay, opt.Window, opt.Expiry = 24*time.Hour, 10*24*time.Hour, 72*time.Hour
	opt.Quiet, _ = survey.ParseQuiet("22:00-08:00")
	sv := handlers.NewSurveys(opt, time.UTC)
	e, db := newEngine(t, setup{Now: now, Log: slog.New(slog.NewTextHandler(logs, nil)), Deps: handlers.Deps{Surveys: sv}})
	ids := map[string]uint64{}
	for i, name := range []string{"kim", "lee", "max"} {
		if _, err := e.Handle(ctx, bot.Inbound{Channel: "console", ChatID: name, UserID: name, MessageID: fmt.Sprint("h", i), Text: "hello"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Handle(ctx, bot.Inbound{Channel: "console", ChatID: name, UserID: name, MessageID: fmt.Sprint("c", i), Data: "cs:yes"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Handle(ctx, bot.Inbound{Channel: "console", ChatID: "lee", UserID: "lee", MessageID: "stop", Text: "/nosurvey"}); err != nil {
		t.Fatal(err)
	}
	deliver := func(name, order string, at time.Time) {
		t.Helper()
		err := db.Write(ctx, func(s *models.Store) error {
			c, _, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: "console", ExternalID: name, Name: name})
			if err != nil {
				return err
			}
			ids[name] = c.ID
			if name == "max" {
				if err := s.MarkUnreachable(ctx, "console", "max"); err != nil {
					return err
				}
			}
			return sv.OrderDelivered(ctx, s, c.ID, order, at)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	run := func(d time.Duration) {
		t.Helper()
		clock = clock.Add(d)
		if _, err := e.RunDueJobs(ctx, 100); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		t.Helper()
		reqs, err := db.Read().SurveyRequestsSince(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return len(reqs)
	}
	for _, n := range []string{"kim", "lee", "max", "nobody"} {
		deliver(n, "R-"+n, clock)
	}
	deliver("kim", "R-kim", clock) // the same order again: one survey
	run(24 * time.Hour)
	if got := count(); got != 1 {
		t.Fatalf("requests after the first deliveries = %d; want 1 (kim)", got)
	}
	for _, reason := range []string{`reason="opted out"`, "reason=unreachable", `reason="never chatted"`} {
		if !strings.Contains(logs.String(), reason) {
			t.Errorf("log lacks %s:\n%s", reason, logs)
		}
	}
	// Within the window: no second survey.
	deliver("kim", "R-kim2", clock)
	run(24 * time.Hour)
	if got := count(); got != 1 || !strings.Contains(logs.String(), `reason="another survey within the window"`) {
		t.Fatalf("requests = %d; want 1, skipped for the window", got)
	}
	// The first survey was never answered: it expires 72h after it went out.
	run(47 * time.Hour)
	if req, _ := db.Read().SurveyRequest(ctx, 1); req.State != models.SurveySent {
		t.Fatalf("first request at 71h = %s; want still sent", req.State)
	}
	run(time.Hour)
	req, err := db.Read().SurveyRequest(ctx, 1)
	if err != nil || req.State != models.SurveyExpired {
		t.Fatalf("first request = %+v, %v; want expired", req, err)
	}
	// After the window, at 23:00 (quiet): held until 08:00.
	clock = time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)
	deliver("kim", "R-kim3", clock.Add(-24*time.Hour))
	run(0)
	if got := count(); got != 1 {
		t.Fatalf("requests during quiet hours = %d; want still 1", got)
	}
	run(9 * time.Hour) // 08:00
	reqs, err := db.Read().SurveyRequestsSince(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || !reqs[1].SentAt.Equal(time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)) || reqs[1].Ref != "R-kim3" {
		t.Fatalf("after quiet hours: %+v; want R-kim3 sent at 08:00", reqs)
	}
}

// TestQuestionnaireOnResolve: a questionnaire with trigger
// ticket.resolved follows the resolution after its delay, carrying the
// ticket's agent and category for the report; CSAT is off here.
func TestQuestionnaireOnResolve(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	d, err := survey.Parse("surveys/after.yaml", []byte(`title: {en: After, zh: 之后}
trigger: ticket.resolved
delay: 2h
questions:
  - id: easy
    type: rating
    scale: 5
    text: {en: "Was it easy?", zh: "容易吗？"}
`))
	if err != nil {
		t.Fatal(err)
	}
	opt := handlers.DefaultSurveyOptions()
	opt.CSAT, opt.Questionnaires = false, []*survey.Definition{d}
	var sent []*models.Message
	e, db := newEngine(t, setup{Now: func() time.Time { return clock }, Notify: func(rows []*models.Message) { sent = append(sent, rows...) },
		Deps: handlers.Deps{Surveys: handlers.NewSurveys(opt, time.UTC)}})
	for i, in := range []bot.Inbound{
		{ChatID: "kim", UserID: "kim", Text: "I want to talk to a human"},
		{ChatID: "kim", UserID: "kim", Data: "cs:yes"},
		{ChatID: "staff", UserID: "mei", Text: "/claim T-1001", Staff: true, Room: true},
		{ChatID: "staff", UserID: "mei", Text: "/resolve T-1001", Staff: true, Room: true},
	} {
		in.Channel, in.MessageID, in.UserName = "console", fmt.Sprint("m", i), in.UserID
		if _, err := e.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []time.Duration{time.Hour, time.Hour} {
		clock = clock.Add(step)
		if _, err := e.RunDueJobs(ctx, 10); err != nil {
			t.Fatal(err)
		}
		reqs, _ := db.Read().SurveyRequestsSince(ctx, time.Time{})
		if want := clock.Sub(time.Date(2026, 11, 11, 12, 0, 0, 0, time.UTC)) >= 0; (len(reqs) == 1) != want {
			t.Fatalf("at %s: %d requests; want sent only from 12:00", clock.Format("15:04"), len(reqs))
		}
	}
	reqs, _ := db.Read().SurveyRequestsSince(ctx, time.Time{})
	if r := reqs[0]; r.Kind != "questionnaire" || r.Survey != "after" || r.Ref != "T-1001" || r.Agent != "console:mei" || r.Step != "easy" {
		t.Errorf("request = %+v", r)
	}
	if last := sent[len(sent)-1]; last.Text != "Was it easy?" || len(last.Payload.Buttons) != 1 || len(last.Payload.Buttons[0]) != 5 {
		t.Errorf("last message %q %v; want the rating question with 5 buttons", last.Text, last.Payload.Buttons)
	}
}
