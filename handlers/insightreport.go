package handlers

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/kefu-bot/kefu/handlers/insight"
	"github.com/kefu-bot/kefu/handlers/survey"
	"github.com/kefu-bot/kefu/models"
)

// StageFlow is the number of customers in a lifecycle stage now and in
// the snapshot of about 30 days ago (-1 when there is none).
type StageFlow struct {
	Stage  string `json:"stage"`
	Now    int    `json:"now"`
	Before int    `json:"before"`
}

// SegmentCount is the number of customers in a value segment.
type SegmentCount struct {
	Segment string `json:"segment"`
	Count   int    `json:"count"`
}

// CampaignOutcome sums the sends of one campaign and what followed them
// within the outcome window.
type CampaignOutcome struct {
	Campaign string `json:"campaign"`
	Sent     int    `json:"sent"`
	Replied  int    `json:"replied"`
	Redeemed int    `json:"redeemed"`
	Ordered  int    `json:"ordered"`
}

// CustomerReport is `kefu report customers`.
type CustomerReport struct {
	At        time.Time      `json:"at"`
	Customers int            `json:"customers"`
	Values    []SegmentCount `json:"values"`
	Stages    []StageFlow    `json:"stages"`
	// BeforeDay is the day of the snapshot compared with ("" none).
	BeforeDay string            `json:"before_day"`
	Rates     insight.Rates     `json:"rates"`
	Campaigns []CampaignOutcome `json:"campaigns"`
}

// Report computes the segments at now from the orders (it stores nothing:
// Refresh does), compares the stages with the latest snapshot at least 30
// days old and sums campaign outcomes as last tracked.
func (in *Insight) Report(ctx context.Context, s *models.Store, now time.Time) (CustomerReport, error) {
	rows, err := s.SegmentFacts(ctx)
	if err != nil {
		return CustomerReport{}, err
	}
	facts := make([]insight.Facts, len(rows))
	for i, r := range rows {
		facts[i] = insight.Facts{Customer: r.CustomerID, Orders: r.Orders, Spend: r.Spend, FirstOrder: r.FirstOrder, LastOrder: r.LastOrder}
	}
	segs := insight.Compute(facts, now, in.opt.Lifecycle)
	r := CustomerReport{At: now, Customers: len(segs), Rates: insight.ComputeRates(facts, segs), Campaigns: []CampaignOutcome{}}
	stages, values := map[string]int{}, map[string]int{}
	for _, g := range segs {
		stages[g.Stage]++
		values[g.Value]++
	}
	day, before, err := s.Snapshot(ctx, now.In(in.loc).AddDate(0, 0, -30).Format(time.DateOnly))
	if err != nil {
		return CustomerReport{}, err
	}
	r.BeforeDay = day
	for _, st := range insight.Stages {
		f := StageFlow{Stage: st, Now: stages[st], Before: -1}
		if day != "" {
			f.Before = before["stage/"+st]
		}
		r.Stages = append(r.Stages, f)
	}
	for _, v := range insight.Values {
		r.Values = append(r.Values, SegmentCount{Segment: v, Count: values[v]})
	}
	sends, err := s.CampaignSends(ctx, "", time.Time{})
	if err != nil {
		return CustomerReport{}, err
	}
	r.Campaigns = outcomes(sends)
	return r, nil
}

func outcomes(sends []models.CampaignSend) []CampaignOutcome {
	by := map[string]*CampaignOutcome{}
	for _, c := range sends {
		o := by[c.Campaign]
		if o == nil {
			o = &CampaignOutcome{Campaign: c.Campaign}
			by[c.Campaign] = o
		}
		o.Sent++
		if c.RepliedAt != nil {
			o.Replied++
		}
		if c.RedeemedAt != nil {
			o.Redeemed++
		}
		if c.OrderedAt != nil {
			o.Ordered++
		}
	}
	out := make([]CampaignOutcome, 0, len(by))
	for _, o := range by {
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Campaign < out[j].Campaign })
	return out
}

// Outcomes sums the tracked outcomes of every campaign's sends.
func (in *Insight) Outcomes(ctx context.Context, s *models.Store) ([]CampaignOutcome, error) {
	sends, err := s.CampaignSends(ctx, "", time.Time{})
	if err != nil {
		return nil, err
	}
	return outcomes(sends), nil
}

// CategoryCount is the number of tickets of a category.
type CategoryCount struct {
	Category string `json:"category"`
	Count    int    `json:"count"`
}

// DashboardData is what the web inbox's dashboard shows: the last 30 days
// of tickets (by category, SLA attainment), the weekly CSAT and NPS of
// the last 12 weeks, the points liability and the customer segments.
type DashboardData struct {
	At                time.Time         `json:"at"`
	TicketsByCategory []CategoryCount   `json:"tickets_by_category"`
	Tickets           int               `json:"tickets"`
	SLAAttainment     float64           `json:"sla_attainment"` // 0..1; -1 when nothing was measured
	SurveyTrend       []survey.Point    `json:"survey_trend"`   // weekly CSAT % and NPS, oldest first
	Surveys           survey.Stats      `json:"surveys"`        // the 12 weeks in total
	PointsLiability   models.Liability  `json:"points_liability"`
	Segments          []SegmentCount    `json:"segments"`
	Stages            []StageFlow       `json:"stages"`
	Rates             insight.Rates     `json:"rates"`
	Campaigns         []CampaignOutcome `json:"campaigns"`
}

