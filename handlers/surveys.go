package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers/priority"
	"github.com/kefu-bot/kefu/handlers/survey"
	"github.com/kefu-bot/kefu/models"
)

// Surveys: CSAT after a resolved ticket, NPS after a delivered order,
// questionnaires (YAML, handlers/survey) on a trigger or as a campaign.
// Every send is a survey.send job, so the manners are checked when the
// message would go out: opted out, unreachable, another survey within the
// window, quiet hours, a person handling the chat.

const (
	flowSurvey      = "survey"
	jobSurveySend   = "survey.send"
	jobSurveyExpire = "survey.expire"
	// ticketKindSurvey marks the follow-up ticket a low score opens.
	ticketKindSurvey = "survey"
	// surveyPostpone is how long a send waits while a person handles the
	// chat or the customer is in the middle of another flow, and
	// surveyMaxPostpone how often it waits before giving up.
	surveyPostpone    = time.Hour
	surveyMaxPostpone = 24
)

// SurveyOptions configure the surveys; see DefaultSurveyOptions.
type SurveyOptions struct {
	CSAT      bool          // ask CSAT after a ticket is resolved
	CSATDelay time.Duration // how long after the resolution
	NPS       bool          // ask NPS after an order is delivered
	NPSDelay  time.Duration // how long after the delivery
	// Window: at most one survey per customer within it.
	Window time.Duration
	// Expiry: an unanswered survey stops taking answers after it.
	Expiry time.Duration
	// CampaignRate is campaign sends per minute, spread evenly.
	CampaignRate int
	Quiet        survey.QuietHours // in the shop's time zone
	// Questionnaires are the YAML definitions (survey.LoadDir).
	Questionnaires []*survey.Definition
}

// DefaultSurveyOptions: CSAT 30 minutes after the resolution, NPS 7 days
// after delivery, one survey per customer per 30 days, answers taken for
// 3 days, 20 campaign sends a minute, no quiet hours, no questionnaires.
func DefaultSurveyOptions() SurveyOptions {
	return SurveyOptions{CSAT: true, CSATDelay: 30 * time.Minute, NPS: true, NPSDelay: 7 * 24 * time.Hour,
		Window: 30 * 24 * time.Hour, Expiry: 72 * time.Hour, CampaignRate: 20}
}

// Surveys schedules survey sends. Build one with NewSurveys and pass it in
// Deps.Surveys and to whatever reports delivered orders.
type Surveys struct {
	opt  SurveyOptions
	loc  *time.Location
	defs map[string]*survey.Definition
}

// NewSurveys returns the surveys with opt; times of day (quiet hours) are
// in loc.
func NewSurveys(opt SurveyOptions, loc *time.Location) *Surveys {
	if loc == nil {
		loc = time.UTC
	}
	d := DefaultSurveyOptions()
	if opt.Window < 0 {
		opt.Window = 0
	}
	if opt.Expiry <= 0 {
		opt.Expiry = d.Expiry
	}
	if opt.CampaignRate <= 0 {
		opt.CampaignRate = d.CampaignRate
	}
	sv := &Surveys{opt: opt, loc: loc, defs: map[string]*survey.Definition{}}
	for _, q := range opt.Questionnaires {
		sv.defs[q.Name] = q
	}
	return sv
}

// Names lists the questionnaires, sorted.
func (sv *Surveys) Names() []string { return sortedKeys(sv.defs) }

// Questionnaire returns the definition with that name.
func (sv *Surveys) Questionnaire(name string) (*survey.Definition, bool) {
	d, ok := sv.defs[name]
	return d, ok
}

// sendJob is a survey to send when the job runs.
type sendJob struct {
	Key      string `json:"key"` // the request's unique key
	Kind     string `json:"kind"`
	Survey   string `json:"survey"`
	Customer uint64 `json:"customer"`
	Ref      string `json:"ref,omitempty"`
	Ticket   uint64 `json:"ticket,omitempty"`
	Tries    int    `json:"tries,omitempty"`
	// Offset is a campaign send's place in the throttled sequence: sends
	// held back by quiet hours keep their spacing after them.
	Offset time.Duration `json:"offset,omitempty"`
}

type expireJob struct {
	Request uint64 `json:"request"`
}

