package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kefu-bot/kefu/bot/web"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/models"
)

// dashboardTTL is how long the web dashboard's figures are reused. A page
// and its four charts arrive together; computing the figures (segments
// over every customer) once for all five is enough, and a minute-old
// dashboard is still a true one.
const dashboardTTL = 30 * time.Second

// dashboard feeds the web inbox's dashboard from handlers.Dashboard on the
// read pool.
type dashboard struct {
	db   *models.DB
	deps handlers.Deps
	now  func() time.Time

	mu   sync.Mutex // held while computing, so a burst computes once
	data handlers.DashboardData
	at   time.Time
}

func newDashboard(db *models.DB, deps handlers.Deps, now func() time.Time) *dashboard {
	return &dashboard{db: db, deps: deps, now: now}
}

func (d *dashboard) get(ctx context.Context) (handlers.DashboardData, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if !d.at.IsZero() && now.Sub(d.at) < dashboardTTL && !now.Before(d.at) {
		return d.data, nil
	}
	data, err := handlers.Dashboard(ctx, d.db.Read(), d.deps, now)
	if err != nil {
		return handlers.DashboardData{}, err
	}
	d.data, d.at = data, now
	return data, nil
}

// view is web.SiteOptions.Dashboard.
func (d *dashboard) view(ctx context.Context) (web.DashboardView, error) {
	data, err := d.get(ctx)
	if err != nil {
		return web.DashboardView{}, err
	}
	return dashboardView(data), nil
}

// chart is web.SiteOptions.DashboardChart.
func (d *dashboard) chart(ctx context.Context, w io.Writer, name string, t func(id string) string) error {
	data, err := d.get(ctx)
	if err != nil {
		return err
	}
	if err := data.WriteChartIn(w, name, t); err != nil {
		return fmt.Errorf("dashboard chart %s: %w", name, err)
	}
	return nil
}

// dashboardView is the part of the figures the page shows.
func dashboardView(d handlers.DashboardData) web.DashboardView {
	v := web.DashboardView{At: d.At, Tickets: d.Tickets, SLAAttainment: d.SLAAttainment,
		CSAT: d.Surveys.CSAT, NPS: d.Surveys.NPS, CSATResponses: d.Surveys.CSATN, NPSResponses: d.Surveys.NPSN,
		PointsOutstanding: d.PointsLiability.Outstanding, PointsExpiring30: d.PointsLiability.Expiring30,
		PointsExpiring90: d.PointsLiability.Expiring90, PointsCustomers: d.PointsLiability.Customers}
	for _, c := range d.TicketsByCategory {
		v.TicketsByCategory = append(v.TicketsByCategory, web.DashboardCount{Label: c.Category, N: c.Count})
	}
	for _, s := range d.Segments {
		v.Segments = append(v.Segments, web.DashboardCount{Label: s.Segment, N: s.Count})
	}
	for _, s := range d.Stages {
		v.Stages = append(v.Stages, web.DashboardStage{Stage: s.Stage, Now: s.Now, Before: s.Before})
	}
	return v
}
