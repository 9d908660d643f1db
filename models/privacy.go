package models

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Export is everything kefu holds about one customer, as the customer
// receives it from /mydata. Field names are the document's, so they are
// stable JSON names rather than Go's.
type Export struct {
	GeneratedAt   time.Time            `json:"generated_at"`
	Customer      ExportCustomer       `json:"customer"`
	Identities    []ExportIdentity     `json:"identities"`
	Conversations []ExportConversation `json:"conversations"`
	Tickets       []ExportTicket       `json:"tickets"`
	Points        []ExportPoints       `json:"points"`
	Redemptions   []ExportRedemption   `json:"redemptions"`
	Orders        []ExportOrder        `json:"orders"`
	Returns       []ExportReturn       `json:"returns"`
	Surveys       []ExportSurvey       `json:"surveys"`
	Feedback      []ExportFeedback     `json:"feedback"`
	Consent       string               `json:"consent"`  // yes, no or "" (never answered)
	OptOuts       []string             `json:"opt_outs"` // topics turned off (/stop, /nosurvey)
	// Customer insight: the last segmentation and the care campaign
	// messages sent.
	Segment   *ExportSegment   `json:"segment,omitempty"`
	Campaigns []ExportCampaign `json:"campaign_messages"`
}

// ExportOrder is one order the customer owns or proved to own.
type ExportOrder struct {
	Ref         string      `json:"order_id"`
	Status      string      `json:"status"`
	Name        string      `json:"name,omitempty"`
	Phone       string      `json:"phone,omitempty"`
	Email       string      `json:"email,omitempty"`
	Total       int64       `json:"total_minor_units"`
	Currency    string      `json:"currency"`
	PlacedAt    time.Time   `json:"placed_at"`
	Carrier     string      `json:"carrier,omitempty"`
	Tracking    string      `json:"tracking_no,omitempty"`
	Items       []OrderItem `json:"items,omitempty"`
	DeliveredAt *time.Time  `json:"delivered_at,omitempty"`
}

// ExportReturn is one return request.
type ExportReturn struct {
	OrderRef  string    `json:"order_id"`
	Items     []string  `json:"items,omitempty"`
	Reason    string    `json:"reason"`
	Note      string    `json:"note,omitempty"`
	Status    string    `json:"status"`
	Decision  string    `json:"decision,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// ExportSurvey is one survey asked and what was answered.
type ExportSurvey struct {
	Kind    string              `json:"kind"`
	Survey  string              `json:"survey"`
	About   string              `json:"about,omitempty"`
	SentAt  time.Time           `json:"sent_at"`
	State   string              `json:"state"`
	Score   *int                `json:"score,omitempty"`
	Comment string              `json:"comment,omitempty"`
	Answers map[string][]string `json:"answers,omitempty"`
}

// ExportFeedback is feedback the customer volunteered.
type ExportFeedback struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// ExportCustomer is the customer record.
type ExportCustomer struct {
	ID            uint64    `json:"id"`
	Ref           string    `json:"customer_ref,omitempty"`
	Name          string    `json:"name,omitempty"`
	Language      string    `json:"language"`
	Tier          string    `json:"tier,omitempty"`
	PointsBalance int64     `json:"points_balance"`
	BirthMonth    int       `json:"birth_month,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	LastSeenAt    time.Time `json:"last_seen_at"`
}

// ExportIdentity is one platform account linked to the customer.
type ExportIdentity struct {
	Channel     string    `json:"channel"`
	UserID      string    `json:"user_id"`
	DisplayName string    `json:"display_name,omitempty"`
	Verified    bool      `json:"verified"`
	CreatedAt   time.Time `json:"created_at"`
}

// ExportConversation is one chat with its messages, oldest first.
type ExportConversation struct {
	Channel  string          `json:"channel"`
	ChatID   string          `json:"chat_id"`
	Messages []ExportMessage `json:"messages"`
}

