package handlers

import (
	"slices"
	"sort"
	"time"

	"github.com/kefu-bot/kefu/models"
)

// TicketStats are the figures of one group of tickets.
type TicketStats struct {
	Category string `json:"category"`
	Priority string `json:"priority"`
	Total    int    `json:"total"`
	Open     int    `json:"open"`
	Resolved int    `json:"resolved"` // resolved or closed
	// Medians in wall-clock time, over tickets that reached the point.
	MedianFirstResponse time.Duration `json:"median_first_response_ns"`
	MedianResolution    time.Duration `json:"median_resolution_ns"`
	// SLA attainment: met / measured, for tickets whose timer has ended
	// (answered or resolved) or already breached.
	FirstResponseMet      int     `json:"first_response_met"`
	FirstResponseMeasured int     `json:"first_response_measured"`
	ResolutionMet         int     `json:"resolution_met"`
	ResolutionMeasured    int     `json:"resolution_measured"`
	SLAAttainment         float64 `json:"sla_attainment"` // all met / all measured, 0..1; -1 when nothing measured
}

// TicketReport groups tickets by category and priority, with a total row.
type TicketReport struct {
	Since time.Time     `json:"since"`
	Rows  []TicketStats `json:"rows"`
	Total TicketStats   `json:"total"`
}

// BuildTicketReport computes the report at now. SLA targets and business
// hours come from d, as for live tickets; resolution time excludes the
// pauses spent waiting on the customer.
func BuildTicketReport(d Deps, tickets []models.Ticket, since, now time.Time) TicketReport {
	h := newHandlers(d)
	type acc struct {
		TicketStats
		fr, res []time.Duration
	}
	groups := map[[2]string]*acc{}
	total := &acc{TicketStats: TicketStats{Category: "all", Priority: "all"}}
	for i := range tickets {
		t := &tickets[i]
		cat := t.Category
		if cat == "" {
			cat = "-"
		}
		key := [2]string{cat, t.Priority}
		g := groups[key]
		if g == nil {
			g = &acc{TicketStats: TicketStats{Category: cat, Priority: t.Priority}}
			groups[key] = g
		}
		for _, a := range []*acc{g, total} {
			a.Total++
			if t.IsOpen() {
				a.Open++
			} else {
				a.Resolved++
			}
			if t.FirstResponseAt != nil {
				a.fr = append(a.fr, t.FirstResponseAt.Sub(t.CreatedAt))
			}
			if t.ResolvedAt != nil {
				a.res = append(a.res, t.ResolvedAt.Sub(t.CreatedAt))
			}
			if met, measured := h.slaMet(t, timerFirstResponse, now); measured {
				a.FirstResponseMeasured++
				if met {
					a.FirstResponseMet++
				}
			}
			if met, measured := h.slaMet(t, timerResolution, now); measured {
				a.ResolutionMeasured++
				if met {
					a.ResolutionMet++
				}
			}
		}
	}
	finish := func(a *acc) TicketStats {
		a.MedianFirstResponse, a.MedianResolution = median(a.fr), median(a.res)
		a.SLAAttainment = -1
		if n := a.FirstResponseMeasured + a.ResolutionMeasured; n > 0 {
			a.SLAAttainment = float64(a.FirstResponseMet+a.ResolutionMet) / float64(n)
		}
		return a.TicketStats
	}
	r := TicketReport{Since: since}
	for _, g := range groups {
		r.Rows = append(r.Rows, finish(g))
	}
	sort.Slice(r.Rows, func(i, j int) bool {
		if r.Rows[i].Category != r.Rows[j].Category {
			return r.Rows[i].Category < r.Rows[j].Category
		}
		return r.Rows[i].Priority < r.Rows[j].Priority
	})
	r.Total = finish(total)
	return r
}

// slaMet says whether a ticket met a timer, and whether it can be judged
// yet: the timer ended (answered, resolved) or it is already over.
func (h *handlers) slaMet(t *models.Ticket, timer string, now time.Time) (met, measured bool) {
	k := h.slaClock(t, timer)
	end := now
	switch {
	case timer == timerFirstResponse && t.FirstResponseAt != nil:
		end = *t.FirstResponseAt
		// Pauses start with the first answer; they never count against it.
		k.Pauses = nil
	case timer == timerResolution && t.ResolvedAt != nil:
		end = *t.ResolvedAt
	case timer == timerResolution && t.ClosedAt != nil:
		end = *t.ClosedAt
	default:
		return false, k.Used(now) > k.Target // still running: judged only once breached
	}
	return k.Used(end) <= k.Target, true
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
