package handlers_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/handlers/campaign"
	"github.com/kefu-bot/kefu/handlers/loyalty"
	"github.com/kefu-bot/kefu/handlers/sla"
	"github.com/kefu-bot/kefu/models"
)

var update = flag.Bool("update", false, "rewrite testdata transcripts with the current output")

// A transcript (testdata/*.txtar, file "transcript") is replayed line by
// line. Input lines:
//
//	> alice: text        customer alice writes text (her locale: "# locale alice zh-CN")
//	> alice [2]          alice presses button 2 of the last keyboard she got
//	>> mei: text         staff member mei writes in the staff room
//	>> mei [3]           mei presses button 3 of the staff room's last keyboard
//	~ 90m                time passes; due jobs (SLA timers, auto-close) run
//	! order alice R1 delivered 600000
//	                     the order import reports alice's order R1 (total in
//	                     minor units, CNY) with that status; due jobs run
//	! status REF STATUS  the shop platform reports a known order's new status
//	                     (as an import: Store.UpsertOrders); due jobs run
//
//	! campaign NAME SEGMENT
//	                     a survey campaign (kefu survey send) starts; due jobs run
//
//	! refresh            the segments are refreshed (kefu segments refresh)
//	! care NAME          the care campaign NAME of ../campaigns runs (kefu
//	                     campaign run NAME); a minute passes and due jobs run
//
// "# insight" loads the care campaigns of ../campaigns (rate 600 a minute).
// Adversarial input (security_*.txtar):
//
//	> alice {rw:ok:1:9}  alice's client sends button data no keyboard offered
//	> alice bytes: "a\x00b"*3
//	                     alice sends that Go-quoted string (repeated 3 times)
//	> alice ×12: text    alice sends text 12 times within the same second
//	# name alice NAME    alice's platform display name (default: alice);
//	                     a Go-quoted NAME may hold any bytes
//	# flood N            the engine's flood gate: N messages a minute
//
// "# surveys load=delivery,product window=720h quiet=21:00-09:00 …" sets
// the survey options (load: questionnaires from ../surveys; window,
// expiry, csat_delay, nps_delay: durations; quiet: quiet hours).
// Before the first message, "# hours mon-fri 09:00-18:00" sets opening
// hours, "# clock 2026-11-14T20:00:00Z" the start time (default a
// Wednesday, 2026-11-11 10:00 UTC, always open) and "# demo" seeds the demo
// shop (customers liwei, alice and wangfang with points, rewards).
//
// Coupon codes are random; their random part is shown as ########.
//
// Every other line is output and regenerated on each run: "< alice: …" is a
// message to alice, "< #staff: …" one to the staff room, continuation lines
// carry "|", keyboards are "[1] label [2] label", edits say "(edit)".
// go test ./handlers -run Transcripts -update rewrites the files.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var script []byte
			for _, f := range ar.Files {
				if f.Name == "transcript" {
					script = f.Data
				}
			}
			got := replay(t, string(script))
			if *update {
				for i := range ar.Files {
					if ar.Files[i].Name == "transcript" {
						ar.Files[i].Data = []byte(got)
					}
				}
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(script) {
				t.Errorf("transcript differs (run with -update to accept):\n%s", diff(string(script), got))
			}
		})
	}
}