// ExportMessage is one message in or out.
type ExportMessage struct {
	At          time.Time    `json:"at"`
	Direction   string       `json:"direction"`
	Text        string       `json:"text,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// ExportTicket is one ticket with its customer-visible timeline. Internal
// staff notes are not the customer's data about themselves and stay out.
type ExportTicket struct {
	Ref          string        `json:"ref"`
	Kind         string        `json:"kind"`
	Category     string        `json:"category,omitempty"`
	Status       string        `json:"status"`
	Subject      string        `json:"subject,omitempty"`
	OrderRef     string        `json:"order_ref,omitempty"`
	Compensation string        `json:"compensation,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	ResolvedAt   *time.Time    `json:"resolved_at,omitempty"`
	Events       []ExportEvent `json:"events"`
}

// ExportEvent is one entry of a ticket's timeline.
type ExportEvent struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	Text string    `json:"text,omitempty"`
}

// ExportPoints is one ledger entry.
type ExportPoints struct {
	At        time.Time  `json:"at"`
	Kind      string     `json:"kind"`
	Points    int64      `json:"points"`
	Reason    string     `json:"reason,omitempty"`
	Ref       string     `json:"ref,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Balance   int64      `json:"balance"`
}

// ExportRedemption is one reward taken for points.
type ExportRedemption struct {
	At     time.Time `json:"at"`
	Reward string    `json:"reward"`
	Points int64     `json:"points"`
	Coupon string    `json:"coupon"`
}

// ExportCustomer gathers everything stored about customer id. It reads
// only rows tied to that customer, so nobody else's data can slip in.
func (s *Store) ExportCustomer(ctx context.Context, id uint64) (*Export, error) {
	c, err := s.Customer(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("export customer %d: %w", id, err)
	}
	x := &Export{GeneratedAt: s.Now().UTC(), Customer: ExportCustomer{ID: c.ID, Name: c.Name, Language: c.Language,
		Tier: c.Tier, PointsBalance: c.PointsBalance, BirthMonth: c.BirthMonth, CreatedAt: c.CreatedAt, LastSeenAt: c.LastSeenAt},
		Identities: []ExportIdentity{}, Conversations: []ExportConversation{}, Tickets: []ExportTicket{},
		Points: []ExportPoints{}, Redemptions: []ExportRedemption{}}
	if c.Ref != nil {
		x.Customer.Ref = *c.Ref
	}
	wrap := func(what string, err error) error { return fmt.Errorf("export customer %d: %s: %w", id, what, err) }

	idents, err := s.Identities(ctx, id)
	if err != nil {
		return nil, wrap("identities", err)
	}
	for _, i := range idents {
		x.Identities = append(x.Identities, ExportIdentity{Channel: i.Channel, UserID: i.ExternalID,
			DisplayName: i.DisplayName, Verified: i.Verified, CreatedAt: i.CreatedAt})
	}

	var convs []Conversation
	if err := s.q(ctx).Where("customer_id = ? AND kind = ?", id, KindCustomer).Order("id").Find(&convs).Error; err != nil {
		return nil, wrap("conversations", err)
	}
	for _, cv := range convs {
		var msgs []Message
		if err := s.q(ctx).Where("conversation_id = ?", cv.ID).Order("id").Find(&msgs).Error; err != nil {
			return nil, wrap("messages", err)
		}
		ec := ExportConversation{Channel: cv.Channel, ChatID: cv.ChatID, Messages: make([]ExportMessage, 0, len(msgs))}
		for _, m := range msgs {
			ec.Messages = append(ec.Messages, ExportMessage{At: m.CreatedAt, Direction: m.Direction, Text: m.Text,
				Attachments: exportAttachments(m.Payload.Attachments)})
		}
		x.Conversations = append(x.Conversations, ec)
	}

	var tickets []Ticket
	if err := s.q(ctx).Where("customer_id = ?", id).Order("id").Find(&tickets).Error; err != nil {
		return nil, wrap("tickets", err)
	}
	for _, t := range tickets {
		var evs []TicketEvent
		if err := s.q(ctx).Where("ticket_id = ? AND kind <> ?", t.ID, "note").Order("id").Find(&evs).Error; err != nil {
			return nil, wrap("ticket events", err)
		}
		et := ExportTicket{Ref: t.Ref(), Kind: t.Kind, Category: t.Category, Status: t.Status, Subject: t.Subject,
			OrderRef: t.OrderRef, Compensation: t.Compensation, CreatedAt: t.CreatedAt, ResolvedAt: t.ResolvedAt,
			Events: make([]ExportEvent, 0, len(evs))}
		for _, e := range evs {
			et.Events = append(et.Events, ExportEvent{At: e.CreatedAt, Kind: e.Kind, Text: e.Text})
		}
		x.Tickets = append(x.Tickets, et)
	}

	var entries []PointsEntry
	if err := s.q(ctx).Where("customer_id = ?", id).Order("id").Find(&entries).Error; err != nil {
		return nil, wrap("points", err)
	}
	for _, e := range entries {
		ref := e.RefKind
		if e.RefID != "" {
			ref += ":" + e.RefID
		}
		x.Points = append(x.Points, ExportPoints{At: e.CreatedAt, Kind: e.Kind, Points: e.Points, Reason: e.Reason,
			Ref: ref, ExpiresAt: e.ExpiresAt, Balance: e.Balance})
	}

	var reds []struct {
		Redemption
		NameEN string
	}
	if err := s.q(ctx).Table("redemptions").Select("redemptions.*, rewards.name_en").
		Joins("JOIN rewards ON rewards.id = redemptions.reward_id").
		Where("redemptions.customer_id = ?", id).Order("redemptions.id").Scan(&reds).Error; err != nil {
		return nil, wrap("redemptions", err)
	}
	for _, r := range reds {
		x.Redemptions = append(x.Redemptions, ExportRedemption{At: r.CreatedAt, Reward: r.NameEN, Points: r.Points, Coupon: r.Coupon})
	}
	if err := s.exportMore(ctx, id, idents, x); err != nil {
		return nil, wrap("orders and surveys", err)
	}
	if err := s.exportInsight(ctx, id, x); err != nil {
		return nil, wrap("segment and campaigns", err)
	}
	return x, nil
}

// exportMore adds orders (the customer's own and those its identities
// proved to own), returns, surveys, feedback, consent and opt-outs.
func (s *Store) exportMore(ctx context.Context, id uint64, idents []Identity, x *Export) error {
	x.Orders, x.Returns, x.Surveys, x.Feedback, x.OptOuts = []ExportOrder{}, []ExportReturn{}, []ExportSurvey{}, []ExportFeedback{}, []string{}
	owners := []uint64{id}
	if len(idents) > 0 {
		ids := make([]uint64, len(idents))
		for i, it := range idents {
			ids[i] = it.ID
		}
		var linked []uint64
		if err := s.q(ctx).Model(&IdentityLink{}).Where("identity_id IN ?", ids).Pluck("customer_id", &linked).Error; err != nil {
			return err
		}
		owners = append(owners, linked...)
	}
	var orders []Order
	if err := s.q(ctx).Where("customer_id IN ?", owners).Order("placed_at, id").Find(&orders).Error; err != nil {
		return err
	}
	for _, o := range orders {
		e := ExportOrder{Ref: o.Ref, Status: o.Status, Name: o.Name, Phone: o.Phone, Email: o.Email,
			Total: o.Total, Currency: o.Currency, PlacedAt: o.PlacedAt, Carrier: o.Carrier, Tracking: o.Tracking,
			Items: o.Items, DeliveredAt: o.DeliveredAt}
		if o.CustomerID != id {
			// Proved with four digits, not owned: the chat gets what it can
			// see in an order answer, not the other customer's contact.
			e.Name, e.Phone, e.Email = "", "", ""
		}
		x.Orders = append(x.Orders, e)
	}
	var rets []ReturnRequest
	if err := s.q(ctx).Where("customer_id = ?", id).Order("id").Find(&rets).Error; err != nil {
		return err
	}
	for _, r := range rets {
		x.Returns = append(x.Returns, ExportReturn{OrderRef: r.OrderRef, Items: r.Items, Reason: r.Reason, Note: r.Note,
			Status: r.Status, Decision: r.Decision, CreatedAt: r.CreatedAt})
	}
	var surveys []SurveyRequest
	if err := s.q(ctx).Where("customer_id = ?", id).Order("id").Find(&surveys).Error; err != nil {
		return err
	}
	for _, r := range surveys {
		x.Surveys = append(x.Surveys, ExportSurvey{Kind: r.Kind, Survey: r.Survey, About: r.Ref, SentAt: r.SentAt,
			State: r.State, Score: r.Score, Comment: r.Comment, Answers: r.Answers})
	}
	var notes []FeedbackNote
	if err := s.q(ctx).Where("customer_id = ?", id).Order("id").Find(&notes).Error; err != nil {
		return err
	}
	for _, n := range notes {
		x.Feedback = append(x.Feedback, ExportFeedback{At: n.CreatedAt, Text: n.Text})
	}
	c, err := s.Consent(ctx, id)
	if err != nil {
		return err
	}
	x.Consent = c.State
	return s.q(ctx).Model(&OptOut{}).Where("customer_id = ?", id).Order("topic").Pluck("topic", &x.OptOuts).Error
}

// exportAttachments leaves out generated file bodies (an earlier export
// sent to the customer): the document would otherwise nest every former
// copy of itself.
func exportAttachments(as []Attachment) []Attachment {
	var out []Attachment
	for _, a := range as {
		a.Data = nil
		out = append(out, a)
	}
	return out
}

// errForgotten marks pending replies cancelled because their customer
// asked to be forgotten.
const errForgotten = "customer forgotten"

// Forgotten is what ForgetCustomer changed.
type Forgotten struct {
	Tickets       []uint64 // tickets whose texts were anonymised
	Messages      int64    // messages whose text and attachments were erased
	Conversations []uint64 // conversations detached from their chat
}

// ForgetCustomer erases customer id's personal data and message texts
// everywhere and unlinks their platform accounts, inside the caller's
// transaction. What stays is anonymous and keeps aggregates true: the
// customer row (no name, ref or birthday) with its points ledger, so the
// shop's points liability is unchanged; tickets with their kind, category,
// priority and times, so ticket counts and SLA reports hold; messages as
// empty rows, so message counts hold. Their conversations are detached
// from the chat and from the customer, so the next message from that chat
// starts as a new customer and nothing proactive reaches the old chat.
// Pending replies to the customer are cancelled; the caller queues the
// confirmation afterwards and calls ScrubConversation once it is sent.
func (s *Store) ForgetCustomer(ctx context.Context, id uint64) (*Forgotten, error) {
	wrap := func(what string, err error) error { return fmt.Errorf("forget customer %d: %s: %w", id, what, err) }
	db := s.q(ctx)
	res := db.Model(&Customer{}).Where("id = ?", id).
		Updates(map[string]any{"name": "", "ref": nil, "birth_month": 0})
	if res.Error != nil {
		return nil, wrap("customer", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, wrap("customer", ErrNotFound)
	}
	var convIDs []uint64
	if err := db.Model(&Conversation{}).Where("customer_id = ? AND kind = ?", id, KindCustomer).Pluck("id", &convIDs).Error; err != nil {
		return nil, wrap("conversations", err)
	}
	out := &Forgotten{Conversations: convIDs}
	if len(convIDs) > 0 {
		if err := db.Model(&Message{}).Where("conversation_id IN ? AND status = ?", convIDs, StatusPending).
			Updates(map[string]any{"status": StatusFailed, "error": errForgotten}).Error; err != nil {
			return nil, wrap("pending replies", err)
		}
		// The chat id is the platform's handle on the person: the
		// conversation keeps its rows but no longer answers to it.
		for _, cid := range convIDs {
			res := db.Model(&Message{}).Where("conversation_id = ?", cid).
				Updates(map[string]any{"text": "", "payload": "{}", "sender_id": "", "chat_id": forgottenChat(cid)})
			if res.Error != nil {
				return nil, wrap("messages", res.Error)
			}
			out.Messages += res.RowsAffected
			if err := db.Model(&Conversation{}).Where("id = ?", cid).Updates(map[string]any{
				"chat_id": forgottenChat(cid), "customer_id": nil,
				"slots": "{}", "flow": "", "step": "", "mode": ModeBot,
			}).Error; err != nil {
				return nil, wrap("conversation", err)
			}
		}
	}
	var identIDs []uint64
	if err := db.Model(&Identity{}).Where("customer_id = ?", id).Pluck("id", &identIDs).Error; err != nil {
		return nil, wrap("identities", err)
	}
	if len(identIDs) > 0 {
		if err := db.Where("identity_id IN ?", identIDs).Delete(&IdentityLink{}).Error; err != nil {
			return nil, wrap("identity links", err)
		}
		if err := db.Where("identity_id IN ?", identIDs).Delete(&VerifyAttempt{}).Error; err != nil {
			return nil, wrap("verify attempts", err)
		}
	}
	if err := db.Where("customer_id = ?", id).Delete(&Identity{}).Error; err != nil {
		return nil, wrap("identities", err)
	}
	// Orders keep status, totals, dates and items (spend, points and
	// reports stay true) but lose the contact and the tracking number, which
	// leads to an address at the carrier.
	if err := db.Model(&Order{}).Where("customer_id = ?", id).
		Updates(map[string]any{"name": "", "phone": "", "email": "", "tracking_no": ""}).Error; err != nil {
		return nil, wrap("orders", err)
	}
	if err := db.Model(&ReturnRequest{}).Where("customer_id = ?", id).
		Updates(map[string]any{"note": "", "decision": ""}).Error; err != nil {
		return nil, wrap("returns", err)
	}
	// Scores stay (CSAT and NPS figures hold); words go.
	if err := db.Model(&SurveyRequest{}).Where("customer_id = ?", id).
		Updates(map[string]any{"comment": "", "answers": "{}"}).Error; err != nil {
		return nil, wrap("surveys", err)
	}
	if err := db.Model(&FeedbackNote{}).Where("customer_id = ?", id).Update("text", "").Error; err != nil {
		return nil, wrap("feedback", err)
	}
	for _, m := range []any{&Consent{}, &OptOut{}} {
		if err := db.Where("customer_id = ?", id).Delete(m).Error; err != nil {
			return nil, wrap("consent", err)
		}
	}
	if err := s.ForgetInsight(ctx, id); err != nil {
		return nil, wrap("insight", err)
	}
	if err := db.Model(&Ticket{}).Where("customer_id = ?", id).Pluck("id", &out.Tickets).Error; err != nil {
		return nil, wrap("tickets", err)
	}
	if len(out.Tickets) > 0 {
		if err := db.Model(&Ticket{}).Where("id IN ?", out.Tickets).
			Updates(map[string]any{"subject": "", "compensation": "", "signals": "[]"}).Error; err != nil {
			return nil, wrap("tickets", err)
		}
		if err := db.Model(&TicketEvent{}).Where("ticket_id IN ?", out.Tickets).Update("text", "").Error; err != nil {
			return nil, wrap("ticket events", err)
		}
	}
	var orderRefs []string
	if err := db.Model(&Order{}).Where("customer_id = ?", id).Pluck("ref", &orderRefs).Error; err != nil {
		return nil, wrap("orders", err)
	}
	n, err := s.forgetStaffCopies(ctx, out.Tickets, orderRefs)
	if err != nil {
		return nil, wrap("staff room", err)
	}
	out.Messages += n
	// Staff adjustment reasons are free text and may name the person.
	if err := db.Model(&PointsEntry{}).Where("customer_id = ? AND kind = ?", id, PointsAdjust).Update("reason", "").Error; err != nil {
		return nil, wrap("points reasons", err)
	}
	return out, nil
}

func forgottenChat(convID uint64) string { return "forgotten:" + strconv.FormatUint(convID, 10) }

// ScrubConversation takes the chat id off the settled messages of a
// forgotten conversation: the confirmation of the forgetting itself needed
// it to be delivered, and keeps it no longer than that. It reports how
// many rows still wait to be sent (and keep the chat id until then).
func (s *Store) ScrubConversation(ctx context.Context, convID uint64) (pending int64, err error) {
	err = s.q(ctx).Model(&Message{}).Where("conversation_id = ? AND status <> ?", convID, StatusPending).
		Update("chat_id", forgottenChat(convID)).Error
	if err == nil {
		err = s.q(ctx).Model(&Message{}).Where("conversation_id = ? AND status = ?", convID, StatusPending).Count(&pending).Error
	}
	if err != nil {
		return 0, fmt.Errorf("scrub conversation %d: %w", convID, err)
	}
	return pending, nil
}

// Retention is how long message texts and attachments are kept.
type Retention struct {
	Texts       time.Duration // 0 keeps texts forever
	Attachments time.Duration // 0 keeps attachments forever
}

// Setting keys of the retention cursors: every message with a smaller id
// has been purged.
const (
	retentionTextCursor = "retention.texts"
	retentionFileCursor = "retention.attachments"
)

// PurgeExpired erases, in id order, the text (and attachments) of up to
// limit messages older than the retention, and reports how many rows it
// changed and whether more may wait. A cursor per kind keeps each run from
// re-reading what earlier runs purged, without an index on created_at on
// the hot insert path. Outbound rows still pending that long are given up.
func (s *Store) PurgeExpired(ctx context.Context, r Retention, limit int) (n int64, more bool, err error) {
	now := s.Now().UTC()
	for _, p := range []struct {
		keep   time.Duration
		cursor string
		set    map[string]any
	}{
		{r.Texts, retentionTextCursor, map[string]any{"text": "", "payload": "{}"}},
		{r.Attachments, retentionFileCursor, map[string]any{"payload": "{}"}},
	} {
		if p.keep <= 0 {
			continue
		}
		k, m, err := s.purge(ctx, now.Add(-p.keep), p.cursor, p.set, limit)
		if err != nil {
			return n, more, err
		}
		n, more = n+k, more || m
	}
	return n, more, nil
}

func (s *Store) purge(ctx context.Context, before time.Time, cursor string, set map[string]any, limit int) (int64, bool, error) {
	wrap := func(err error) error { return fmt.Errorf("purge %s: %w", cursor, err) }
	from := uint64(0)
	if v, err := s.Setting(ctx, cursor); err == nil {
		from, _ = strconv.ParseUint(v, 10, 64)
	}
	var rows []struct {
		ID        uint64
		CreatedAt time.Time
	}
	if err := s.q(ctx).Model(&Message{}).Select("id, created_at").Where("id > ?", from).
		Order("id").Limit(limit).Scan(&rows).Error; err != nil {
		return 0, false, wrap(err)
	}
	last := from
	for _, r := range rows {
		if !r.CreatedAt.Before(before) {
			break // ids follow time: the rest are newer
		}
		last = r.ID
	}
	if last == from {
		return 0, false, nil
	}
	db := s.q(ctx)
	if err := db.Model(&Message{}).Where("id > ? AND id <= ? AND status = ?", from, last, StatusPending).
		Updates(map[string]any{"status": StatusFailed, "error": "expired by retention"}).Error; err != nil {
		return 0, false, wrap(err)
	}
	res := db.Model(&Message{}).Where("id > ? AND id <= ?", from, last).Updates(set)
	if res.Error != nil {
		return 0, false, wrap(res.Error)
	}
	if err := s.SetSetting(ctx, cursor, strconv.FormatUint(last, 10)); err != nil {
		return 0, false, wrap(err)
	}
	return res.RowsAffected, len(rows) == limit && last == rows[len(rows)-1].ID, nil
}
