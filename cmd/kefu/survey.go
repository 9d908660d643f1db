package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kefu-bot/kefu/bot/config"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/handlers/survey"
	"github.com/kefu-bot/kefu/models"
)

const surveyUsage = `usage:
  kefu survey list [--config FILE]                  questionnaires and what triggers them
  kefu survey feedback [--limit 20] [--json]        feedback customers gave unprompted, newest first
  kefu survey send NAME [--segment SPEC] [--id ID] [--at TIME] [--dry-run] [--config FILE]
                                                    send a questionnaire (or "nps") to a segment:
                                                    SPEC is lang=en|zh,tier=NAME,channel=NAME,seen=30d,orders=yes|no,
                                                    stage=new|active|at_risk|churned|potential,value=high|ordinary|potential`

// surveyOptions turns the surveys section into the handlers' options,
// reading the questionnaire folder. A folder that does not exist means no
// questionnaires; a file with mistakes is a configuration error naming
// the file and line.
func surveyOptions(c config.Surveys) (handlers.SurveyOptions, error) {
	bad := func(key string, err error) error {
		return &config.Error{Problems: []config.Problem{{Key: key, Message: err.Error()}}}
	}
	q, err := survey.ParseQuiet(c.QuietHours)
	if err != nil {
		return handlers.SurveyOptions{}, bad("surveys.quiet_hours", err)
	}
	opt := handlers.SurveyOptions{CSAT: c.CSAT, CSATDelay: c.CSATDelay, NPS: c.NPS,
		NPSDelay: time.Duration(c.NPSDelayDays) * 24 * time.Hour, Window: c.Window, Expiry: c.Expiry,
		CampaignRate: c.CampaignRate, Quiet: q}
	if c.Dir == "" {
		return opt, nil
	}
	if _, err := os.Stat(c.Dir); errors.Is(err, fs.ErrNotExist) {
		return opt, nil
	}
	defs, err := survey.LoadDir(os.DirFS(c.Dir), ".")
	if err != nil {
		return opt, bad("surveys.dir", fmt.Errorf("in %s:\n%w", c.Dir, err))
	}
	opt.Questionnaires = defs
	return opt, nil
}