// OrderDelivered schedules the surveys a delivered order triggers: NPS
// after NPSDelay, and questionnaires with trigger order.delivered after
// their delay. Each is keyed by the order, so calling it again for the
// same order changes nothing. Call it inside the transaction that stores
// the order's new status.
func (sv *Surveys) OrderDelivered(ctx context.Context, s *models.Store, customerID uint64, orderRef string, deliveredAt time.Time) error {
	if customerID == 0 || orderRef == "" {
		return errors.New("order delivered: customer and order ref are required")
	}
	if sv.opt.NPS {
		p := sendJob{Key: "nps:" + orderRef, Kind: survey.KindNPS, Survey: survey.KindNPS, Customer: customerID, Ref: orderRef}
		if err := scheduleJSON(ctx, s, jobSurveySend, p.Key, deliveredAt.Add(sv.opt.NPSDelay), p); err != nil {
			return fmt.Errorf("order delivered %s: %w", orderRef, err)
		}
	}
	return sv.trigger(ctx, s, "order.delivered", customerID, orderRef, 0, deliveredAt)
}

// ticketResolved schedules CSAT and the questionnaires triggered by a
// resolution. A ticket is surveyed once, however often it is resolved.
func (sv *Surveys) ticketResolved(ctx context.Context, s *models.Store, t *models.Ticket, at time.Time) error {
	if sv.opt.CSAT && t.Kind != ticketKindSurvey {
		p := sendJob{Key: "csat:" + t.Ref(), Kind: survey.KindCSAT, Survey: survey.KindCSAT, Customer: t.CustomerID, Ref: t.Ref(), Ticket: t.ID}
		if err := scheduleJSON(ctx, s, jobSurveySend, p.Key, at.Add(sv.opt.CSATDelay), p); err != nil {
			return err
		}
	}
	return sv.trigger(ctx, s, "ticket.resolved", t.CustomerID, t.Ref(), t.ID, at)
}

func (sv *Surveys) trigger(ctx context.Context, s *models.Store, event string, customerID uint64, ref string, ticket uint64, at time.Time) error {
	for _, name := range sortedKeys(sv.defs) {
		d := sv.defs[name]
		if d.Trigger != event {
			continue
		}
		p := sendJob{Key: "q:" + name + ":" + ref, Kind: survey.KindQuestionnaire, Survey: name, Customer: customerID, Ref: ref, Ticket: ticket}
		if err := scheduleJSON(ctx, s, jobSurveySend, p.Key, at.Add(time.Duration(d.Delay)), p); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// campaignID keeps job keys ("c:ID:CUSTOMER") within their column.
var campaignID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,48}$`)

// Campaign is a survey sent to a segment.
type Campaign struct {
	ID        string    `json:"id"`
	Survey    string    `json:"survey"`
	Customers int       `json:"customers"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
}

// StartCampaign schedules the survey name (a questionnaire or "nps") for
// every customer of the segment, spaced by the campaign rate from start.
// The sends are jobs: a running kefu sends them, checking each customer's
// manners when the time comes. Starting the same campaign id twice sends
// once.
func (sv *Surveys) StartCampaign(ctx context.Context, s *models.Store, name, id string, g models.Segment, start time.Time) (Campaign, error) {
	if !campaignID.MatchString(id) {
		return Campaign{}, fmt.Errorf("campaign id %q: use letters, digits, - and _ (at most 48)", id)
	}
	kind := survey.KindQuestionnaire
	if name == survey.KindNPS {
		kind = survey.KindNPS
	} else if _, ok := sv.defs[name]; !ok {
		return Campaign{}, fmt.Errorf("campaign: no questionnaire %q (have %s)", name, strings.Join(sortedKeys(sv.defs), ", "))
	}
	ids, err := s.SegmentCustomers(ctx, g)
	if err != nil {
		return Campaign{}, err
	}
	c := Campaign{ID: id, Survey: name, Customers: len(ids), First: start, Last: start}
	gap := time.Minute / time.Duration(sv.opt.CampaignRate)
	for i, cust := range ids {
		at := start.Add(time.Duration(i) * gap)
		p := sendJob{Key: fmt.Sprintf("c:%s:%d", id, cust), Kind: kind, Survey: name, Customer: cust, Ref: id, Offset: at.Sub(start)}
		if err := scheduleJSON(ctx, s, jobSurveySend, p.Key, at, p); err != nil {
			return Campaign{}, err
		}
		c.Last = at
	}
	return c, nil
}

// --- Sending ---

