package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/config"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/handlers/campaign"
	"github.com/kefu-bot/kefu/handlers/insight"
	"github.com/kefu-bot/kefu/models"
)

const segmentsUsage = `usage:
  kefu segments refresh [--json] [--config FILE]   compute every customer's RFM scores, value segment and lifecycle stage now`

const campaignUsage = `usage:
  kefu campaign list [--json] [--config FILE]      campaigns, their schedule and outcomes (sent, replied, redeemed, ordered)
  kefu campaign run NAME [--dry-run] [--json] [--config FILE]
                                                   send the campaign's current occurrence; --dry-run lists who would
                                                   receive what and who is left out, and sends nothing`

// insightOptions turns the insight section into the handlers' options,
// reading the campaign folder. A folder that does not exist means no
// campaigns; a file with mistakes is a configuration error naming it.
func insightOptions(c config.Insight, shop string, points *handlers.Points) (handlers.InsightOptions, error) {
	bad := func(key string, err error) error {
		return &config.Error{Problems: []config.Problem{{Key: key, Message: err.Error()}}}
	}
	quiet, err := handlers.ParseQuietHours(c.QuietHours)
	if err != nil {
		return handlers.InsightOptions{}, bad("insight.quiet_hours", err)
	}
	day := 24 * time.Hour
	opt := handlers.InsightOptions{Shop: shop, Points: points, CampaignRate: c.CampaignRate, Quiet: quiet,
		Lifecycle: insight.Thresholds{New: time.Duration(c.NewDays) * day, AtRisk: time.Duration(c.AtRiskDays) * day,
			Churned: time.Duration(c.ChurnedDays) * day},
		FrequencyCap: c.FrequencyCap, OutcomeWindow: time.Duration(c.OutcomeDays) * day}
	if c.FrequencyCap == 0 {
		opt.FrequencyCap = -1 // 0 in the config is no cap; in the options it is the default
	}
	if err := opt.Lifecycle.Validate(); err != nil {
		return opt, bad("insight", err)
	}
	if c.CampaignDir == "" {
		return opt, nil
	}
	defs, err := campaign.LoadDir(c.CampaignDir)
	if err != nil {
		return opt, bad("insight.campaign_dir", fmt.Errorf("in %s:\n%w", c.CampaignDir, err))
	}
	opt.Campaigns = defs
	return opt, nil
}

