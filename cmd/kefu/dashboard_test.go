package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot/web"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/models"
)

// TestWebDashboardOnDemoShop runs `kefu run` on the demo shop, signs in to
// the inbox over HTTP with the printed demo account and checks that the
// dashboard shows the demo data's figures (as the database has them) and
// serves each chart as SVG.
func TestWebDashboardOnDemoShop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	e := testEnv(t)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"kefu", "run"}, env(e), strings.NewReader(""), &stdout, &stderr)
	}()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("kefu run: %v\n%s", err, stderr.String())
		}
	}()
	waitForURL(t, &stdout)
	out := stdout.String()
	inbox, login := inboxURL.FindStringSubmatch(out), demoLoginRe.FindStringSubmatch(out)
	if inbox == nil || login == nil {
		t.Fatalf("kefu run did not print the inbox and demo login:\n%s", out)
	}
	base := strings.TrimSuffix(inbox[1], "/inbox")

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get("/inbox/dashboard"); !strings.Contains(body, "Staff sign-in") {
		t.Fatalf("dashboard signed out = %d, not the sign-in page:\n%s", resp.StatusCode, body)
	}
	resp, err := c.PostForm(base+"/inbox/login", url.Values{"name": {login[1]}, "password": {login[2]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, body := get("/inbox/dashboard")
	if resp.StatusCode != 200 || !strings.Contains(body, "Dashboard") {
		t.Fatalf("dashboard = %d:\n%s", resp.StatusCode, body)
	}

	// What the demo data holds, read from the database itself.
	db, err := models.Open(ctx, dbOptions(e))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want, err := handlers.Dashboard(ctx, db.Read(), handlers.Deps{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The demo shop's past complaint, and points its customers hold.
	if want.Tickets != 1 || len(want.TicketsByCategory) != 1 || want.PointsLiability.Outstanding <= 0 || len(want.Segments) == 0 {
		t.Fatalf("the demo data is not what this test expects: %+v", want)
	}
	wants := []string{fmt.Sprintf(`id="kpi-tickets">%d<`, want.Tickets), want.TicketsByCategory[0].Category,
		fmt.Sprintf(`id="points-outstanding">%d<`, want.PointsLiability.Outstanding),
		fmt.Sprintf(`id="points-30">%d<`, want.PointsLiability.Expiring30),
		fmt.Sprintf(`id="points-90">%d<`, want.PointsLiability.Expiring90)}
	for _, s := range want.Segments {
		wants = append(wants, fmt.Sprintf("<td>%s</td><td>%d</td>", s.Segment, s.Count))
	}
	for _, s := range want.Stages {
		wants = append(wants, fmt.Sprintf("<td>%s</td><td>%d</td>", s.Stage, s.Now))
	}
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("dashboard lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("dashboard page:\n%s", body)
	}
	for _, name := range web.DashboardCharts {
		resp, svg := get("/inbox/dashboard/chart/" + name + ".svg")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(svg, "<svg") {
			t.Errorf("chart %s = %d %s:\n%.300s", name, resp.StatusCode, resp.Header.Get("Content-Type"), svg)
		}
	}
	// The charts speak the page's language.
	for lang, title := range map[string]string{"en": "Lifecycle stages, now and 30 days ago", "zh": "生命周期阶段：现在与 30 天前"} {
		if resp, _ := get("/inbox/dashboard?lang=" + lang); resp.StatusCode != 200 {
			t.Fatalf("dashboard in %s = %d", lang, resp.StatusCode)
		}
		if _, svg := get("/inbox/dashboard/chart/stages.svg"); !strings.Contains(svg, title) {
			t.Errorf("the stages chart in %s lacks %q:\n%.400s", lang, title, svg)
		}
	}
	if resp, _ := get("/inbox/dashboard/chart/nope.svg"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown chart = %d; want 404", resp.StatusCode)
	}
}