func (h *handlers) runSurveySend(ctx context.Context, j *bot.Job) error {
	var p sendJob
	if err := json.Unmarshal([]byte(j.Row.Payload), &p); err != nil {
		return fmt.Errorf("survey send payload: %w", err)
	}
	s, sv, now := j.Store(), h.surveys, j.Now.UTC()
	log := j.Log.With("customer", p.Customer, "survey", p.Survey, "key", p.Key)
	skip := func(reason string) error {
		log.Info("survey not sent", "reason", reason)
		j.Count("survey.skipped")
		return nil
	}
	var def *survey.Definition
	if p.Kind == survey.KindQuestionnaire {
		var ok bool
		if def, ok = sv.defs[p.Survey]; !ok {
			return skip("no such questionnaire")
		}
	}
	out, err := s.OptedOut(ctx, p.Customer, models.TopicSurveys)
	if err != nil {
		return err
	}
	if out {
		return skip("opted out")
	}
	cust, err := s.Customer(ctx, p.Customer)
	if err != nil {
		return err
	}
	conv, err := s.CustomerConversation(ctx, p.Customer)
	if errors.Is(err, models.ErrNotFound) {
		return skip("never chatted")
	}
	if err != nil {
		return err
	}
	reachable, err := s.Reachable(ctx, p.Customer, conv.Channel)
	if err != nil {
		return err
	}
	if !reachable {
		return skip("unreachable")
	}
	req := &models.SurveyRequest{Key: p.Key, CustomerID: p.Customer, ConversationID: conv.ID, Kind: p.Kind, Survey: p.Survey,
		Ref: p.Ref, Channel: conv.Channel, Lang: customerLang(cust), State: models.SurveySent, SentAt: now,
		ExpiresAt: now.Add(sv.opt.Expiry), Answers: map[string][]string{}}
	if p.Ticket != 0 {
		t, err := s.Ticket(ctx, p.Ticket)
		if err != nil {
			return err
		}
		if p.Kind == survey.KindCSAT && t.Status != models.TicketResolved && t.Status != models.TicketClosed {
			return skip("ticket reopened")
		}
		req.Agent, req.Category = t.Assignee, t.Category
	}
	last, surveyed, err := s.LastSurveySent(ctx, p.Customer)
	if err != nil {
		return err
	}
	if surveyed && now.Sub(last) < sv.opt.Window {
		return skip("another survey within the window")
	}
	// Later: quiet hours, or the customer is busy with a person or a flow.
	later := time.Time{}
	if at := sv.opt.Quiet.After(now, sv.loc); at.After(now) {
		later = at.Add(p.Offset)
	} else if conv.Mode == models.ModeHandoff || conv.Flow != "" && conv.Flow != flowFollowUp {
		if p.Tries >= surveyMaxPostpone {
			return skip("customer busy")
		}
		later = now.Add(surveyPostpone)
	}
	if !later.IsZero() {
		p.Tries++
		return scheduleJSON(ctx, s, jobSurveySend, fmt.Sprintf("%s:%d", p.Key, later.Unix()), later, p)
	}
	switch v, err := h.proactiveConsent(ctx, j, p.Customer, conv, customerLang(cust)); {
	case err != nil:
		return err
	case v == consentNo:
		return skip("no consent to proactive messages")
	case v == consentWait:
		if p.Tries >= surveyMaxPostpone {
			return skip("consent question unanswered")
		}
		p.Tries++
		return scheduleJSON(ctx, s, jobSurveySend, consentHold(p.Customer, p.Key, p.Tries), now.Add(consentRecheck), p)
	}
	created, err := s.CreateSurveyRequest(ctx, req)
	if err != nil {
		return err
	}
	if !created {
		return skip("sent before")
	}
	if def != nil {
		req.Step = def.Questions[0].ID
		if def.Questions[0].Type == survey.Text {
			slots := models.Slots{"req": strconv.FormatUint(req.ID, 10)}
			if conv.Flow == flowFollowUp {
				slots["followup"] = conv.Slots["ticket"] // given back when the survey's flow ends
			}
			conv.Flow, conv.Step, conv.Slots = flowSurvey, "q", slots
			if err := s.SaveConversation(ctx, conv); err != nil {
				return err
			}
		}
		if err := s.SaveSurveyRequest(ctx, req); err != nil {
			return err
		}
	}
	h.askSurvey(j, conv, req, def, true)
	if err := scheduleJSON(ctx, s, jobSurveyExpire, strconv.FormatUint(req.ID, 10), req.ExpiresAt, expireJob{Request: req.ID}); err != nil {
		return err
	}
	log.Info("survey sent", "request", req.ID, "kind", req.Kind)
	j.Count("survey.sent")
	return nil
}

// surveyOut is what turns and jobs share for sending a survey.
type surveyOut interface {
	SendTo(conv *models.Conversation, text string, opts ...bot.Option)
	TLang(lang, id string, kv ...any) string
}

// askSurvey sends the survey's current question (with the intro first
// for a questionnaire's first question).
func (h *handlers) askSurvey(o surveyOut, conv *models.Conversation, req *models.SurveyRequest, def *survey.Definition, first bool) {
	text, buttons := h.surveyQuestion(o, req, def)
	if first && def != nil && len(def.Intro) > 0 {
		text = def.Intro.In(req.Lang) + "\n\n" + text
	}
	o.SendTo(conv, text, bot.Buttons(buttons...))
}