// Dashboard gathers the dashboard's figures at now. d is the handlers'
// Deps (SLA policy and calendar judge the tickets, Insight the segments;
// zero fields take their defaults). s may be a read-only store.
func Dashboard(ctx context.Context, s *models.Store, d Deps, now time.Time) (DashboardData, error) {
	h := newHandlers(d)
	out := DashboardData{At: now}
	since := now.Add(-30 * 24 * time.Hour)
	ts, err := s.TicketsSince(ctx, since)
	if err != nil {
		return out, fmt.Errorf("dashboard: %w", err)
	}
	tr := BuildTicketReport(d, ts, since, now)
	out.Tickets, out.SLAAttainment = tr.Total.Total, tr.Total.SLAAttainment
	cats := map[string]int{}
	for _, row := range tr.Rows {
		cats[row.Category] += row.Total
	}
	for _, c := range sortedKeys(cats) {
		out.TicketsByCategory = append(out.TicketsByCategory, CategoryCount{Category: c, Count: cats[c]})
	}
	from := now.Add(-12 * 7 * 24 * time.Hour)
	reqs, err := s.SurveyRequestsSince(ctx, from)
	if err != nil {
		return out, fmt.Errorf("dashboard: %w", err)
	}
	sr := BuildSurveyReport(reqs, from, h.loc)
	out.SurveyTrend, out.Surveys = sr.Trend(), sr.Total
	if out.PointsLiability, err = s.PointsLiability(ctx, now); err != nil {
		return out, fmt.Errorf("dashboard: %w", err)
	}
	cr, err := h.insight.Report(ctx, s, now)
	if err != nil {
		return out, fmt.Errorf("dashboard: %w", err)
	}
	out.Segments, out.Stages, out.Rates, out.Campaigns = cr.Values, cr.Stages, cr.Rates, cr.Campaigns
	return out, nil
}

// StageBars are the lifecycle flow as chart rows: now, and the snapshot
// (-1 when there is none).
func StageBars(flow []StageFlow) []insight.Bar {
	out := make([]insight.Bar, len(flow))
	for i, f := range flow {
		out[i] = insight.Bar{Label: f.Stage, Values: []int{f.Now, f.Before}}
	}
	return out
}

// Dashboard charts, by name, for WriteChart.
const (
	ChartTickets  = "tickets"  // tickets by category, last 30 days
	ChartSurveys  = "surveys"  // weekly CSAT % and NPS
	ChartSegments = "segments" // value segment sizes
	ChartStages   = "stages"   // lifecycle stages now and 30 days before
)

// WriteChart draws one of the dashboard's charts (ChartTickets,
// ChartSurveys, ChartSegments, ChartStages) as a self-contained SVG, in
// English; the web inbox serves them through WriteChartIn.
func (d DashboardData) WriteChart(w io.Writer, name string) error {
	return d.WriteChartIn(w, name, nil)
}

// WriteChartIn is WriteChart with the titles and series named by t, which
// translates the staff dashboard's catalog ids (web.dash.*, the same
// texts as the page's headings) into the reader's language; nil is
// English.
func (d DashboardData) WriteChartIn(w io.Writer, name string, t func(id string) string) error {
	text := func(id, en string) string {
		if t == nil {
			return en
		}
		return t("web.dash." + id)
	}
	switch name {
	case ChartTickets:
		bars := make([]insight.Bar, len(d.TicketsByCategory))
		for i, c := range d.TicketsByCategory {
			bars[i] = insight.Bar{Label: c.Category, Values: []int{c.Count}}
		}
		return insight.WriteBars(w, text("by_category", "Tickets by category, last 30 days"),
			[]string{text("count", "tickets")}, bars)
	case ChartSurveys:
		return survey.WriteChart(w, text("trend", "Weekly CSAT % and NPS"), d.SurveyTrend)
	case ChartSegments:
		bars := make([]insight.Bar, len(d.Segments))
		for i, s := range d.Segments {
			bars[i] = insight.Bar{Label: s.Segment, Values: []int{s.Count}}
		}
		return insight.WriteBars(w, text("segments", "Customers by value segment"),
			[]string{text("customers", "customers")}, bars)
	case ChartStages:
		return insight.WriteBars(w, text("stages", "Lifecycle stages"),
			[]string{text("now", "now"), text("before", "30 days before")}, StageBars(d.Stages))
	}
	return fmt.Errorf("dashboard: no chart %q (tickets, surveys, segments, stages)", name)
}