var (
	customerLine = regexp.MustCompile(`^> (\w+): (.*)$`)
	pressLine    = regexp.MustCompile(`^> (\w+) \[(\d+)\]$`)
	staffLine    = regexp.MustCompile(`^>> (\w+): (.*)$`)
	staffPress   = regexp.MustCompile(`^>> (\w+) \[(\d+)\]$`)
	localeLine   = regexp.MustCompile(`^# locale (\w+) (\S+)$`)
	hoursLine    = regexp.MustCompile(`^# hours (.+)$`)
	clockLine    = regexp.MustCompile(`^# clock (\S+)$`)
	waitLine     = regexp.MustCompile(`^~ (\S+)$`)
	orderLine    = regexp.MustCompile(`^! order (\w+) (\S+) (\w+) (\d+)$`)
	statusLine   = regexp.MustCompile(`^! status (\S+) (\w+)$`)
	consentLine  = regexp.MustCompile(`^! consent (\S+) (yes|no)$`)
	campaignLine = regexp.MustCompile(`^! campaign (\S+) (\S+)$`)
	surveysLine  = regexp.MustCompile(`^# surveys (.+)$`)
	careLine     = regexp.MustCompile(`^! care (\S+)$`)
	forgedLine   = regexp.MustCompile(`^> (\w+) \{(.*)\}$`)
	bytesLine    = regexp.MustCompile(`^> (\w+) bytes: (".*")(?:\*(\d+))?$`)
	burstLine    = regexp.MustCompile(`^> (\w+) ×(\d+): (.*)$`)
	nameLine     = regexp.MustCompile(`^# name (\w+) (.+)$`)
	floodLine    = regexp.MustCompile(`^# flood (\d+)$`)
	couponCode   = regexp.MustCompile(`\b([A-Z0-9]+)-[A-HJ-NP-Z2-9]{8}\b`)
)

type harness struct {
	t       *testing.T
	engine  *bot.Engine
	out     strings.Builder
	queued  []*models.Message
	buttons map[string][]models.Button // chat → last keyboard
	pressed map[string]string          // chat → platform id of the last keyboard's message
	locales map[string]string
	names   map[string]string
	seq     int
}