// surveyQuestion renders the current question and its keyboard.
func (h *handlers) surveyQuestion(o surveyOut, req *models.SurveyRequest, def *survey.Definition) (string, [][]models.Button) {
	lang, id := req.Lang, strconv.FormatUint(req.ID, 10)
	score := -1
	if req.Score != nil {
		score = *req.Score
	}
	mark := func(label string, chosen bool) string {
		if chosen {
			return "✅ " + label
		}
		return label
	}
	switch req.Kind {
	case survey.KindCSAT:
		faces := []string{"", "😞", "🙁", "😐", "🙂", "😍"}
		row := make([]models.Button, 0, survey.CSATScale)
		for v := 1; v <= survey.CSATScale; v++ {
			row = append(row, bot.Btn(mark(fmt.Sprintf("%d %s", v, faces[v]), v == score), fmt.Sprintf("sv:a:%s:0:%d", id, v)))
		}
		return o.TLang(lang, "survey.csat_ask", "Ref", req.Ref), [][]models.Button{row}
	case survey.KindNPS:
		var rows [][]models.Button
		for _, span := range [][2]int{{0, 5}, {6, 10}} {
			var row []models.Button
			for v := span[0]; v <= span[1]; v++ {
				row = append(row, bot.Btn(mark(strconv.Itoa(v), v == score), fmt.Sprintf("sv:a:%s:0:%d", id, v)))
			}
			rows = append(rows, row)
		}
		return o.TLang(lang, "survey.nps_ask", "Shop", h.shop), rows
	}
	qi := def.Index(req.Step)
	q := def.Questions[qi]
	text := q.Text.In(lang)
	var rows [][]models.Button
	switch q.Type {
	case survey.Single:
		for i, opt := range q.Options {
			rows = append(rows, bot.Row(bot.Btn(opt.Text.In(lang), fmt.Sprintf("sv:a:%s:%d:%d", id, qi, i))))
		}
	case survey.Multi:
		chosen := req.Answers[q.ID]
		for i, opt := range q.Options {
			box := "☐ "
			if slices.Contains(chosen, opt.ID) {
				box = "☑ "
			}
			rows = append(rows, bot.Row(bot.Btn(box+opt.Text.In(lang), fmt.Sprintf("sv:a:%s:%d:%d", id, qi, i))))
		}
		rows = append(rows, bot.Row(bot.Btn(o.TLang(lang, "survey.done"), fmt.Sprintf("sv:d:%s:%d", id, qi))))
	case survey.Rating:
		var row []models.Button
		for v := 1; v <= q.Scale; v++ {
			row = append(row, bot.Btn(strconv.Itoa(v), fmt.Sprintf("sv:a:%s:%d:%d", id, qi, v)))
			if q.Scale > 5 && v == (q.Scale+1)/2 {
				rows, row = append(rows, row), nil
			}
		}
		rows = append(rows, row)
	case survey.Text:
		text += "\n" + o.TLang(lang, "survey.write_answer")
		if q.Optional {
			rows = append(rows, bot.Row(bot.Btn(o.TLang(lang, "survey.skip"), fmt.Sprintf("sv:s:%s:%d", id, qi))))
		}
	}
	return text, rows
}

// --- Answers ---

// surveyButton handles sv:a:REQ:Q:V (an answer), sv:d:REQ:Q (a multiple
// choice is done), sv:s:REQ:Q (skip), and the opt-out buttons sv:stop,
// sv:keep and sv:resume.
func (h *handlers) surveyButton(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return nil
	}
	switch c.Arg {
	case "stop":
		return h.setSurveyOptOut(ctx, c, true)
	case "resume":
		return h.setSurveyOptOut(ctx, c, false)
	case "keep":
		c.Reply(c.T("survey.optout_kept"), bot.Edit(c.In.PressedID))
		return nil
	}
	f := strings.Split(c.Arg, ":")
	if len(f) < 3 {
		return h.staleSurvey(c)
	}
	id, err1 := strconv.ParseUint(f[1], 10, 64)
	qi, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return h.staleSurvey(c)
	}
	s := c.Store()
	req, err := s.SurveyRequest(ctx, id)
	if errors.Is(err, models.ErrNotFound) || err == nil && req.CustomerID != c.Customer.ID {
		return h.staleSurvey(c) // only the customer asked may answer, whatever the data says
	}
	if err != nil {
		return err
	}
	if !req.Open(c.Now) || req.State == models.SurveyCompleted && req.Kind == survey.KindQuestionnaire {
		c.Reply(c.T("survey.closed"), bot.Edit(c.In.PressedID))
		return nil
	}
	var def *survey.Definition
	if req.Kind == survey.KindQuestionnaire {
		var ok bool
		if def, ok = h.surveys.defs[req.Survey]; !ok || qi < 0 || qi >= len(def.Questions) {
			return h.staleSurvey(c)
		}
		if def.Questions[qi].ID != req.Step {
			c.Say("survey.moved_on")
			return nil
		}
	}
	v := -1
	if len(f) > 3 {
		if v, err = strconv.Atoi(f[3]); err != nil {
			return h.staleSurvey(c)
		}
	}
	switch {
	case def == nil && f[0] == "a":
		return h.scoreAnswer(ctx, c, req, v)
	case def == nil && f[0] == "s" && req.State == models.SurveyAnswered:
		h.endSurveyFlow(c)
		return h.completeSurvey(ctx, c, req, nil)
	case def != nil && (f[0] == "a" || f[0] == "d" || f[0] == "s"):
		return h.questionAnswer(ctx, c, req, def, qi, f[0], v)
	}
	return h.staleSurvey(c)
}

