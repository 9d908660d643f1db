package handlers

import (
	"sort"
	"time"

	"github.com/kefu-bot/kefu/handlers/survey"
	"github.com/kefu-bot/kefu/models"
)

// SurveyReport is `kefu report surveys`: response rate, CSAT % and NPS
// over all requests sent since Since, and the same by kind, channel,
// agent, ticket category and ISO week (in the shop's time zone).
type SurveyReport struct {
	Since      time.Time      `json:"since"`
	Total      survey.Stats   `json:"total"`
	ByKind     []survey.Stats `json:"by_kind"`
	ByChannel  []survey.Stats `json:"by_channel"`
	ByAgent    []survey.Stats `json:"by_agent"`
	ByCategory []survey.Stats `json:"by_category"`
	ByWeek     []survey.Stats `json:"by_week"`
}

// Groups returns every grouped row, total last: the order of the table
// and the CSV.
func (r SurveyReport) Groups() []survey.Stats {
	var out []survey.Stats
	for _, g := range [][]survey.Stats{r.ByKind, r.ByChannel, r.ByAgent, r.ByCategory, r.ByWeek} {
		out = append(out, g...)
	}
	return append(out, r.Total)
}

// Trend is the weekly CSAT and NPS, oldest first, for the chart.
func (r SurveyReport) Trend() []survey.Point {
	pts := make([]survey.Point, len(r.ByWeek))
	for i, w := range r.ByWeek {
		pts[i] = survey.Point{Week: w.Key, CSAT: w.CSAT, NPS: w.NPS}
	}
	return pts
}

// BuildSurveyReport computes the report. A request counts as answered
// once the customer answered anything (a score, a question). Agent and
// category come from the ticket a CSAT was about; "-" when none.
func BuildSurveyReport(reqs []models.SurveyRequest, since time.Time, loc *time.Location) SurveyReport {
	if loc == nil {
		loc = time.UTC
	}
	r := SurveyReport{Since: since}
	r.Total.Group, r.Total.Key = "total", "all"
	groups := map[string]map[string]*survey.Stats{}
	add := func(group, key string, q *models.SurveyRequest) {
		if key == "" {
			key = "-"
		}
		if groups[group] == nil {
			groups[group] = map[string]*survey.Stats{}
		}
		s := groups[group][key]
		if s == nil {
			s = &survey.Stats{Group: group, Key: key}
			groups[group][key] = s
		}
		s.Add(q.Kind, q.Answered(), q.Score)
	}
	for i := range reqs {
		q := &reqs[i]
		r.Total.Add(q.Kind, q.Answered(), q.Score)
		add("kind", q.Kind, q)
		add("channel", q.Channel, q)
		add("agent", q.Agent, q)
		add("category", q.Category, q)
		add("week", survey.Week(q.SentAt, loc), q)
	}
	r.Total.Finish()
	list := func(group string) []survey.Stats {
		out := make([]survey.Stats, 0, len(groups[group]))
		for _, s := range groups[group] {
			s.Finish()
			out = append(out, *s)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		return out
	}
	r.ByKind, r.ByChannel, r.ByAgent = list("kind"), list("channel"), list("agent")
	r.ByCategory, r.ByWeek = list("category"), list("week")
	return r
}