func replay(t *testing.T, script string) string {
	t.Helper()
	ctx := context.Background()
	clock := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	deps := handlers.Deps{ShopName: "Demo Shop", Location: time.UTC,
		Points: handlers.NewPoints(loyalty.DefaultRules(), time.UTC, "FREESHIP")}
	deps.OrderHooks = []handlers.OrderHook{handlers.PointsHook(deps.Points)}
	flood := 0
	for _, line := range strings.Split(script, "\n") {
		if m := floodLine.FindStringSubmatch(line); m != nil {
			flood, _ = strconv.Atoi(m[1])
		}
		if m := hoursLine.FindStringSubmatch(line); m != nil {
			cal, err := sla.ParseCalendar(time.UTC, m[1], nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			deps.Calendar = &cal
		}
		if m := surveysLine.FindStringSubmatch(line); m != nil {
			deps.Surveys = testSurveys(t, m[1])
		}
		if line == "# insight" {
			defs, err := campaign.LoadDir("../campaigns")
			if err != nil {
				t.Fatal(err)
			}
			deps.Insight = handlers.NewInsight(handlers.InsightOptions{Shop: deps.ShopName, Points: deps.Points,
				Campaigns: defs, CampaignRate: 600}, time.UTC)
		}
		if m := clockLine.FindStringSubmatch(line); m != nil {
			var err error
			if clock, err = time.Parse(time.RFC3339, m[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	h := &harness{t: t, buttons: map[string][]models.Button{}, pressed: map[string]string{}, locales: map[string]string{}, names: map[string]string{}}
	// The database and the engine share the fake clock, as they share the
	// real one in production.
	var db *models.DB
	h.engine, db = newEngine(t, setup{Deps: deps, Now: func() time.Time { return clock }, Flood: flood,
		Notify: func(rows []*models.Message) { h.queued = append(h.queued, rows...) }})
	if strings.Contains(script, "\n# demo\n") || strings.HasPrefix(script, "# demo\n") {
		if err := db.Write(ctx, func(s *models.Store) error { _, err := s.SeedDemo(ctx); return err }); err != nil {
			t.Fatal(err)
		}
	}
	for _, line := range strings.Split(strings.TrimRight(script, "\n"), "\n") {
		if strings.HasPrefix(line, "<") {
			continue // output: regenerated
		}
		h.out.WriteString(line + "\n")
		var in bot.Inbound
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			if m := localeLine.FindStringSubmatch(line); m != nil {
				h.locales[m[1]] = m[2]
			}
			if m := nameLine.FindStringSubmatch(line); m != nil {
				h.names[m[1]] = m[2]
				if strings.HasPrefix(m[2], `"`) {
					name, err := strconv.Unquote(m[2])
					if err != nil {
						t.Fatalf("%q: %v", line, err)
					}
					h.names[m[1]] = name
				}
			}
			continue
		case orderLine.MatchString(line):
			m := orderLine.FindStringSubmatch(line)
			total, _ := strconv.ParseInt(m[4], 10, 64)
			err := db.Write(ctx, func(s *models.Store) error {
				c, _, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: "console", ExternalID: m[1], Name: m[1]})
				if err != nil {
					return err
				}
				if err := deps.Points.OrderChanged(ctx, s, loyalty.Order{Ref: m[2], CustomerID: c.ID, Status: m[3],
					Total: total, Currency: "CNY", DeliveredAt: clock}); err != nil || m[3] != "delivered" || deps.Surveys == nil {
					return err
				}
				return deps.Surveys.OrderDelivered(ctx, s, c.ID, m[2], clock)
			})
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if _, err := h.engine.RunDueJobs(ctx, 100); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			h.flush()
			continue
		case campaignLine.MatchString(line):
			m := campaignLine.FindStringSubmatch(line)
			err := db.Write(ctx, func(s *models.Store) error {
				g, err := handlers.ParseSegment(m[2], clock)
				if err != nil {
					return err
				}
				_, err = deps.Surveys.StartCampaign(ctx, s, m[1], clock.Format("20060102T1504"), g, clock)
				return err
			})
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if _, err := h.engine.RunDueJobs(ctx, 100); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			h.flush()
			continue
		case line == "! refresh":
			err := db.Write(ctx, func(s *models.Store) error { _, err := deps.Insight.Refresh(ctx, s, clock); return err })
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			continue
		case careLine.MatchString(line):
			err := db.Write(ctx, func(s *models.Store) error {
				_, err := deps.Insight.Run(ctx, s, careLine.FindStringSubmatch(line)[1], clock)
				return err
			})
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			clock = clock.Add(time.Minute)
			if _, err := h.engine.RunDueJobs(ctx, 100); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			h.flush()
			continue
		case consentLine.MatchString(line):
			// The customer's earlier answer to the consent question, for
			// scripts about what comes after it (consent_*.txtar shows the
			// question itself).
			m := consentLine.FindStringSubmatch(line)
			err := db.Write(ctx, func(s *models.Store) error {
				c, _, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: "console", ExternalID: m[1], Name: m[1]})
				if err != nil {
					return err
				}
				return s.SetConsent(ctx, c.ID, m[2], "button")
			})
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			continue
		case statusLine.MatchString(line):
			m := statusLine.FindStringSubmatch(line)
			if err := setOrderStatus(ctx, db, m[1], m[2]); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if _, err := h.engine.RunDueJobs(ctx, 100); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			h.flush()
			continue
		case waitLine.MatchString(line):
			d, err := time.ParseDuration(waitLine.FindStringSubmatch(line)[1])
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			clock = clock.Add(d)
			if _, err := h.engine.RunDueJobs(ctx, 100); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			h.flush()
			continue
		case forgedLine.MatchString(line):
			m := forgedLine.FindStringSubmatch(line)
			in = h.inbound(m[1], "customer:"+m[1], "")
			in.Data = m[2]
		case bytesLine.MatchString(line):
			m := bytesLine.FindStringSubmatch(line)
			text, err := strconv.Unquote(m[2])
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if m[3] != "" {
				n, _ := strconv.Atoi(m[3])
				text = strings.Repeat(text, n)
			}
			in = h.inbound(m[1], "customer:"+m[1], text)
		case burstLine.MatchString(line):
			// A burst: every message at the same instant, each its own
			// update, all answers shown after the line.
			m := burstLine.FindStringSubmatch(line)
			n, _ := strconv.Atoi(m[2])
			clock = clock.Add(time.Minute)
			for range n {
				if _, err := h.engine.Handle(ctx, h.inbound(m[1], "customer:"+m[1], m[3])); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
			}
			h.flush()
			continue
		case customerLine.MatchString(line):
			m := customerLine.FindStringSubmatch(line)
			in = h.inbound(m[1], "customer:"+m[1], m[2])
		case pressLine.MatchString(line):
			m := pressLine.FindStringSubmatch(line)
			chat := "customer:" + m[1]
			n, _ := strconv.Atoi(m[2])
			if n < 1 || n > len(h.buttons[chat]) {
				t.Fatalf("%q: no button %d", line, n)
			}
			in = h.inbound(m[1], chat, "")
			in.Data, in.PressedID = h.buttons[chat][n-1].Data, h.pressed[chat]
		case staffPress.MatchString(line):
			m := staffPress.FindStringSubmatch(line)
			n, _ := strconv.Atoi(m[2])
			if n < 1 || n > len(h.buttons["staff"]) {
				t.Fatalf("%q: no button %d", line, n)
			}
			in = h.inbound(m[1], "staff", "")
			in.Data, in.PressedID, in.Staff, in.Room = h.buttons["staff"][n-1].Data, h.pressed["staff"], true, true
		case staffLine.MatchString(line):
			m := staffLine.FindStringSubmatch(line)
			in = h.inbound(m[1], "staff", m[2])
			in.Staff, in.Room = true, true
		default:
			t.Fatalf("transcript line not understood: %q", line)
		}
		clock = clock.Add(time.Minute)
		if _, err := h.engine.Handle(ctx, in); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		h.flush()
	}
	return h.out.String()
}