func (h *handlers) staleSurvey(c *bot.Context) error {
	c.Reply(c.T("fallback.stale_button"), menu(c))
	return nil
}

// scoreAnswer records a CSAT or NPS score. The pressed message is edited
// to show the choice; pressing again changes it. The first answer asks
// for a comment.
func (h *handlers) scoreAnswer(ctx context.Context, c *bot.Context, req *models.SurveyRequest, v int) error {
	top := survey.CSATScale
	low := 1
	if req.Kind == survey.KindNPS {
		top, low = survey.NPSScale, 0
	}
	if v < low || v > top {
		return h.staleSurvey(c)
	}
	first := req.State == models.SurveySent
	now := c.Now.UTC()
	req.Score = &v
	if first {
		req.AnsweredAt, req.State = &now, models.SurveyAnswered
	}
	if err := c.Store().SaveSurveyRequest(ctx, req); err != nil {
		return err
	}
	// The survey stays one message: the score buttons (to change it) and,
	// while the comment is pending, Skip.
	text, buttons := h.surveyQuestion(c, req, nil)
	if req.State == models.SurveyAnswered {
		buttons = append(buttons, bot.Row(bot.Btn(c.T("survey.skip"), fmt.Sprintf("sv:s:%d:0", req.ID))))
	}
	c.Reply(text+"\n"+c.T("survey.your_score", "Score", v, "Top", top), bot.Edit(c.In.PressedID), bot.Buttons(buttons...))
	c.Count("survey.answered")
	switch {
	case first:
		key := "survey.csat_comment"
		switch {
		case req.Kind == survey.KindNPS:
			key = "survey.nps_why"
		case survey.NeedsRecovery(req.Kind, v):
			key = "survey.csat_low"
		}
		// While another flow or a person has the chat, the score is
		// enough: no comment is asked for (Skip stays on the message).
		if h.startSurveyFlow(c, "comment", req.ID) {
			c.Say(key, "Score", v)
		}
	case req.State == models.SurveyCompleted && survey.NeedsRecovery(req.Kind, v) && req.RecoveryTicketID == nil:
		return h.recoverTurn(ctx, c, req)
	}
	return nil
}

// questionAnswer records a questionnaire answer from a button and moves
// on: an option (single), a toggle (multi), a rating; Done ends a
// multiple choice, Skip an optional question.
func (h *handlers) questionAnswer(ctx context.Context, c *bot.Context, req *models.SurveyRequest, def *survey.Definition, qi int, action string, v int) error {
	q := def.Questions[qi]
	lang := c.Lang()
	var answer []string
	shown := ""
	switch {
	case action == "s" && q.Optional:
		shown = c.T("survey.skipped")
	case action == "a" && q.Type == survey.Single && v >= 0 && v < len(q.Options):
		answer, shown = []string{q.Options[v].ID}, q.Options[v].Text.In(lang)
	case action == "a" && q.Type == survey.Rating && v >= 1 && v <= q.Scale:
		answer, shown = []string{strconv.Itoa(v)}, fmt.Sprintf("%d/%d", v, q.Scale)
	case action == "a" && q.Type == survey.Multi && v >= 0 && v < len(q.Options):
		// A toggle: keep the options in definition order, redraw the boxes.
		chosen := req.Answers[q.ID]
		opt := q.Options[v].ID
		if slices.Contains(chosen, opt) {
			chosen = slices.DeleteFunc(chosen, func(s string) bool { return s == opt })
		} else {
			chosen = append(chosen, opt)
		}
		var ordered []string
		for _, o := range q.Options {
			if slices.Contains(chosen, o.ID) {
				ordered = append(ordered, o.ID)
			}
		}
		if req.Answers == nil {
			req.Answers = map[string][]string{}
		}
		req.Answers[q.ID] = ordered
		if err := c.Store().SaveSurveyRequest(ctx, req); err != nil {
			return err
		}
		text, buttons := h.surveyQuestion(c, req, def)
		c.Reply(text, bot.Edit(c.In.PressedID), bot.Buttons(buttons...))
		return nil
	case action == "d" && q.Type == survey.Multi:
		answer = req.Answers[q.ID]
		if len(answer) == 0 && !q.Optional {
			c.Say("survey.pick_one")
			return nil
		}
		var labels []string
		for _, o := range q.Options {
			if slices.Contains(answer, o.ID) {
				labels = append(labels, o.Text.In(lang))
			}
		}
		shown = strings.Join(labels, ", ")
		if shown == "" {
			shown = c.T("survey.skipped")
		}
	default:
		return h.staleSurvey(c)
	}
	c.Reply(q.Text.In(lang)+"\n→ "+shown, bot.Edit(c.In.PressedID))
	return h.advance(ctx, c, req, def, qi, answer)
}

