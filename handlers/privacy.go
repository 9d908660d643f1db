package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// Job kinds of privacy.
const (
	jobPrivacyPurge = "privacy.purge" // nightly: erase texts and attachments past retention
	jobPrivacyScrub = "privacy.scrub" // after /forget: take the chat id off the last rows once sent
)

// scrubAfter gives the confirmation of a /forget time to be delivered.
const scrubAfter = 10 * time.Minute

// purgeBatch bounds one purge transaction, so a first run over years of
// history never holds the writer for long.
const purgeBatch = 5000

// myData sends the customer everything kefu holds about them as a JSON
// document. It is built from the asking customer's id only: whatever they
// type, nobody else's data can be in it.
func (h *handlers) myData(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return &bot.UserError{Key: "privacy.customers_only"}
	}
	x, err := c.Store().ExportCustomer(ctx, c.Customer.ID)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		return fmt.Errorf("my data: %w", err)
	}
	name := "kefu-mydata-" + c.Now.In(h.loc).Format("20060102") + ".json"
	c.Reply(c.T("privacy.export_ready"), bot.Attach(models.Attachment{Kind: "document", Name: name,
		MIME: "application/json", Size: int64(len(body)), Data: body}))
	c.Log.Info("privacy: data exported", "bytes", len(body))
	return nil
}

// forget asks for confirmation: erasing cannot be undone.
func (h *handlers) forget(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return &bot.UserError{Key: "privacy.customers_only"}
	}
	c.Reply(c.T("privacy.forget_confirm"), bot.Buttons(bot.Row(
		bot.Btn(c.T("privacy.forget_yes"), "pv:forget"),
		bot.Btn(c.T("privacy.forget_no"), "pv:keep"),
	)))
	return nil
}

// privacyButton handles the confirmation: "pv:forget" or "pv:keep".
func (h *handlers) privacyButton(ctx context.Context, c *bot.Context) error {
	if c.Customer == nil {
		return &bot.UserError{Key: "privacy.customers_only"}
	}
	var edit []bot.Option
	if c.In.PressedID != "" {
		edit = append(edit, bot.Edit(c.In.PressedID))
	}
	if c.Arg != "forget" {
		c.Reply(c.T("privacy.forget_kept"), edit...)
		return nil
	}
	id := c.Customer.ID
	done, err := c.Store().ForgetCustomer(ctx, id)
	if err != nil {
		return err
	}
	if err := c.Store().Audit(ctx, "customer", "privacy.forget", fmt.Sprintf("customer:%d", id),
		fmt.Sprintf("%d messages erased, %d tickets anonymised", done.Messages, len(done.Tickets))); err != nil {
		return err
	}
	// The conversation row no longer answers to this chat; what the turn
	// would save back must not bring the flow or the handoff back.
	c.EndFlow()
	c.Conv.Mode, c.Conv.TicketID = models.ModeBot, nil
	c.Customer.Name = ""
	c.Reply(c.T("privacy.forgotten"), edit...)
	for _, conv := range done.Conversations {
		if err := scheduleJSON(ctx, c.Store(), jobPrivacyScrub, fmt.Sprint(conv), c.Now.Add(scrubAfter), scrubJob{Conv: conv}); err != nil {
			return err
		}
	}
	if len(done.Tickets) > 0 {
		refs := make([]string, len(done.Tickets))
		for i, t := range done.Tickets {
			refs[i] = models.TicketRef(t)
		}
		err := c.NotifyStaff(ctx, func(lang string) string {
			return c.TLang(lang, "privacy.staff_anonymised", "Tickets", strings.Join(refs, ", "))
		})
		if err != nil {
			return err
		}
	}
	c.Log.Info("privacy: customer forgotten", "messages", done.Messages, "tickets", len(done.Tickets))
	return nil
}

type scrubJob struct {
	Conv uint64 `json:"conv"`
}

// runScrub takes the chat id off a forgotten conversation's last rows; a
// reply still waiting to be sent keeps it, and the job comes back later.
func (h *handlers) runScrub(ctx context.Context, j *bot.Job) error {
	var p scrubJob
	if err := json.Unmarshal([]byte(j.Row.Payload), &p); err != nil {
		return fmt.Errorf("privacy scrub payload: %w", err)
	}
	pending, err := j.Store().ScrubConversation(ctx, p.Conv)
	if err != nil || pending == 0 {
		return err
	}
	return scheduleJSON(ctx, j.Store(), jobPrivacyScrub, fmt.Sprintf("%d+%d", p.Conv, j.Row.ID), j.Now.Add(scrubAfter), p)
}

// schedulePurge plans the next retention purge at 03:00 shop time
// (idempotent); kefu run calls it at start and every purge plans the next.
func schedulePurge(ctx context.Context, s *models.Store, loc *time.Location, r models.Retention) error {
	if r.Texts <= 0 && r.Attachments <= 0 {
		return nil
	}
	t := s.Now().In(loc)
	next := time.Date(t.Year(), t.Month(), t.Day(), 3, 0, 0, 0, loc)
	if !next.After(t) {
		next = next.AddDate(0, 0, 1)
	}
	_, err := s.ScheduleJob(ctx, jobPrivacyPurge, next.Format(time.DateOnly), next, "{}")
	return err
}

// runPurge erases message texts and attachments past their retention, a
// batch per transaction; while more wait, the next batch runs at once.
func (h *handlers) runPurge(ctx context.Context, j *bot.Job) error {
	s := j.Store()
	n, more, err := s.PurgeExpired(ctx, h.retention, purgeBatch)
	if err != nil {
		return err
	}
	if n > 0 {
		j.Log.Info("privacy: retention purge", "messages", n, "more", more)
	}
	if more {
		key := fmt.Sprintf("%s+%d", j.Row.Key, j.Row.ID)
		_, err := s.ScheduleJob(ctx, jobPrivacyPurge, key, j.Now, "{}")
		return err
	}
	return schedulePurge(ctx, s, h.loc, h.retention)
}

// StartPrivacyJobs schedules the retention purge; kefu run calls it at start.
func StartPrivacyJobs(ctx context.Context, s *models.Store, loc *time.Location, r models.Retention) error {
	if loc == nil {
		loc = time.UTC
	}
	return schedulePurge(ctx, s, loc, r)
}