// cmdSurvey is `kefu survey list|send`.
func cmdSurvey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{surveyUsage}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("kefu survey "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var name string
	var segment, id, at *string
	var dry, asJSON *bool
	var limit *int
	switch sub {
	case "feedback":
		limit = fs.Int("limit", 20, "show at most `n` notes")
		asJSON = fs.Bool("json", false, "print JSON")
	case "list":
	case "send":
		if len(args) < 1 || strings.HasPrefix(args[0], "-") {
			return &usageError{surveyUsage}
		}
		name, args = args[0], args[1:]
		segment = fs.String("segment", "", "who: comma-separated lang=, tier=, channel=, seen=, orders= (empty: everyone)")
		id = fs.String("id", "", "campaign `id` (default NAME-TIME); sending the same id again sends nobody twice")
		at = fs.String("at", "", "start `time` (RFC 3339; default now)")
		dry = fs.Bool("dry-run", false, "only count who would get it")
	default:
		return &usageError{surveyUsage}
	}
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	deps, err := handlerDeps(cfg)
	if err != nil {
		return err
	}
	if sub == "feedback" {
		return surveyFeedback(ctx, cfg, *limit, *asJSON, stdout)
	}
	if sub == "list" {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tQUESTIONS\tTRIGGER\tDELAY\tTITLE")
		for _, n := range deps.Surveys.Names() {
			d, _ := deps.Surveys.Questionnaire(n)
			trigger := d.Trigger
			if trigger == "" {
				trigger = "campaign"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", n, len(d.Questions), trigger, time.Duration(d.Delay), d.Title.In("en"))
		}
		if len(deps.Surveys.Names()) == 0 {
			fmt.Fprintf(tw, "(no questionnaires in %q)\n", cfg.Surveys.Dir)
		}
		return tw.Flush()
	}
	now := time.Now()
	start := now
	if *at != "" {
		if start, err = time.Parse(time.RFC3339, *at); err != nil {
			return &usageError{fmt.Sprintf("--at %q: want RFC 3339, e.g. 2026-11-20T10:00:00+08:00", *at)}
		}
	}
	g, err := handlers.ParseSegment(*segment, now)
	if err != nil {
		return &usageError{err.Error()}
	}
	if name != survey.KindNPS {
		if _, ok := deps.Surveys.Questionnaire(name); !ok {
			return &usageError{fmt.Sprintf("no questionnaire %q in %s (have: %s)", name, cfg.Surveys.Dir, strings.Join(deps.Surveys.Names(), ", "))}
		}
	}
	if *id == "" {
		*id = name + "-" + now.UTC().Format("20060102T150405")
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if *dry {
		ids, err := db.Read().SegmentCustomers(ctx, g)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d customer(s) in the segment; nothing scheduled (--dry-run)\n", len(ids))
		return nil
	}
	var c handlers.Campaign
	err = db.Write(ctx, func(s *models.Store) error {
		c, err = deps.Surveys.StartCampaign(ctx, s, name, *id, g, start)
		return err
	})
	if err != nil {
		return err
	}
	if c.Customers == 0 {
		fmt.Fprintf(stdout, "campaign %s: nobody in the segment\n", c.ID)
		return nil
	}
	fmt.Fprintf(stdout, "campaign %s: %s to %d customer(s), %s to %s; a running kefu sends them (customers surveyed within the window, opted out or in quiet hours are skipped or wait)\n",
		c.ID, c.Survey, c.Customers, c.First.Format(time.RFC3339), c.Last.Format(time.RFC3339))
	return nil
}

// cmdReportSurveys is `kefu report surveys [--since 2016h] [--json|--csv] [--chart FILE]`.
func cmdReportSurveys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kefu report surveys", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object")
	asCSV := fs.Bool("csv", false, "print CSV")
	chart := fs.String("chart", "", "also write the weekly CSAT and NPS trend as an SVG `file`")
	since := fs.Duration("since", 12*7*24*time.Hour, "report on surveys sent in this last `duration`")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	if *asJSON && *asCSV {
		return &usageError{"--json and --csv exclude each other"}
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	loc := cfg.Location()
	from := time.Now().Add(-*since)
	reqs, err := db.Read().SurveyRequestsSince(ctx, from)
	if err != nil {
		return err
	}
	r := handlers.BuildSurveyReport(reqs, from, loc)
	if *chart != "" {
		f, err := os.Create(*chart)
		if err != nil {
			return err
		}
		if err := survey.WriteChart(f, "kefu surveys: weekly CSAT % and NPS", r.Trend()); err != nil {
			f.Close()
			return fmt.Errorf("write chart: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write chart: %w", err)
		}
	}
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', 1, 64)
	}
	switch {
	case *asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case *asCSV:
		w := csv.NewWriter(stdout)
		w.Write([]string{"group", "key", "sent", "answered", "response_rate", "csat_responses", "csat_satisfied", "csat",
			"nps_responses", "promoters", "passives", "detractors", "nps"})
		for _, s := range r.Groups() {
			w.Write([]string{s.Group, s.Key, strconv.Itoa(s.Sent), strconv.Itoa(s.Answered), num(s.Response),
				strconv.Itoa(s.CSATN), strconv.Itoa(s.Satisfied), num(s.CSAT), strconv.Itoa(s.NPSN),
				strconv.Itoa(s.Promoters), strconv.Itoa(s.Passives), strconv.Itoa(s.Detractors), num(s.NPS)})
		}
		w.Flush()
		return w.Error()
	}
	dash := func(p *float64, unit string) string {
		if p == nil {
			return "—"
		}
		return num(p) + unit
	}
	fmt.Fprintf(stdout, "Surveys sent since %s\n\n", from.In(loc).Format("2006-01-02 15:04"))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BY\tKEY\tSENT\tANSWERED\tRESPONSE\tCSAT\t(n)\tNPS\t(n)")
	for _, s := range r.Groups() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%d\t%s\t%d\n", s.Group, s.Key, s.Sent, s.Answered, dash(s.Response, "%"),
			dash(s.CSAT, "%"), s.CSATN, dash(s.NPS, ""), s.NPSN)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if *chart != "" {
		fmt.Fprintf(stdout, "\nWeekly trend written to %s\n", *chart)
	}
	return nil
}

func surveyFeedback(ctx context.Context, cfg config.Config, limit int, asJSON bool, stdout io.Writer) error {
	if limit < 1 {
		return &usageError{"--limit must be at least 1"}
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	notes, err := db.Read().FeedbackNotes(ctx, limit)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(notes)
	}
	if len(notes) == 0 {
		fmt.Fprintln(stdout, "No feedback yet.")
		return nil
	}
	loc := cfg.Location()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tCUSTOMER\tCHANNEL\tTEXT")
	for _, n := range notes {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", n.CreatedAt.In(loc).Format("2006-01-02 15:04"), n.CustomerID, n.Channel,
			strings.Join(strings.Fields(n.Text), " "))
	}
	return tw.Flush()
}
