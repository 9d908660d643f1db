package handlers_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/models"
)

// TestCatalogComplete fails if a text id used in code is missing in English
// or Chinese, or if one language has an id the other lacks.
func TestCatalogComplete(t *testing.T) {
	cat, err := bot.NewCatalog(handlers.Locales())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cat.Missing() {
		t.Error(m)
	}
	ids := map[string]bool{}
	for _, dir := range []string{".", "../bot"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					sel, ok := n.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					arg := -1
					switch sel.Sel.Name {
					case "T", "Say":
						arg = 0
					case "TLang":
						arg = 1
					}
					if arg >= 0 && len(n.Args) > arg {
						if lit, ok := n.Args[arg].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							s, _ := strconv.Unquote(lit.Value)
							ids[s] = true
						}
					}
				case *ast.KeyValueExpr: // UserError{Key: "…"}
					if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Key" {
						if lit, ok := n.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							s, _ := strconv.Unquote(lit.Value)
							ids[s] = true
						}
					}
				}
				return true
			})
		}
	}
	// Ids built at run time.
	for _, s := range []string{models.TicketNew, models.TicketOpen, models.TicketWaitingCustomer, models.TicketResolved, models.TicketClosed} {
		ids["status."+s] = true
	}
	for _, k := range []string{models.TicketKindHandoff, models.TicketKindComplaint, models.TicketKindReturn, models.TicketKindQuestion} {
		ids["kind."+k] = true
	}
	for _, k := range []string{"points.tier_up", "points.tier_up_coupon", "points.tier_down", "points.expired",
		"points.expiry_reminder", "points.adjusted_up", "points.adjusted_down"} {
		ids[k] = true
	}
	r := bot.NewRouter()
	handlers.Register(r, handlers.Deps{})
	for _, c := range r.Commands() {
		ids[c.Help] = true
	}
	if len(ids) < 30 {
		t.Fatalf("found only %d text ids in code; the scan is broken", len(ids))
	}
	for id := range ids {
		for _, lang := range []string{bot.LangEN, bot.LangZH} {
			if !cat.Has(lang, id) {
				t.Errorf("text %q is used in code but missing in %s", id, lang)
			}
		}
	}
}
