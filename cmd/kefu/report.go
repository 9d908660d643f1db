package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/kefu-bot/kefu/handlers"
)

// cmdReport is `kefu report tickets [--since 720h] [--json|--csv]` (and
// `kefu report surveys`, see survey.go).
func cmdReport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "surveys" {
		return cmdReportSurveys(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "customers" {
		return cmdReportCustomers(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "tickets" {
		return &usageError{"usage: kefu report tickets|surveys|customers [--since DURATION] [--json | --csv] (surveys: [--chart FILE])"}
	}
	fs := flag.NewFlagSet("kefu report tickets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object")
	asCSV := fs.Bool("csv", false, "print CSV")
	since := fs.Duration("since", 30*24*time.Hour, "report on tickets created in this last `duration`")
	cfg, err := loadConfig(fs, args[1:], getenv)
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
	now := time.Now()
	from := now.Add(-*since)
	ts, err := db.Read().TicketsSince(ctx, from)
	if err != nil {
		return err
	}
	r := handlers.BuildTicketReport(deps, ts, from, now)
	rows := append(r.Rows, r.Total)
	switch {
	case *asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case *asCSV:
		w := csv.NewWriter(stdout)
		w.Write([]string{"category", "priority", "total", "open", "resolved", "median_first_response_s", "median_resolution_s",
			"first_response_met", "first_response_measured", "resolution_met", "resolution_measured", "sla_attainment"})
		for _, s := range rows {
			w.Write([]string{s.Category, s.Priority, strconv.Itoa(s.Total), strconv.Itoa(s.Open), strconv.Itoa(s.Resolved),
				secs(s.MedianFirstResponse), secs(s.MedianResolution), strconv.Itoa(s.FirstResponseMet), strconv.Itoa(s.FirstResponseMeasured),
				strconv.Itoa(s.ResolutionMet), strconv.Itoa(s.ResolutionMeasured), ratio(s.SLAAttainment)})
		}
		w.Flush()
		return w.Error()
	}
	fmt.Fprintf(stdout, "Tickets created since %s\n\n", from.In(deps.Location).Format("2006-01-02 15:04"))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CATEGORY\tPRIORITY\tTOTAL\tOPEN\tRESOLVED\tMEDIAN 1ST RESPONSE\tMEDIAN RESOLUTION\tSLA MET")
	for _, s := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", s.Category, s.Priority, s.Total, s.Open, s.Resolved,
			human(s.MedianFirstResponse), human(s.MedianResolution), percent(s.SLAAttainment))
	}
	return tw.Flush()
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 0, 64) }

func ratio(f float64) string {
	if f < 0 {
		return ""
	}
	return strconv.FormatFloat(f, 'f', 3, 64)
}

func percent(f float64) string {
	if f < 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

func human(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	if d < time.Hour {
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%.1fh", d.Hours())
}
