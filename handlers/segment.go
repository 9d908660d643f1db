package handlers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/handlers/insight"
	"github.com/kefu-bot/kefu/handlers/survey"
	"github.com/kefu-bot/kefu/models"
)

// ParseSegment reads a campaign segment: comma-separated filters
// lang=en|zh, tier=NAME, channel=NAME, seen=DURATION (wrote within, e.g.
// 30d), orders=yes|no, stage=STAGE and value=VALUE (of the last segment
// refresh, handlers/insight). "" or "all" is everyone who can be surveyed.
func ParseSegment(spec string, now time.Time) (models.Segment, error) {
	var g models.Segment
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "all" {
		return g, nil
	}
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			return g, fmt.Errorf("segment %q: want key=value, e.g. lang=zh,orders=yes", part)
		}
		switch strings.TrimSpace(k) {
		case "lang":
			if v != "en" && v != "zh" {
				return g, fmt.Errorf("segment lang=%s: want en or zh", v)
			}
			g.Language = v
		case "tier":
			g.Tier = v
		case "channel":
			g.Channel = v
		case "seen":
			d, err := survey.ParseDuration(v)
			if err != nil || d <= 0 {
				return g, fmt.Errorf("segment seen=%s: want a duration such as 30d or 72h", v)
			}
			g.SeenSince = now.Add(-d)
		case "orders":
			var has bool
			switch v {
			case "yes", "true":
				has = true
			case "no", "false":
			default:
				return g, fmt.Errorf("segment orders=%s: want yes or no", v)
			}
			g.HasOrders = &has
		case "stage":
			if !slices.Contains(insight.Stages, v) {
				return g, fmt.Errorf("segment stage=%s: want one of %s", v, strings.Join(insight.Stages, ", "))
			}
			g.Stage = v
		case "value":
			if !slices.Contains(insight.Values, v) {
				return g, fmt.Errorf("segment value=%s: want one of %s", v, strings.Join(insight.Values, ", "))
			}
			g.Value = v
		default:
			return g, fmt.Errorf("segment: unknown filter %q (lang, tier, channel, seen, orders, stage, value)", k)
		}
	}
	return g, nil
}
