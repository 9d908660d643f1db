package web

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DashboardView is what the staff dashboard shows. The figures come from
// elsewhere (handlers.Dashboard, wired in cmd/kefu): the web package only
// lays them out, so it need not know how they are computed.
type DashboardView struct {
	At time.Time
	// The last 30 days of tickets.
	Tickets           int
	TicketsByCategory []DashboardCount
	SLAAttainment     float64 // 0..1; negative when nothing was measured
	// Surveys of the last 12 weeks: CSAT % (0..100) and NPS (−100..100),
	// nil without answers.
	CSAT, NPS                   *float64
	CSATResponses, NPSResponses int
	// Points liability.
	PointsOutstanding, PointsExpiring30, PointsExpiring90, PointsCustomers int64
	Segments                                                               []DashboardCount
	Stages                                                                 []DashboardStage
}

// DashboardCount is one labelled number (a category, a segment).
type DashboardCount struct {
	Label string
	N     int
}

// DashboardStage is a lifecycle stage now and about 30 days before
// (Before < 0: no snapshot that old).
type DashboardStage struct {
	Stage       string
	Now, Before int
}

// DashboardCharts are the charts the dashboard shows, by name: the names
// SiteOptions.DashboardChart draws.
var DashboardCharts = []string{"tickets", "surveys", "segments", "stages"}

// dashboardData is the dashboard template's Data.
type dashboardData struct {
	DashboardView
	SLA, CSATText, NPSText string
}

// dashboardOn reports whether the dashboard is wired; without it the
// routes answer 404 and the inbox shows no link.
func (s *Site) dashboardOn() bool { return s.o.Dashboard != nil && s.o.DashboardChart != nil }

func (s *Site) dashboardPage(w http.ResponseWriter, r *http.Request) {
	ss, ok := s.staff(w, r)
	if !ok {
		return
	}
	if ss == nil {
		http.Redirect(w, r, "/inbox/login", http.StatusSeeOther)
		return
	}
	if !s.dashboardOn() {
		http.NotFound(w, r)
		return
	}
	v, err := s.o.Dashboard(r.Context())
	if err != nil {
		s.fail(w, r, "dashboard", err)
		return
	}
	d := dashboardData{DashboardView: v, SLA: "—", CSATText: "—", NPSText: "—"}
	if v.SLAAttainment >= 0 && v.Tickets > 0 {
		d.SLA = fmt.Sprintf("%.0f%%", v.SLAAttainment*100)
	}
	if v.CSAT != nil {
		d.CSATText = fmt.Sprintf("%.0f%%", *v.CSAT)
	}
	if v.NPS != nil {
		d.NPSText = fmt.Sprintf("%+.0f", math.Round(*v.NPS))
	}
	p := s.newPage(s.langOf(w, r), "")
	p.Title, p.CSRF, p.Staff, p.Data = p.T("web.dash.title"), ss.CSRF, ss.Name, d
	w.Header().Set("X-Frame-Options", "DENY")
	s.render(w, "dashboard.html", p)
}

// dashboardChart serves one chart as SVG, to signed-in staff only. The
// charts are drawn from the same figures as the page, so they are never
// cached by shared caches.
func (s *Site) dashboardChart(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.signedIn(w, r); !ok {
		return
	}
	name, ok := strings.CutSuffix(r.PathValue("name"), ".svg")
	if !s.dashboardOn() || !ok || !slices.Contains(DashboardCharts, name) {
		http.NotFound(w, r)
		return
	}
	// Drawn into a buffer first, so a failure is a clean 500.
	var b bytes.Buffer
	lang := s.langOf(nil, r) // as the page that shows the chart
	t := func(id string) string { return s.cat.T(lang, id, nil) }
	if err := s.o.DashboardChart(r.Context(), &b, name, t); err != nil {
		s.fail(w, r, "dashboard chart", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// Opened on its own, the SVG may run nothing and load nothing.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

// HasDashboard tells the inbox header whether to link the dashboard.
func (p *page) HasDashboard() bool { return p.s.dashboardOn() }