// advance stores the answer to question qi and asks the next question, or
// completes the questionnaire.
func (h *handlers) advance(ctx context.Context, c *bot.Context, req *models.SurveyRequest, def *survey.Definition, qi int, answer []string) error {
	now := c.Now.UTC()
	if req.Answers == nil {
		req.Answers = map[string][]string{}
	}
	req.Answers[def.Questions[qi].ID] = answer
	if req.AnsweredAt == nil {
		req.AnsweredAt, req.State = &now, models.SurveyAnswered
		c.Count("survey.answered")
	}
	next := def.Next(qi, answer)
	h.endSurveyFlow(c)
	if next < 0 {
		req.Step = ""
		return h.completeSurvey(ctx, c, req, nil)
	}
	req.Step = def.Questions[next].ID
	if err := c.Store().SaveSurveyRequest(ctx, req); err != nil {
		return err
	}
	if def.Questions[next].Type == survey.Text {
		h.startSurveyFlow(c, "q", req.ID)
	}
	h.askSurvey(c, c.Conv, req, def, false)
	return nil
}

// surveyStep takes typed text while a survey waits for it: the comment
// after a score, or a questionnaire's free-text answer.
func (h *handlers) surveyStep(ctx context.Context, c *bot.Context) error {
	id, _ := strconv.ParseUint(c.Slot("req"), 10, 64)
	req, err := c.Store().SurveyRequest(ctx, id)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if err != nil || c.Customer == nil || req.CustomerID != c.Customer.ID || !req.Open(c.Now) || c.In.Text == "" {
		h.endSurveyFlow(c)
		return c.Reroute(ctx)
	}
	text := clip(c.In.Text, 1000)
	switch {
	case c.Conv.Step == "comment" && req.State == models.SurveyAnswered && req.Kind != survey.KindQuestionnaire:
		h.endSurveyFlow(c)
		return h.completeSurvey(ctx, c, req, &text)
	case c.Conv.Step == "q" && req.Kind == survey.KindQuestionnaire:
		// The definition may have changed or gone since the survey was sent.
		if def, ok := h.surveys.defs[req.Survey]; ok {
			if qi := def.Index(req.Step); qi >= 0 && def.Questions[qi].Type == survey.Text {
				return h.advance(ctx, c, req, def, qi, []string{text})
			}
		}
	}
	h.endSurveyFlow(c)
	return c.Reroute(ctx)
}

// startSurveyFlow makes the next text an answer to survey req. It takes
// over from the resolved ticket's follow-up (a message reopening it) and
// hands back when it ends; any other flow is left alone (false).
func (h *handlers) startSurveyFlow(c *bot.Context, step string, req uint64) bool {
	followUp := ""
	switch {
	case c.Conv.Mode == models.ModeHandoff:
		return false
	case c.Conv.Flow == flowFollowUp:
		followUp = c.Slot("ticket")
	case c.Conv.Flow == flowSurvey:
		followUp = c.Slot("followup")
	case c.Conv.Flow != "":
		return false
	}
	c.StartFlow(flowSurvey, step)
	c.SetSlot("req", strconv.FormatUint(req, 10))
	if followUp != "" {
		c.SetSlot("followup", followUp)
	}
	return true
}

