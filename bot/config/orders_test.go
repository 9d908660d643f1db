package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateOrders(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Orders)
		key    string // "" means valid
	}{
		{"default", func(*Orders) {}, ""},
		{"no quiet hours", func(o *Orders) { o.QuietHours = "" }, ""},
		{"quiet hours same day", func(o *Orders) { o.QuietHours = "12:00-14:00" }, ""},
		{"quiet hours bad", func(o *Orders) { o.QuietHours = "22-8" }, "orders.quiet_hours"},
		{"quiet hours 24", func(o *Orders) { o.QuietHours = "24:00-08:00" }, "orders.quiet_hours"},
		{"window off", func(o *Orders) { o.ReturnWindow = 0 }, ""},
		{"window negative", func(o *Orders) { o.ReturnWindow = -time.Hour }, "orders.return_window"},
		{"tolerance zero", func(o *Orders) { o.WebhookTolerance = 0 }, "orders.webhook_tolerance"},
		{"secret short", func(o *Orders) { o.WebhookSecret = "short" }, "orders.webhook_secret"},
		{"secret ok", func(o *Orders) { o.WebhookSecret = "0123456789abcdef" }, ""},
		{"status unknown", func(o *Orders) { o.NotifyStatuses = []string{"shipped", "teleported"} }, "orders.notify_statuses"},
		{"no statuses", func(o *Orders) { o.NotifyStatuses = nil }, ""},
	} {
		c := Default()
		tc.mutate(&c.Orders)
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

func TestOrdersFromEnv(t *testing.T) {
	env := map[string]string{"KEFU_ORDERS_NOTIFY_STATUSES": "shipped,delivered", "KEFU_ORDERS_RETURN_WINDOW": "360h",
		"KEFU_ORDERS_WEBHOOK_SECRET": "from-the-environment-0123"}
	c, err := Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	o := c.Orders
	if strings.Join(o.NotifyStatuses, ",") != "shipped,delivered" || o.ReturnWindow != 360*time.Hour ||
		o.WebhookSecret.Reveal() != "from-the-environment-0123" || strings.Contains(o.WebhookSecret.String(), "environment") {
		t.Errorf("orders = %+v", o)
	}
}