// cmdSegments is `kefu segments refresh`.
func cmdSegments(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "refresh" {
		return &usageError{segmentsUsage}
	}
	fs := flag.NewFlagSet("kefu segments refresh", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	cfg, err := loadConfig(fs, args[1:], getenv)
	if err != nil {
		return err
	}
	deps, db, err := openCommand(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	var r handlers.RefreshResult
	err = db.Write(ctx, func(s *models.Store) error {
		r, err = deps.Insight.Refresh(ctx, s, s.Now())
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(stdout, "segments refreshed: %d customer(s), %d with orders\n", r.Customers, r.Rates.Buyers)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tCUSTOMERS")
	for _, st := range insight.Stages {
		fmt.Fprintf(tw, "%s\t%d\n", st, r.Stages[st])
	}
	fmt.Fprintln(tw, "\nVALUE\tCUSTOMERS")
	for _, v := range insight.Values {
		fmt.Fprintf(tw, "%s\t%d\n", v, r.Values[v])
	}
	return tw.Flush()
}

// cmdCampaign is `kefu campaign list|run`.
func cmdCampaign(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{campaignUsage}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("kefu campaign "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	var name string
	var dry *bool
	switch sub {
	case "list":
	case "run":
		if len(args) < 1 || strings.HasPrefix(args[0], "-") {
			return &usageError{campaignUsage}
		}
		name, args = args[0], args[1:]
		dry = fs.Bool("dry-run", false, "list who would receive what; send nothing")
	default:
		return &usageError{campaignUsage}
	}
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	deps, db, err := openCommand(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	in := deps.Insight
	if sub == "list" {
		return campaignList(ctx, db, in, cfg, *asJSON, stdout)
	}
	known := false
	for _, d := range in.Campaigns() {
		known = known || d.Name == name
	}
	if !known {
		var names []string
		for _, d := range in.Campaigns() {
			names = append(names, d.Name)
		}
		return &usageError{fmt.Sprintf("no campaign %q in %s (have: %s)", name, cfg.Insight.CampaignDir, strings.Join(names, ", "))}
	}
	if *dry {
		cat, err := bot.NewCatalog(handlers.Locales())
		if err != nil {
			return err
		}
		s := db.Read()
		p, err := in.Plan(ctx, s, cat, name, s.Now())
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(p)
		}
		writePlan(stdout, p)
		return nil
	}
	var r handlers.CampaignRun
	err = db.Write(ctx, func(s *models.Store) error {
		r, err = in.Run(ctx, s, name, s.Now())
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	if r.Customers == 0 {
		fmt.Fprintf(stdout, "campaign %s (%s): nobody to send to\n", r.Campaign, r.Occurrence)
		return nil
	}
	fmt.Fprintf(stdout, "campaign %s (%s): %d customer(s), %s to %s; a running kefu sends them (opted out, capped or quiet-hour sends are skipped or wait; a second run of the same occurrence sends nobody twice)\n",
		r.Campaign, r.Occurrence, r.Customers, r.First.Format(time.RFC3339), r.Last.Format(time.RFC3339))
	return nil
}

// writePlan prints a dry run: one block per recipient, then who is left
// out, counted by reason.
func writePlan(w io.Writer, p handlers.Plan) {
	fmt.Fprintf(w, "campaign %s, occurrence %s: %d recipient(s), %d left out (dry run: nothing sent)\n",
		p.Campaign, p.Occurrence, len(p.Recipients), len(p.Skipped))
	for _, r := range p.Recipients {
		ref := r.Ref
		if ref == "" {
			ref = "-"
		}
		fmt.Fprintf(w, "\n#%d %s %s %s\n", r.Customer, ref, r.Lang, r.Channel)
		for _, line := range strings.Split(r.Message, "\n") {
			fmt.Fprintf(w, "  | %s\n", line)
		}
	}
	if len(p.Skipped) == 0 {
		return
	}
	reasons := map[string]int{}
	for _, s := range p.Skipped {
		reasons[s.Reason]++
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(w, "\nleft out:")
	for _, k := range keys {
		fmt.Fprintf(w, "  %s: %d\n", k, reasons[k])
	}
}

func campaignList(ctx context.Context, db *models.DB, in *handlers.Insight, cfg config.Config, asJSON bool, stdout io.Writer) error {
	// Outcomes are tracked nightly; bring them up to date first.
	err := db.Write(ctx, func(s *models.Store) error {
		_, err := s.TrackCampaignOutcomes(ctx, in.OutcomeWindow(), s.Now())
		return err
	})
	if err != nil {
		return err
	}
	outs, err := in.Outcomes(ctx, db.Read())
	if err != nil {
		return err
	}
	by := map[string]handlers.CampaignOutcome{}
	for _, o := range outs {
		by[o.Campaign] = o
	}
	type row struct {
		Name     string `json:"name"`
		Schedule string `json:"schedule"`
		Next     string `json:"next,omitempty"`
		Reward   string `json:"reward,omitempty"`
		handlers.CampaignOutcome
	}
	now := time.Now()
	var rows []row
	for _, d := range in.Campaigns() {
		r := row{Name: d.Name, Schedule: d.Describe(), Reward: d.Reward, CampaignOutcome: by[d.Name]}
		r.Campaign = d.Name
		if at, _, ok := d.Next(now, in.Location()); ok {
			r.Next = at.Format("2006-01-02 15:04")
		}
		rows = append(rows, r)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []row{}
		}
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(stdout, "(no campaigns in %q)\n", cfg.Insight.CampaignDir)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCHEDULE\tNEXT\tREWARD\tSENT\tREPLIED\tREDEEMED\tORDERED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", r.Name, r.Schedule, orDash(r.Next), orDash(r.Reward),
			r.Sent, r.Replied, r.Redeemed, r.Ordered)
	}
	return tw.Flush()
}

// cmdReportCustomers is `kefu report customers [--json|--csv] [--chart FILE]`.
func cmdReportCustomers(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kefu report customers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object")
	asCSV := fs.Bool("csv", false, "print CSV")
	chart := fs.String("chart", "", "also write the lifecycle stages, now and 30 days before, as an SVG `file`")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	if *asJSON && *asCSV {
		return &usageError{"--json and --csv exclude each other"}
	}
	deps, db, err := openCommand(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	s := db.Read()
	r, err := deps.Insight.Report(ctx, s, s.Now())
	if err != nil {
		return err
	}
	if *chart != "" {
		f, err := os.Create(*chart)
		if err != nil {
			return err
		}
		err = insight.WriteBars(f, "Lifecycle stages", []string{"now", orDash(r.BeforeDay)}, handlers.StageBars(r.Stages))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write chart: %w", err)
		}
	}
	before := func(n int) string {
		if n < 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	switch {
	case *asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case *asCSV:
		// One long table: section, name, now, and for stages the count in
		// the snapshot of the day the "snapshot" row names ("" none).
		w := csv.NewWriter(stdout)
		w.Write([]string{"section", "name", "now", "before"})
		w.Write([]string{"snapshot", "day", r.BeforeDay, ""})
		w.Write([]string{"customers", "all", strconv.Itoa(r.Customers), ""})
		w.Write([]string{"customers", "with_orders", strconv.Itoa(r.Rates.Buyers), ""})
		for _, v := range r.Values {
			w.Write([]string{"value", v.Segment, strconv.Itoa(v.Count), ""})
		}
		for _, f := range r.Stages {
			w.Write([]string{"stage", f.Stage, strconv.Itoa(f.Now), before(f.Before)})
		}
		w.Write([]string{"rate", "churn", ratio(r.Rates.Churn), ""})
		w.Write([]string{"rate", "repeat_purchase", ratio(r.Rates.Repeat), ""})
		for _, c := range r.Campaigns {
			for _, kv := range []struct {
				k string
				n int
			}{{"sent", c.Sent}, {"replied", c.Replied}, {"redeemed", c.Redeemed}, {"ordered", c.Ordered}} {
				w.Write([]string{"campaign", c.Campaign + "." + kv.k, strconv.Itoa(kv.n), ""})
			}
		}
		w.Flush()
		return w.Error()
	}
	fmt.Fprintf(stdout, "Customers: %d (%d with paid orders)\nChurn rate: %s   Repeat purchase rate: %s\n\n",
		r.Customers, r.Rates.Buyers, percent(r.Rates.Churn), percent(r.Rates.Repeat))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VALUE SEGMENT\tCUSTOMERS")
	for _, v := range r.Values {
		fmt.Fprintf(tw, "%s\t%d\n", v.Segment, v.Count)
	}
	head := "30 DAYS AGO"
	if r.BeforeDay != "" {
		head = r.BeforeDay
	}
	fmt.Fprintf(tw, "\nLIFECYCLE STAGE\tNOW\t%s\n", head)
	for _, f := range r.Stages {
		b := before(f.Before)
		if b == "" {
			b = "—"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", f.Stage, f.Now, b)
	}
	if len(r.Campaigns) > 0 {
		fmt.Fprintln(tw, "\nCAMPAIGN\tSENT\tREPLIED\tREDEEMED\tORDERED")
		for _, c := range r.Campaigns {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", c.Campaign, c.Sent, c.Replied, c.Redeemed, c.Ordered)
		}
	}
	return tw.Flush()
}
