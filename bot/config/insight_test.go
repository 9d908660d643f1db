package config

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestValidateInsight(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Insight)
		key    string // "" means valid
	}{
		{"default", func(*Insight) {}, ""},
		{"no cap", func(i *Insight) { i.FrequencyCap = 0 }, ""},
		{"no quiet hours", func(i *Insight) { i.QuietHours = "" }, ""},
		{"no campaigns", func(i *Insight) { i.CampaignDir = "" }, ""},
		{"churned before at risk", func(i *Insight) { i.AtRiskDays, i.ChurnedDays = 90, 60 }, "insight.churned_days"},
		{"churned equals at risk", func(i *Insight) { i.ChurnedDays = i.AtRiskDays }, "insight.churned_days"},
		{"new zero", func(i *Insight) { i.NewDays = 0 }, "insight.new_days"},
		{"cap negative", func(i *Insight) { i.FrequencyCap = -time.Hour }, "insight.frequency_cap"},
		{"rate zero", func(i *Insight) { i.CampaignRate = 0 }, "insight.campaign_rate"},
		{"outcome zero", func(i *Insight) { i.OutcomeDays = 0 }, "insight.outcome_days"},
		{"quiet bad", func(i *Insight) { i.QuietHours = "9pm-9am" }, "insight.quiet_hours"},
	} {
		c := Default()
		tc.mutate(&c.Insight)
		err := c.Validate()
		var ce *Error
		var keys []string
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				keys = append(keys, p.Key)
			}
		}
		switch {
		case tc.key == "" && err != nil:
			t.Errorf("%s: Validate() = %v; want nil", tc.name, err)
		case tc.key != "" && !slices.Contains(keys, tc.key):
			t.Errorf("%s: Validate() = %v; want a problem with %s", tc.name, err, tc.key)
		}
	}
}

func TestInsightFromEnv(t *testing.T) {
	env := map[string]string{"KEFU_INSIGHT_CHURNED_DAYS": "365", "KEFU_INSIGHT_FREQUENCY_CAP": "72h",
		"KEFU_INSIGHT_CAMPAIGN_DIR": "/etc/kefu/campaigns"}
	c, err := Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if i := c.Insight; i.ChurnedDays != 365 || i.FrequencyCap != 72*time.Hour || i.CampaignDir != "/etc/kefu/campaigns" || i.NewDays != 30 {
		t.Errorf("insight = %+v", i)
	}
}
