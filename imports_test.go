package kefu_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedImports lists, per kefu package, the kefu packages it may import.
// Adapters (any other bot/… package) may import bot, bot/config, bot/nlu,
// bot/clientip and models; cmd/kefu may import anything.
var allowedImports = map[string][]string{
	"models":            {},
	"bot/nlu":           {},
	"bot/config":        {},
	"bot":               {"models", "bot/nlu"},
	"handlers":          {"bot", "bot/nlu", "models", "handlers/priority", "handlers/sla", "handlers/loyalty", "handlers/survey", "handlers/insight", "handlers/campaign"},
	"handlers/priority": {},
	"handlers/sla":      {},
	"handlers/loyalty":  {},
	"bot/admin":         {"bot", "bot/config", "bot/clientip", "models", "handlers/orderfile"},
	// Orders: the file parser stands alone; the admin API reads bodies with it.
	"handlers/orderfile": {"models"},
	"handlers/survey":    {},
	// Customer insight: segment maths and campaign files stand alone.
	"handlers/insight":  {},
	"handlers/campaign": {},
	// Storage tests: a fresh database per test on SQLite and PostgreSQL.
	"models/modelstest": {},
	// Client addresses behind trusted proxies: stands alone, adapters use it.
	"bot/clientip": {},
}

// TestImportBoundaries keeps the architecture of ARCHITECTURE.md: one-way
// dependencies, platform libraries inside their adapter, gorm inside models.
func TestImportBoundaries(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/kefu-bot/kefu/"
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		seen++
		pkg := strings.TrimPrefix(p.ImportPath, mod)
		allowed, listed := allowedImports[pkg]
		if !listed && strings.HasPrefix(pkg, "bot/") {
			allowed, listed = []string{"bot", "bot/config", "bot/nlu", "bot/clientip", "models"}, true
		}
		for _, imp := range p.Imports {
			if in, ok := strings.CutPrefix(imp, mod); ok && listed && !slices.Contains(allowed, in) {
				t.Errorf("%s imports %s; allowed: %v", pkg, in, allowed)
			}
			switch {
			case strings.HasSuffix(imp, "/telegram-bot-api/v5") && pkg != "bot/telegram":
				t.Errorf("%s imports telegram-bot-api; only bot/telegram may", pkg)
			case strings.HasSuffix(imp, "/discordgo") && pkg != "bot/discord":
				t.Errorf("%s imports discordgo; only bot/discord may", pkg)
			case strings.HasPrefix(imp, "gorm.io/") && pkg != "models":
				t.Errorf("%s imports %s; queries live in models", pkg, imp)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("go list returned %d packages; want the whole module", seen)
	}
}
