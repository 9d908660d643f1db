package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const examplePath = "../../config.example.yaml"

func emptyEnv(string) string { return "" }

// envMap returns a getenv backed by m.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultValidates(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultReturnsFreshSlices(t *testing.T) {
	a := Default()
	a.Console.StaffIDs[0] = "changed"
	if b := Default(); b.Console.StaffIDs[0] != "staff" {
		t.Fatal("Default shares slices between calls")
	}
}

func TestExampleEqualsDefault(t *testing.T) {
	cfg, err := Load(examplePath, emptyEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(cfg, want) {
		t.Fatalf("example config differs from Default():\n got %#v\nwant %#v", cfg, want)
	}
}

// exampleLeaves parses the example into a yaml.Node tree and returns every
// leaf's dotted path with the key node (which carries the head comment).
func exampleLeaves(t *testing.T) (map[string]*yaml.Node, []string) {
	t.Helper()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	leaves := map[string]*yaml.Node{}
	var order []string
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + k.Value
			}
			if v.Kind == yaml.MappingNode {
				walk(v, key)
				continue
			}
			leaves[key] = k
			order = append(order, key)
		}
	}
	walk(doc.Content[0], "")
	return leaves, order
}

func TestExampleHasEveryKey(t *testing.T) {
	leaves, order := exampleLeaves(t)
	keys := Keys()
	for _, k := range keys {
		if _, ok := leaves[k]; !ok {
			t.Errorf("config.example.yaml is missing key %s", k)
		}
	}
	for _, k := range order {
		if !slices.Contains(keys, k) {
			t.Errorf("config.example.yaml has key %s that Config does not", k)
		}
	}
	if !slices.Equal(order, keys) {
		t.Errorf("config.example.yaml keys are not in struct order:\n got %v\nwant %v", order, keys)
	}
}

func TestExampleDocumentsEnvVars(t *testing.T) {
	leaves, _ := exampleLeaves(t)
	for key, node := range leaves {
		c := node.HeadComment
		if c == "" {
			t.Errorf("%s: no comment above the key", key)
			continue
		}
		if !strings.Contains(c, EnvName(key)) {
			t.Errorf("%s: comment does not name %s:\n%s", key, EnvName(key), c)
		}
	}
}

func TestKeys(t *testing.T) {
	keys := Keys()
	if len(keys) != 106 {
		t.Errorf("len(Keys()) = %d, want 106", len(keys))
	}
	if keys[0] != "shop.name" || keys[len(keys)-1] != "discord.shard_count" {
		t.Errorf("Keys() not in struct order: first %s, last %s", keys[0], keys[len(keys)-1])
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Errorf("duplicate key %s", k)
		}
		seen[k] = true
		if strings.Count(k, ".") != 1 {
			t.Errorf("key %s is not section.key", k)
		}
	}
}

func TestEnvName(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"database.dsn", "KEFU_DATABASE_DSN"},
		{"http.addr", "KEFU_HTTP_ADDR"},
		{"telegram.staff_user_ids", "KEFU_TELEGRAM_STAFF_USER_IDS"},
		{"discord.api_base", "KEFU_DISCORD_API_BASE"},
	} {
		if got := EnvName(tc.key); got != tc.want {
			t.Errorf("EnvName(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestEnabled(t *testing.T) {
	c := Default()
	if c.Telegram.Enabled() || c.Discord.Enabled() {
		t.Fatal("channels enabled by default")
	}
	c.Telegram.Token = "1:a"
	c.Discord.Token = "x"
	if !c.Telegram.Enabled() || !c.Discord.Enabled() {
		t.Fatal("channels not enabled by token")
	}
}

func TestLocation(t *testing.T) {
	for _, tc := range []struct {
		tz   string
		want string
	}{
		{"Asia/Shanghai", "Asia/Shanghai"},
		{"UTC", "UTC"},
		{"Not/AZone", "UTC"},
		{"", "UTC"},
	} {
		c := Default()
		c.Shop.Timezone = tc.tz
		loc := c.Location()
		if loc == nil || loc.String() != tc.want {
			t.Errorf("Location(%q) = %v, want %s", tc.tz, loc, tc.want)
		}
	}
	// Shanghai is UTC+8 all year.
	at := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC).In(Default().Location())
	if _, off := at.Zone(); off != 8*3600 {
		t.Errorf("Asia/Shanghai offset = %d", off)
	}
}
