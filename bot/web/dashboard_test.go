package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot/web"
)

func ptr(f float64) *float64 { return &f }

// fakeDashboard serves fixed figures and draws charts that name
// themselves, so a test can tell which one it got.
func fakeDashboard(fail error) func(*web.SiteOptions) {
	return func(o *web.SiteOptions) {
		o.Dashboard = func(context.Context) (web.DashboardView, error) {
			return web.DashboardView{At: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), Tickets: 17,
				TicketsByCategory: []web.DashboardCount{{Label: "logistics.delay", N: 11}, {Label: "refund", N: 5}, {Label: "-", N: 1}},
				SLAAttainment:     0.875, CSAT: ptr(92.3), NPS: ptr(-12.4), CSATResponses: 13, NPSResponses: 8,
				PointsOutstanding: 45210, PointsExpiring30: 1200, PointsExpiring90: 3400, PointsCustomers: 42,
				Segments: []web.DashboardCount{{Label: "champions", N: 5}, {Label: "at_risk", N: 9}},
				Stages:   []web.DashboardStage{{Stage: "active", Now: 30, Before: 27}, {Stage: "churned", Now: 4, Before: -1}},
			}, fail
		}
		o.DashboardChart = func(_ context.Context, w io.Writer, name string, _ func(string) string) error {
			if fail != nil {
				return fail
			}
			_, err := fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg"><text>%s chart</text></svg>`, name)
			return err
		}
	}
}

func TestDashboard(t *testing.T) {
	f := newFixture(t, "", fakeDashboard(nil))
	anon := f.client(t)
	if resp, _ := do(t, anon, "GET", f.srv.URL+"/inbox/dashboard", ""); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/inbox/login" {
		t.Errorf("dashboard signed out = %d → %q; want the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := do(t, anon, "GET", f.srv.URL+"/inbox/dashboard/chart/tickets.svg", ""); resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "<svg") {
		t.Errorf("chart signed out = %d %q; want 401 without the chart", resp.StatusCode, body)
	}

	c := f.client(t)
	login(t, f, c)
	_, inbox := do(t, c, "GET", f.srv.URL+"/inbox", "")
	if !strings.Contains(inbox, `href="/inbox/dashboard"`) {
		t.Error("the inbox header has no link to the dashboard")
	}
	resp, body := do(t, c, "GET", f.srv.URL+"/inbox/dashboard", "")
	if resp.StatusCode != 200 {
		t.Fatalf("dashboard = %d\n%s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("dashboard CSP %q; want the pages' own, nothing inline", csp)
	}
	if strings.Contains(body, "<script") {
		t.Error("the dashboard has a script; it needs none")
	}
	for _, want := range []string{"Dashboard", `id="kpi-tickets">17<`, `id="kpi-sla">88%<`, `id="kpi-csat">92%<`, `id="kpi-nps">-12<`,
		"Answers: 13", "(no category)", "logistics.delay", "<td>11</td>", `id="points-outstanding">45210<`, `id="points-30">1200<`, `id="points-90">3400<`,
		"42 customers hold points", "champions", "at_risk", "<td>27</td>", "<td>—</td>",
		`src="/inbox/dashboard/chart/tickets.svg"`, `src="/inbox/dashboard/chart/surveys.svg"`,
		`src="/inbox/dashboard/chart/segments.svg"`, `src="/inbox/dashboard/chart/stages.svg"`} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	// Chinese, as picked.
	_, zh := do(t, c, "GET", f.srv.URL+"/inbox/dashboard?lang=zh", "")
	for _, want := range []string{"数据看板", "积分负债", "30 天内到期", "45210"} {
		if !strings.Contains(zh, want) {
			t.Errorf("Chinese dashboard lacks %q", want)
		}
	}

	for _, name := range web.DashboardCharts {
		resp, body := do(t, c, "GET", f.srv.URL+"/inbox/dashboard/chart/"+name+".svg", "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(body, name+" chart") {
			t.Errorf("chart %s = %d %s %q", name, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script") {
			t.Errorf("chart %s CSP %q; want nothing loaded or run", name, csp)
		}
	}
	for _, path := range []string{"nope.svg", "tickets", "tickets.png", url.PathEscape("../tickets.svg")} {
		if resp, _ := do(t, c, "GET", f.srv.URL+"/inbox/dashboard/chart/"+path, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("chart %q = %d; want 404", path, resp.StatusCode)
		}
	}
}

func TestDashboardFailuresAndAbsence(t *testing.T) {
	f := newFixture(t, "", fakeDashboard(errors.New("database is locked")))
	c := f.client(t)
	login(t, f, c)
	if resp, body := do(t, c, "GET", f.srv.URL+"/inbox/dashboard", ""); resp.StatusCode != 500 || strings.Contains(body, "locked") {
		t.Errorf("dashboard failing = %d %q; want a clean 500 that hides the cause", resp.StatusCode, body)
	}
	if resp, _ := do(t, c, "GET", f.srv.URL+"/inbox/dashboard/chart/tickets.svg", ""); resp.StatusCode != 500 {
		t.Errorf("chart failing = %d; want 500", resp.StatusCode)
	}

	// Not wired: no link, no page.
	f = newFixture(t, "")
	c = f.client(t)
	login(t, f, c)
	if _, inbox := do(t, c, "GET", f.srv.URL+"/inbox", ""); strings.Contains(inbox, "/inbox/dashboard") {
		t.Error("the inbox links a dashboard that is not wired")
	}
	for _, path := range []string{"/inbox/dashboard", "/inbox/dashboard/chart/tickets.svg"} {
		if resp, _ := do(t, c, "GET", f.srv.URL+path, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s unwired = %d; want 404", path, resp.StatusCode)
		}
	}
}
