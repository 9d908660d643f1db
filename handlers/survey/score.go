package survey

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Survey kinds.
const (
	KindCSAT          = "csat"
	KindNPS           = "nps"
	KindQuestionnaire = "questionnaire"
)

// CSATScale and NPSScale are the top scores of the two built-in surveys.
const (
	CSATScale = 5
	NPSScale  = 10
)

// Satisfied reports a CSAT score that counts as satisfied (4 or 5 of 5),
// the usual "top two boxes".
func Satisfied(score int) bool { return score >= 4 }

// Promoter and Detractor classify NPS scores: 9–10 promote, 0–6 detract,
// 7–8 are passive.
func Promoter(score int) bool  { return score >= 9 }
func Detractor(score int) bool { return score <= 6 }

// NeedsRecovery reports a score low enough to open a follow-up ticket:
// CSAT ≤ 2, NPS ≤ 6.
func NeedsRecovery(kind string, score int) bool {
	switch kind {
	case KindCSAT:
		return score <= 2
	case KindNPS:
		return Detractor(score)
	}
	return false
}

// Stats are the figures of one group of survey requests. A figure is nil
// when nothing was measured.
type Stats struct {
	Group      string   `json:"group"`
	Key        string   `json:"key"`
	Sent       int      `json:"sent"`
	Answered   int      `json:"answered"`
	Response   *float64 `json:"response_rate"` // answered / sent, %
	CSATN      int      `json:"csat_responses"`
	Satisfied  int      `json:"csat_satisfied"`
	CSAT       *float64 `json:"csat"` // satisfied / CSAT responses, %
	NPSN       int      `json:"nps_responses"`
	Promoters  int      `json:"promoters"`
	Passives   int      `json:"passives"`
	Detractors int      `json:"detractors"`
	NPS        *float64 `json:"nps"` // % promoters − % detractors, −100..100
}

// Add counts one request: its kind, whether it was answered and its score
// (nil for none).
func (s *Stats) Add(kind string, answered bool, score *int) {
	s.Sent++
	if answered {
		s.Answered++
	}
	if score == nil {
		return
	}
	switch kind {
	case KindCSAT:
		s.CSATN++
		if Satisfied(*score) {
			s.Satisfied++
		}
	case KindNPS:
		s.NPSN++
		switch {
		case Promoter(*score):
			s.Promoters++
		case Detractor(*score):
			s.Detractors++
		default:
			s.Passives++
		}
	}
}

// Finish computes the percentages.
func (s *Stats) Finish() {
	s.Response, s.CSAT, s.NPS = nil, nil, nil
	if s.Sent > 0 {
		s.Response = pct(s.Answered, s.Sent)
	}
	if s.CSATN > 0 {
		s.CSAT = pct(s.Satisfied, s.CSATN)
	}
	if s.NPSN > 0 {
		v := round1(100 * float64(s.Promoters-s.Detractors) / float64(s.NPSN))
		s.NPS = &v
	}
}

func pct(a, b int) *float64 {
	v := round1(100 * float64(a) / float64(b))
	return &v
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// Week names the ISO week of t in loc, e.g. "2026-W46".
func Week(t time.Time, loc *time.Location) string {
	y, w := t.In(loc).ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// QuietHours is a daily span (in the shop's time zone) when no survey is
// sent; it may cross midnight. The zero value is never quiet.
type QuietHours struct {
	Start, End int // minutes after midnight
	On         bool
}

// ParseQuiet reads "21:00-09:00"; "" means never quiet.
func ParseQuiet(s string) (QuietHours, error) {
	if strings.TrimSpace(s) == "" {
		return QuietHours{}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	start, err1 := clock(a)
	end, err2 := clock(b)
	if !ok || err1 != nil || err2 != nil || start == end {
		return QuietHours{}, fmt.Errorf("quiet hours %q: want HH:MM-HH:MM, e.g. 21:00-09:00", s)
	}
	return QuietHours{Start: start, End: end, On: true}, nil
}

func clock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return hh*60 + mm, nil
}

// Quiet reports whether t falls in the quiet hours.
func (q QuietHours) Quiet(t time.Time, loc *time.Location) bool {
	if !q.On {
		return false
	}
	t = t.In(loc)
	m := t.Hour()*60 + t.Minute()
	if q.Start < q.End {
		return m >= q.Start && m < q.End
	}
	return m >= q.Start || m < q.End
}

// Until reports whether t falls in the quiet hours and, if so, when they end.
func (q QuietHours) Until(t time.Time, loc *time.Location) (time.Time, bool) {
	if !q.Quiet(t, loc) {
		return time.Time{}, false
	}
	return q.After(t, loc), true
}

// After returns t if it is not quiet, else the end of the quiet hours.
func (q QuietHours) After(t time.Time, loc *time.Location) time.Time {
	if !q.Quiet(t, loc) {
		return t
	}
	l := t.In(loc)
	end := time.Date(l.Year(), l.Month(), l.Day(), q.End/60, q.End%60, 0, 0, loc)
	if !end.After(l) {
		end = end.AddDate(0, 0, 1)
	}
	return end
}