// endSurveyFlow ends the survey flow, if it is the active one, and gives
// the ticket follow-up it took over back.
func (h *handlers) endSurveyFlow(c *bot.Context) {
	if c.Conv.Flow != flowSurvey {
		return
	}
	followUp := c.Slot("followup")
	c.EndFlow()
	if followUp != "" {
		c.StartFlow(flowFollowUp, "")
		c.SetSlot("ticket", followUp)
	}
}

// completeSurvey finishes a survey in a chat turn: the comment stored,
// the survey bonus earned, thanks said, and a low score turned into a
// follow-up ticket.
func (h *handlers) completeSurvey(ctx context.Context, c *bot.Context, req *models.SurveyRequest, comment *string) error {
	s := c.Store()
	now := c.Now.UTC()
	if comment != nil {
		req.Comment = *comment
	}
	req.State, req.CompletedAt = models.SurveyCompleted, &now
	if err := s.SaveSurveyRequest(ctx, req); err != nil {
		return err
	}
	if err := h.points.SurveyCompleted(ctx, s, req.CustomerID, req.Key); err != nil {
		return err
	}
	c.Count("survey.completed")
	thanks := c.T("survey.thanks")
	if def, ok := h.surveys.defs[req.Survey]; ok && len(def.Thanks) > 0 {
		thanks = def.Thanks.In(c.Lang())
	}
	if bonus := h.points.rules.SurveyBonus; bonus > 0 {
		thanks += "\n" + c.T("survey.bonus", "Points", bonus)
	}
	c.Reply(thanks)
	if req.Score != nil && survey.NeedsRecovery(req.Kind, *req.Score) && req.RecoveryTicketID == nil {
		return h.recoverTurn(ctx, c, req)
	}
	return nil
}

// recoverySubject is what the follow-up ticket says: the survey, the
// score and the comment, for staff.
func recoverySubject(req *models.SurveyRequest) string {
	top := survey.CSATScale
	if req.Kind == survey.KindNPS {
		top = survey.NPSScale
	}
	subject := fmt.Sprintf("%s %d/%d", strings.ToUpper(req.Kind), *req.Score, top)
	if req.Ref != "" {
		subject += " (" + req.Ref + ")"
	}
	if req.Comment != "" {
		subject += ": " + req.Comment
	}
	return subject
}

// recoverTurn opens the follow-up ticket of a low score through the
// ordinary ticket path: staff get the card, the customer the reference
// and a person to talk to.
func (h *handlers) recoverTurn(ctx context.Context, c *bot.Context, req *models.SurveyRequest) error {
	order := ""
	if req.Kind == survey.KindNPS {
		order = req.Ref
	}
	c.Say("survey.recovery")
	t, err := h.openTicket(ctx, c, ticketSpec{kind: ticketKindSurvey, category: req.Category, subject: recoverySubject(req), order: order})
	if err != nil {
		return err
	}
	req.RecoveryTicketID = &t.ID
	c.Count("survey.recovery")
	return c.Store().SaveSurveyRequest(ctx, req)
}

// recoverJob opens the follow-up ticket of a low score whose comment
// never came (the survey expired): no chat turn is at hand, so staff get
// the card and the customer's chat stays with the bot until staff answer.
func (h *handlers) recoverJob(ctx context.Context, j *bot.Job, req *models.SurveyRequest) error {
	s := j.Store()
	now := j.Now.UTC()
	subject := recoverySubject(req)
	g := h.priority.Grade(priority.Input{Category: req.Category, Text: subject})
	t := &models.Ticket{CustomerID: req.CustomerID, ConversationID: req.ConversationID, Kind: ticketKindSurvey, Category: req.Category,
		Subject: subject, Priority: g.Priority, Severity: g.Severity, Signals: signalNotes(g.Signals)}
	if req.Kind == survey.KindNPS {
		t.OrderRef = req.Ref
	}
	target := h.policy[g.Priority]
	fr, res := h.cal.Add(now, target.FirstResponse), h.cal.Add(now, target.Resolution)
	t.FirstResponseDue, t.ResolutionDue = &fr, &res
	if err := s.CreateTicket(ctx, t, "kefu"); err != nil {
		return err
	}
	for _, timer := range []string{timerFirstResponse, timerResolution} {
		if err := h.scheduleSLA(ctx, s, t, timer, now); err != nil {
			return err
		}
	}
	req.RecoveryTicketID = &t.ID
	if err := s.SaveSurveyRequest(ctx, req); err != nil {
		return err
	}
	cust, err := s.Customer(ctx, req.CustomerID)
	if err != nil {
		return err
	}
	j.Count("survey.recovery")
	ref := t.Ref()
	// The customer hears of the ticket, so staff's answers and its
	// resolution make sense to them.
	conv, err := s.ConversationByID(ctx, req.ConversationID)
	if err != nil {
		return err
	}
	j.SendTo(conv, j.TLang(customerLang(cust), "survey.recovery_later", "Ref", ref), bot.ForTicket(t.ID))
	return j.NotifyStaff(ctx, func(lang string) string {
		return j.TLang(lang, "staff.survey_recovery", "Ref", ref, "Priority", t.Priority, "Name", orDash(cust.Name),
			"Channel", req.Channel, "Text", subject, "Due", h.when(lang, fr))
	}, bot.Kind("card"), bot.ForTicket(t.ID), bot.Buttons(bot.Row(
		bot.Btn(j.TLang(j.StaffLang(), "staff.claim_button"), "st:claim:"+ref),
		bot.Btn(j.TLang(j.StaffLang(), "staff.resolve_button"), "st:resolve:"+ref))))
}

