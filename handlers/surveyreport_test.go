package handlers_test

import (
	"context"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/handlers/survey"
	"github.com/kefu-bot/kefu/models"
)

func TestSurveyReportFigures(t *testing.T) {
	n := func(v int) *int { return &v }
	at := func(day int) time.Time { return time.Date(2026, 11, day, 10, 0, 0, 0, time.UTC) }
	ans := func(day int) *time.Time { v := at(day); return &v }
	// Week 46 (9–15 Nov): CSAT 5, 4, 2 on telegram by mei (delivery),
	// one CSAT unanswered; NPS 10, 6 on web.
	// Week 47 (16–22 Nov): CSAT 1 by jun (quality) on telegram; NPS 9,
	// 8, 9; a questionnaire answered, another not.
	reqs := []models.SurveyRequest{
		{Kind: "csat", Channel: "telegram", Agent: "mei", Category: "logistics.delay", SentAt: at(9), AnsweredAt: ans(9), Score: n(5)},
		{Kind: "csat", Channel: "telegram", Agent: "mei", Category: "logistics.delay", SentAt: at(10), AnsweredAt: ans(10), Score: n(4)},
		{Kind: "csat", Channel: "telegram", Agent: "mei", Category: "logistics.delay", SentAt: at(11), AnsweredAt: ans(11), Score: n(2)},
		{Kind: "csat", Channel: "telegram", Agent: "mei", Category: "logistics.delay", SentAt: at(12)},
		{Kind: "nps", Channel: "web", SentAt: at(13), AnsweredAt: ans(13), Score: n(10)},
		{Kind: "nps", Channel: "web", SentAt: at(14), AnsweredAt: ans(14), Score: n(6)},
		{Kind: "csat", Channel: "telegram", Agent: "jun", Category: "product.quality", SentAt: at(16), AnsweredAt: ans(16), Score: n(1)},
		{Kind: "nps", Channel: "telegram", SentAt: at(17), AnsweredAt: ans(17), Score: n(9)},
		{Kind: "nps", Channel: "telegram", SentAt: at(18), AnsweredAt: ans(18), Score: n(8)},
		{Kind: "nps", Channel: "web", SentAt: at(19), AnsweredAt: ans(19), Score: n(9)},
		{Kind: "questionnaire", Channel: "web", SentAt: at(20), AnsweredAt: ans(20)},
		{Kind: "questionnaire", Channel: "web", SentAt: at(21)},
	}
	r := handlers.BuildSurveyReport(reqs, at(1), time.UTC)
	f := func(p *float64) float64 {
		if p == nil {
			return -999
		}
		return *p
	}
	type want struct {
		sent, answered      int
		response, csat, nps float64 // -999: not measured
	}
	check := func(name string, got survey.Stats, w want) {
		t.Helper()
		if got.Sent != w.sent || got.Answered != w.answered || f(got.Response) != w.response || f(got.CSAT) != w.csat || f(got.NPS) != w.nps {
			t.Errorf("%s: sent %d answered %d response %v CSAT %v NPS %v; want %+v",
				name, got.Sent, got.Answered, f(got.Response), f(got.CSAT), f(got.NPS), w)
		}
	}
	// Total: 12 sent, 10 answered = 83.3%. CSAT 5,4,2,1: 2/4 = 50%.
	// NPS 10,6,9,8,9: 3 promoters, 1 detractor of 5 = 40.
	check("total", r.Total, want{12, 10, 83.3, 50, 40})
	if len(r.ByWeek) != 2 || r.ByWeek[0].Key != "2026-W46" || r.ByWeek[1].Key != "2026-W47" {
		t.Fatalf("weeks = %+v", r.ByWeek)
	}
	// W46: 6 sent, 5 answered = 83.3%; CSAT 5,4,2 = 66.7%; NPS 10,6 = 0.
	check("W46", r.ByWeek[0], want{6, 5, 83.3, 66.7, 0})
	// W47: 6 sent, 5 answered; CSAT 1 = 0%; NPS 9,8,9 = 66.7.
	check("W47", r.ByWeek[1], want{6, 5, 83.3, 0, 66.7})
	byKey := func(rows []survey.Stats, key string) survey.Stats {
		for _, s := range rows {
			if s.Key == key {
				return s
			}
		}
		t.Fatalf("no row %q in %+v", key, rows)
		return survey.Stats{}
	}
	// mei: 4 sent, 3 answered = 75%, CSAT 2/3 = 66.7%.
	check("agent mei", byKey(r.ByAgent, "mei"), want{4, 3, 75, 66.7, -999})
	check("agent jun", byKey(r.ByAgent, "jun"), want{1, 1, 100, 0, -999})
	// telegram: CSAT x5 (4 answered) + NPS 9, 8 → 7 sent, 6 answered =
	// 85.7%; CSAT 2/4 = 50%; NPS (1 promoter, 0 detractors)/2 = 50.
	check("channel telegram", byKey(r.ByChannel, "telegram"), want{7, 6, 85.7, 50, 50})
	// web: NPS 10, 6, 9 and two questionnaires: 5 sent, 4 answered = 80%;
	// NPS (2-1)/3 = 33.3.
	check("channel web", byKey(r.ByChannel, "web"), want{5, 4, 80, -999, 33.3})
	check("category delay", byKey(r.ByCategory, "logistics.delay"), want{4, 3, 75, 66.7, -999})
	check("kind nps", byKey(r.ByKind, "nps"), want{5, 5, 100, -999, 40})
	if pts := r.Trend(); len(pts) != 2 || *pts[1].NPS != 66.7 {
		t.Errorf("trend = %+v", pts)
	}
}

// TestFeedbackStored: unprompted feedback is kept, not only thanked.
func TestFeedbackStored(t *testing.T) {
	ctx := context.Background()
	e, db := newEngine(t, setup{})
	if _, err := e.Handle(ctx, bot.Inbound{Channel: "console", ChatID: "customer:zoe", UserID: "zoe", MessageID: "f1",
		Text: "just wanted to say your packaging is lovely, great job"}); err != nil {
		t.Fatal(err)
	}
	notes, err := db.Read().FeedbackNotes(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || notes[0].Text != "just wanted to say your packaging is lovely, great job" || notes[0].Channel != "console" {
		t.Fatalf("feedback notes = %+v; want the one message", notes)
	}
}
