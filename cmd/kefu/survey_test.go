package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
)

// TestSurveyCampaignCLI: kefu survey send schedules one job per customer
// of the segment, spaced by the campaign rate, once per campaign id.
func TestSurveyCampaignCLI(t *testing.T) {
	e := testEnv(t)
	e["KEFU_SURVEYS_DIR"] = "../../surveys"
	e["KEFU_SURVEYS_CAMPAIGN_RATE"] = "30" // one every 2s
	ctx := context.Background()
	db, err := models.Open(ctx, dbOptions(e))
	if err != nil {
		t.Fatal(err)
	}
	// Three customers who chatted: two Chinese-speaking (one opted out),
	// one English.
	err = db.Write(ctx, func(s *models.Store) error {
		for _, c := range []struct{ id, lang string }{{"li", "zh"}, {"wang", "zh"}, {"al", "en"}, {"mei", "zh"}} {
			cust, _, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: "telegram", ExternalID: c.id, Name: c.id, Language: c.lang})
			if err != nil {
				return err
			}
			if _, err := s.Conversation(ctx, "telegram", c.id, models.KindCustomer, &cust.ID); err != nil {
				return err
			}
			if c.id == "wang" {
				if err := s.SetOptOut(ctx, cust.ID, models.TopicSurveys, true); err != nil {
					return err
				}
			}
			if c.id == "mei" {
				if err := s.MarkUnreachable(ctx, "telegram", "mei"); err != nil {
					return err
				}
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err := runKefu(t, e, "survey", "feedback")
	if err != nil || !strings.Contains(out, "No feedback yet.") {
		t.Fatalf("feedback: %v\n%s", err, out)
	}
	out, err = runKefu(t, e, "survey", "list")
	if err != nil || !strings.Contains(out, "delivery") || !strings.Contains(out, "order.delivered") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = runKefu(t, e, "survey", "send", "product", "--segment", "lang=zh", "--dry-run")
	if err != nil || !strings.Contains(out, "1 customer(s)") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, err = runKefu(t, e, "survey", "send", "product", "--segment", "seen=7d", "--id", "spring", "--at", "2026-11-20T10:00:00Z")
	if err != nil || !strings.Contains(out, "to 2 customer(s), 2026-11-20T10:00:00Z to 2026-11-20T10:00:02Z") {
		t.Fatalf("send: %v\n%s", err, out)
	}
	// The same campaign id again schedules nobody twice.
	if _, err = runKefu(t, e, "survey", "send", "product", "--segment", "seen=7d", "--id", "spring", "--at", "2026-11-21T10:00:00Z"); err != nil {
		t.Fatal(err)
	}
	db, err = models.Open(ctx, dbOptions(e))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	jobs, err := db.Read().DueJobs(ctx, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), 100)
	if err != nil {
		t.Fatal(err)
	}
	var sends []string
	for _, j := range jobs {
		if j.Kind == "survey.send" {
			sends = append(sends, j.Key+"@"+j.RunAt.UTC().Format("15:04:05"))
		}
	}
	if len(sends) != 2 || !strings.HasSuffix(sends[0], "@10:00:00") || !strings.HasSuffix(sends[1], "@10:00:02") {
		t.Errorf("survey.send jobs = %v; want two, 2s apart from 10:00:00", sends)
	}
	for _, bad := range [][]string{{"survey"}, {"survey", "send"}, {"survey", "send", "nosuch"},
		{"survey", "send", "product", "--segment", "lang=fr"}, {"survey", "send", "product", "--at", "tomorrow"}, {"survey", "nope"}} {
		if _, err := runKefu(t, e, bad...); exitCode(err) != 2 {
			t.Errorf("%v: err %v; want exit 2", bad, err)
		}
	}
	// A questionnaire with a mistake is a configuration error naming the
	// file and line.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("title: {en: T, zh: 题}\nquestions:\n  - id: a\n    type: slider\n    text: {en: A, zh: 甲}\n"), 0o644)
	e["KEFU_SURVEYS_DIR"] = dir
	if out, err := runKefu(t, e, "survey", "list"); exitCode(err) != 2 || !strings.Contains(err.Error(), `bad.yaml:3: question "a": type "slider"`) {
		t.Errorf("bad questionnaire: %v\n%s", err, out)
	}
}

// TestSurveyReportCLI checks the report's figures against hand-computed
// values in JSON and CSV, and that the chart is an SVG with both weeks.
func TestSurveyReportCLI(t *testing.T) {
	e := testEnv(t)
	ctx := context.Background()
	db, err := models.Open(ctx, dbOptions(e))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	lastWeek := now.AddDate(0, 0, -7)
	n := func(v int) *int { return &v }
	err = db.Write(ctx, func(s *models.Store) error {
		for i, r := range []models.SurveyRequest{
			{Kind: "csat", Channel: "telegram", Agent: "telegram:mei", SentAt: lastWeek, Score: n(5)},
			{Kind: "csat", Channel: "telegram", Agent: "telegram:mei", SentAt: lastWeek, Score: n(2)},
			{Kind: "csat", Channel: "web", Agent: "telegram:jun", SentAt: now, Score: n(4)},
			{Kind: "csat", Channel: "web", Agent: "telegram:jun", SentAt: now},
			{Kind: "nps", Channel: "web", SentAt: now, Score: n(10)},
			{Kind: "nps", Channel: "web", SentAt: now, Score: n(3)},
			{Kind: "nps", Channel: "web", SentAt: now, Score: n(9)},
		} {
			r.Key = "k" + string(rune('a'+i))
			r.State, r.ExpiresAt = models.SurveySent, r.SentAt.Add(time.Hour)
			if r.Score != nil {
				at := r.SentAt
				r.AnsweredAt, r.State = &at, models.SurveyCompleted
			}
			if _, err := s.CreateSurveyRequest(ctx, &r); err != nil {
				return err
			}
		}
		return s.AddFeedbackNote(ctx, &models.FeedbackNote{CustomerID: 7, ConversationID: 1, Channel: "telegram", Text: "love the\nnew packaging"})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err := runKefu(t, e, "report", "surveys", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var r struct {
		ByAgent []struct {
			Key  string
			CSAT *float64
		} `json:"by_agent"`
		ByWeek []struct{ Key string } `json:"by_week"`
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	var total struct {
		Sent     int     `json:"sent"`
		Answered int     `json:"answered"`
		Response float64 `json:"response_rate"`
		CSAT     float64 `json:"csat"`
		NPS      float64 `json:"nps"`
	}
	if err := json.Unmarshal(raw["total"], &total); err != nil {
		t.Fatal(err)
	}
	// 7 sent, 6 answered = 85.7%; CSAT 5, 2, 4: 2/3 = 66.7%; NPS 10, 3,
	// 9: (2-1)/3 = 33.3.
	if total.Sent != 7 || total.Answered != 6 || total.Response != 85.7 || total.CSAT != 66.7 || total.NPS != 33.3 {
		t.Errorf("total = %+v; want 7 sent, 6 answered, 85.7%%, CSAT 66.7, NPS 33.3", total)
	}
	if len(r.ByWeek) != 2 {
		t.Errorf("weeks = %+v; want 2", r.ByWeek)
	}
	for _, a := range r.ByAgent {
		if a.Key == "telegram:mei" && (a.CSAT == nil || *a.CSAT != 50) {
			t.Errorf("agent mei CSAT = %v; want 50", a.CSAT)
		}
	}
	out, err = runKefu(t, e, "report", "surveys", "--csv")
	if err != nil || !strings.Contains(out, "total,all,7,6,85.7,3,2,66.7,3,2,0,1,33.3") {
		t.Errorf("csv: %v\n%s", err, out)
	}
	out, err = runKefu(t, e, "survey", "feedback")
	if err != nil || !regexp.MustCompile(`\d\d:\d\d\s+7\s+telegram\s+love the new packaging`).MatchString(out) {
		t.Errorf("feedback: %v\n%s", err, out)
	}
	chart := filepath.Join(t.TempDir(), "trend.svg")
	out, err = runKefu(t, e, "report", "surveys", "--chart", chart)
	if err != nil || !regexp.MustCompile(`total\s+all\s+7\s+6\s+85.7%\s+66.7%\s+3\s+33.3\s+3`).MatchString(out) {
		t.Errorf("table: %v\n%s", err, out)
	}
	svg, err := os.ReadFile(chart)
	if err != nil || !strings.HasPrefix(string(svg), "<svg") || !strings.Contains(string(svg), r.ByWeek[len(r.ByWeek)-1].Key) {
		t.Errorf("chart: %v\n%.300s", err, svg)
	}
}