// runSurveyExpire closes a survey nobody finished: unanswered ones
// expire; a score without its comment stands (and a low one still gets
// its follow-up ticket); a questionnaire keeps the answers it got.
func (h *handlers) runSurveyExpire(ctx context.Context, j *bot.Job) error {
	var p expireJob
	if err := json.Unmarshal([]byte(j.Row.Payload), &p); err != nil {
		return fmt.Errorf("survey expire payload: %w", err)
	}
	s := j.Store()
	req, err := s.SurveyRequest(ctx, p.Request)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil || req.State == models.SurveyCompleted {
		return err
	}
	// A flow still waiting for this survey's text lets go.
	conv, err := s.ConversationByID(ctx, req.ConversationID)
	if err != nil {
		return err
	}
	if conv.Flow == flowSurvey && conv.Slots["req"] == strconv.FormatUint(req.ID, 10) {
		followUp := conv.Slots["followup"]
		conv.Flow, conv.Step, conv.Slots = "", "", models.Slots{}
		if followUp != "" {
			conv.Flow, conv.Slots = flowFollowUp, models.Slots{"ticket": followUp}
		}
		if err := s.SaveConversation(ctx, conv); err != nil {
			return err
		}
	}
	now := j.Now.UTC()
	switch {
	case req.State == models.SurveySent:
		req.State = models.SurveyExpired
		j.Count("survey.expired")
	case req.Score != nil:
		req.State, req.CompletedAt = models.SurveyCompleted, &now
	default:
		return nil // a questionnaire part answered: its answers stand
	}
	if err := s.SaveSurveyRequest(ctx, req); err != nil {
		return err
	}
	if req.Score != nil && survey.NeedsRecovery(req.Kind, *req.Score) && req.RecoveryTicketID == nil {
		return h.recoverJob(ctx, j, req)
	}
	return nil
}

// --- Opt-out and unprompted feedback ---

// askSurveyOptOut answers "stop sending me this": surveys and campaigns
// stop after one tap. (Order notifications are the orders feature's
// topic.)
func (h *handlers) askSurveyOptOut(ctx context.Context, c *bot.Context) error {
	c.Reply(c.T("survey.optout_ask"), bot.Buttons(bot.Row(
		bot.Btn(c.T("survey.optout_yes"), "sv:stop"), bot.Btn(c.T("survey.optout_no"), "sv:keep"))))
	return nil
}

// noSurvey is /nosurvey: opt out at once, with a button to undo.
func (h *handlers) noSurvey(ctx context.Context, c *bot.Context) error {
	return h.setSurveyOptOut(ctx, c, true)
}

func (h *handlers) setSurveyOptOut(ctx context.Context, c *bot.Context, out bool) error {
	if c.Customer == nil {
		return nil
	}
	if err := c.Store().SetOptOut(ctx, c.Customer.ID, models.TopicSurveys, out); err != nil {
		return err
	}
	var opts []bot.Option
	if c.In.PressedID != "" {
		opts = append(opts, bot.Edit(c.In.PressedID))
	}
	if out {
		c.Log.Info("survey opt-out", "customer", c.Customer.ID)
		c.Reply(c.T("survey.optout_done"), append(opts, bot.Buttons(bot.Row(bot.Btn(c.T("survey.optin_button"), "sv:resume"))))...)
		return nil
	}
	c.Reply(c.T("survey.optin_done"), opts...)
	return nil
}

// storeFeedback keeps feedback a customer gave unprompted, for the shop.
func storeFeedback(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil || strings.TrimSpace(c.In.Text) == "" {
		return nil
	}
	c.Count("feedback.stored")
	return c.Store().AddFeedbackNote(ctx, &models.FeedbackNote{CustomerID: c.Customer.ID, ConversationID: c.Conv.ID,
		Channel: c.In.Channel, Text: clip(c.In.Text, 2000)})
}