func (h *harness) inbound(user, chat, text string) bot.Inbound {
	h.seq++
	name := user
	if n, ok := h.names[user]; ok {
		name = n
	}
	return bot.Inbound{Channel: "console", ChatID: chat, UserID: user, UserName: name,
		MessageID: fmt.Sprint("m", h.seq), Text: text, Locale: h.locales[user]}
}

// flush renders what the turn queued, as a channel would show it.
func (h *harness) flush() {
	for _, m := range h.queued {
		who := strings.TrimPrefix(m.ChatID, "customer:")
		if m.ChatID == "staff" {
			who = "#staff"
		}
		edit := ""
		if m.Payload.Edit != "" {
			edit = " (edit)"
		}
		for i, line := range strings.Split(couponCode.ReplaceAllString(m.Text, "$1-########"), "\n") {
			sep := ":"
			if i > 0 {
				sep = "|"
			}
			fmt.Fprintf(&h.out, "< %s%s%s %s\n", who, edit, sep, line)
		}
		for _, a := range m.Payload.Attachments {
			fmt.Fprintf(&h.out, "< %s| 📎 %s %s\n", who, a.Kind, a.Name)
		}
		if len(m.Payload.Buttons) > 0 {
			var flat []models.Button
			var labels []string
			for _, row := range m.Payload.Buttons {
				for _, b := range row {
					flat = append(flat, b)
					labels = append(labels, fmt.Sprintf("[%d] %s", len(flat), b.Label))
				}
			}
			h.buttons[m.ChatID] = flat
			h.pressed[m.ChatID] = fmt.Sprint("p", m.ID)
			fmt.Fprintf(&h.out, "< %s| %s\n", who, strings.Join(labels, " "))
		}
	}
	h.queued = h.queued[:0]
}

// diff shows the first lines where want and got part ways.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d\n want: %s\n  got: %s", i+1, a, b)
		}
	}
	return "(equal)"
}
