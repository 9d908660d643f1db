package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
)

// TestInsightCLI: kefu segments refresh, kefu campaign list / run
// --dry-run / run, kefu report customers on the demo shop with the
// shipped campaigns.
func TestInsightCLI(t *testing.T) {
	e := seededEnv(t)
	e["KEFU_INSIGHT_CAMPAIGN_DIR"] = "../../campaigns"
	e["KEFU_INSIGHT_QUIET_HOURS"] = ""
	ctx := context.Background()
	db, err := models.Open(ctx, dbOptions(e))
	if err != nil {
		t.Fatal(err)
	}
	// Alice and 王芳 chat too (李伟's chat comes with the demo); 王芳 opts
	// out of marketing.
	err = db.Write(ctx, func(s *models.Store) error {
		for _, ref := range []string{"C1002", "C1003"} {
			c, err := s.CustomerByRef(ctx, ref)
			if err != nil {
				return err
			}
			user := map[string]string{"C1002": "alice", "C1003": "wangfang"}[ref]
			if _, err := s.Conversation(ctx, "console", "customer:"+user, models.KindCustomer, &c.ID); err != nil {
				return err
			}
			if ref == "C1003" {
				if err := s.SetOptOut(ctx, c.ID, models.TopicMarketing, true); err != nil {
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

	out, err := runKefu(t, e, "segments", "refresh")
	if err != nil || !strings.Contains(out, "segments refreshed: 3 customer(s), 3 with orders") {
		t.Fatalf("segments refresh: %v\n%s", err, out)
	}
	out, err = runKefu(t, e, "campaign", "list")
	if err != nil || !strings.Contains(out, "win-back") || !strings.Contains(out, "monthly 15 11:00") || !strings.Contains(out, "order.delivered + 3d") {
		t.Fatalf("campaign list: %v\n%s", err, out)
	}

	// The dry run: who would receive what, in their language, and who not.
	out, err = runKefu(t, e, "campaign", "run", "double-eleven", "--dry-run")
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	for _, want := range []string{
		"campaign double-eleven, occurrence " + time.Now().Format("2006") + ": 2 recipient(s), 1 left out (dry run: nothing sent)",
		" C1001 zh console\n  | 李伟，双十一零点开抢！您是资深会员，还有 6400 积分可以使用。\n  | \n  | （发送 /nomarketing 可不再接收问候和优惠信息。）\n",
		" C1002 en console\n  | Alice Chen, Singles' Day (11.11) starts at midnight! Tier: Intermediate · points to spend: 2100.\n",
		"left out:\n  opted out: 1\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	var plan struct {
		Recipients []struct{ Ref, Lang, Message string }
	}
	out, err = runKefu(t, e, "campaign", "run", "double-eleven", "--dry-run", "--json")
	if err != nil || json.Unmarshal([]byte(out), &plan) != nil || len(plan.Recipients) != 2 {
		t.Fatalf("dry run --json: %v\n%s", err, out)
	}
	if jobs := countJobs(t, e, "campaign.send"); jobs != 0 {
		t.Fatalf("the dry run scheduled %d sends", jobs)
	}

	// Running it twice schedules each send once.
	for i := 0; i < 2; i++ {
		out, err = runKefu(t, e, "campaign", "run", "double-eleven")
		if err != nil || !strings.Contains(out, "2 customer(s)") {
			t.Fatalf("run %d: %v\n%s", i, err, out)
		}
	}
	if jobs := countJobs(t, e, "campaign.send"); jobs != 2 {
		t.Errorf("campaign.send jobs = %d; want 2", jobs)
	}
	if out, err = runKefu(t, e, "campaign", "run", "delivery-tips"); err == nil || !strings.Contains(out+err.Error(), "follows order.delivered") {
		t.Errorf("run of a triggered campaign: %v\n%s", err, out)
	}
	if _, err = runKefu(t, e, "campaign", "run", "nope"); exitCode(err) != 2 {
		t.Errorf("run nope: exit %d (%v); want 2", exitCode(err), err)
	}

	chart := filepath.Join(t.TempDir(), "stages.svg")
	out, err = runKefu(t, e, "report", "customers", "--chart", chart)
	if svg, rerr := os.ReadFile(chart); rerr != nil || !strings.Contains(string(svg), ">churned<") {
		t.Errorf("--chart: %v\n%s", rerr, svg)
	}
	if err != nil || !strings.Contains(out, "Customers: 3 (3 with paid orders)") || !strings.Contains(out, "LIFECYCLE STAGE") ||
		!strings.Contains(out, "Repeat purchase rate: 33%") {
		t.Fatalf("report customers: %v\n%s", err, out)
	}
	var r struct {
		Customers int
		Rates     struct {
			Repeat float64 `json:"repeat_purchase_rate"`
		}
		Stages []struct{ Stage string }
	}
	out, err = runKefu(t, e, "report", "customers", "--json")
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || r.Customers != 3 || len(r.Stages) != 5 {
		t.Fatalf("report customers --json: %v\n%s", err, out)
	}
	out, err = runKefu(t, e, "report", "customers", "--csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 13 || rows[0][3] != "before" || rows[2][0] != "customers" || rows[2][2] != "3" {
		t.Fatalf("report customers --csv: %v\n%s", err, out)
	}
	if _, err = runKefu(t, e, "report", "customers", "--csv", "--json"); exitCode(err) != 2 {
		t.Errorf("--csv --json: exit %d; want 2", exitCode(err))
	}
}

func countJobs(t *testing.T, e map[string]string, kind string) int {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, dbOptions(e))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	jobs, err := db.Read().DueJobs(ctx, time.Now().Add(24*time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if j.Kind == kind {
			n++
		}
	}
	return n
}

// TestCampaignDirErrors: a campaign file with mistakes is a configuration
// error (exit 2) naming the file and every problem.
func TestCampaignDirErrors(t *testing.T) {
	e := testEnv(t)
	dir := t.TempDir()
	bad := "name: Oops\nschedule: {weekly: mon}\nmessage: {en: hi}\n"
	if err := os.WriteFile(filepath.Join(dir, "oops.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	e["KEFU_INSIGHT_CAMPAIGN_DIR"] = dir
	out, err := runKefu(t, e, "campaign", "list")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "oops.yaml") || !strings.Contains(err.Error(), "insight.campaign_dir") {
		t.Errorf("bad campaign: exit %d, %v\n%s", exitCode(err), err, out)
	}
	e["KEFU_INSIGHT_CAMPAIGN_DIR"] = filepath.Join(dir, "none")
	if out, err := runKefu(t, e, "campaign", "list"); err != nil || !strings.Contains(out, "(no campaigns in") {
		t.Errorf("missing dir: %v\n%s", err, out)
	}
}
