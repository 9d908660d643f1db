package web

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kefu-bot/kefu/models"
)

// The customer panel's built-in sections: what kefu itself knows about a
// customer beyond the basics. Other features add theirs with PanelSource.

// ordersPanel lists the customer's recent orders, including those of
// customers a chat identity proved it owns (order verification).
type ordersPanel struct{ s *Site }

func (p ordersPanel) Panel(ctx context.Context, st *models.Store, customerID uint64, lang string) (*PanelSection, error) {
	ids := []uint64{customerID}
	idents, err := st.Identities(ctx, customerID)
	if err != nil {
		return nil, err
	}
	for _, i := range idents {
		linked, err := st.VisibleCustomers(ctx, i.ID)
		if err != nil {
			return nil, err
		}
		for _, c := range linked {
			if !slices.Contains(ids, c) {
				ids = append(ids, c)
			}
		}
	}
	orders, err := st.OrdersOf(ctx, ids, 5)
	if err != nil {
		return nil, err
	}
	pg := p.s.newPage(lang, "")
	sec := &PanelSection{Title: pg.T("web.panel.orders")}
	for _, o := range orders {
		v := pg.T("web.order." + o.Status)
		if o.Total > 0 {
			v += " · " + money(o.Total, o.Currency)
		}
		if !o.PlacedAt.IsZero() {
			v += " · " + o.PlacedAt.In(p.s.o.Location).Format("01-02")
		}
		sec.Rows = append(sec.Rows, PanelRow{Label: o.Ref, Value: v})
	}
	return sec, nil
}

// money formats minor units ("12990", "CNY") as "129.90 CNY".
func money(minor int64, currency string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return strings.TrimSpace(fmt.Sprintf("%s%d.%02d %s", sign, minor/100, minor%100, currency))
}

// surveysPanel shows the customer's answered CSAT and NPS scores.
type surveysPanel struct{ s *Site }

func (p surveysPanel) Panel(ctx context.Context, st *models.Store, customerID uint64, lang string) (*PanelSection, error) {
	rs, err := st.CustomerSurveys(ctx, customerID, 5)
	if err != nil {
		return nil, err
	}
	pg := p.s.newPage(lang, "")
	sec := &PanelSection{Title: pg.T("web.panel.surveys")}
	for _, r := range rs {
		if r.Score == nil {
			continue
		}
		var v string
		switch r.Kind {
		case "nps":
			v = pg.T("web.panel.nps", "Score", *r.Score)
		case "csat":
			v = pg.T("web.panel.csat", "Score", *r.Score)
		default:
			v = strconv.Itoa(*r.Score)
		}
		if r.Comment != "" {
			v += " · “" + clip(r.Comment, 60) + "”"
		}
		label := r.Ref
		if label == "" {
			label = r.Survey
		}
		sec.Rows = append(sec.Rows, PanelRow{Label: label, Value: v})
	}
	return sec, nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
