package models

import "time"

// Channel names used across kefu. Adapters name themselves with these.
const (
	ChannelConsole  = "console"
	ChannelTelegram = "telegram"
	ChannelDiscord  = "discord"
	ChannelWeb      = "web"
)

// Customer is one person buying from the shop, whatever channels they use.
type Customer struct {
	ID uint64 `gorm:"primaryKey"`
	// Ref is the shop's own customer reference (customer_ref in order
	// imports); nil for customers only known from chat.
	Ref  *string `gorm:"size:64;uniqueIndex"`
	Name string  `gorm:"size:128"`
	// Language is "en" or "zh". LanguageChosen records an explicit
	// /language choice, which platform locales never override.
	Language       string `gorm:"size:8;not null;default:en"`
	LanguageChosen bool   `gorm:"not null;default:false"`
	Tier           string `gorm:"size:32"`
	// PointsBalance caches the sum of the customer's points ledger; only
	// Store.AddPoints changes it, in the same transaction as the entry.
	PointsBalance int64 `gorm:"not null;default:0"`
	// BirthMonth (1–12, 0 unknown) earns the birthday-month bonus.
	BirthMonth int `gorm:"not null;default:0"`
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// Identity maps a platform account (channel + external user id) to a customer.
type Identity struct {
	ID          uint64 `gorm:"primaryKey"`
	CustomerID  uint64 `gorm:"not null;index"`
	Channel     string `gorm:"size:16;not null;uniqueIndex:idx_identity_ext,priority:1"`
	ExternalID  string `gorm:"size:64;not null;uniqueIndex:idx_identity_ext,priority:2"`
	DisplayName string `gorm:"size:128"`
	// Verified is set once the identity proved it owns the customer's data.
	Verified bool `gorm:"not null;default:false"`
	// Unreachable is set when the platform refuses delivery for good (the
	// customer blocked the bot); proactive messages skip such identities.
	Unreachable bool `gorm:"not null;default:false"`
	CreatedAt   time.Time

	Customer Customer `gorm:"constraint:OnDelete:CASCADE"`
}

// Conversation kinds and modes.
const (
	KindCustomer = "customer" // a customer's chat with the shop
	KindStaff    = "staff"    // a staff room: a group, channel or terminal where staff work

	ModeBot     = "bot"     // the bot answers
	ModeHandoff = "handoff" // a person answers; customer text is relayed to staff
)

// Conversation is one chat on one channel: a customer's private chat or a
// staff room. It carries the state of the active multi-step flow.
type Conversation struct {
	ID         uint64  `gorm:"primaryKey"`
	Channel    string  `gorm:"size:16;not null;uniqueIndex:idx_conversation_chat,priority:1"`
	ChatID     string  `gorm:"size:64;not null;uniqueIndex:idx_conversation_chat,priority:2"`
	Kind       string  `gorm:"size:16;not null;default:customer"`
	CustomerID *uint64 `gorm:"index"`
	Mode       string  `gorm:"size:16;not null;default:bot"`
	// Flow and Step name the active multi-step flow; empty when none.
	Flow  string `gorm:"size:32"`
	Step  string `gorm:"size:32"`
	Slots Slots  `gorm:"serializer:json"`
	// TicketID is the ticket a handoff conversation is attached to.
	TicketID       *uint64
	LastActivityAt time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time

	Customer *Customer `gorm:"constraint:OnDelete:CASCADE"`
}

// Slots are the values a flow has collected so far.
type Slots map[string]string

// Message directions and outbound statuses.
const (
	DirIn  = "in"
	DirOut = "out"

	StatusReceived = "received" // inbound, stored
	StatusPending  = "pending"  // outbound, waiting for the dispatcher
	StatusSent     = "sent"     // outbound, accepted by the platform
	StatusFailed   = "failed"   // outbound, given up; Error says why
)

// Message is one message in or out. Outbound rows are the outbox: written in
// the turn's transaction, sent by the dispatcher after commit.
type Message struct {
	ID             uint64 `gorm:"primaryKey"`
	ConversationID uint64 `gorm:"not null;index"`
	Channel        string `gorm:"size:16;not null;uniqueIndex:idx_message_ext,priority:1"`
	ChatID         string `gorm:"size:64;not null"`
	Direction      string `gorm:"size:3;not null"`
	// ExternalID is the platform's id of an inbound message (or update); the
	// unique (channel, external_id) key drops redelivered updates. Nil for
	// outbound rows, and NULLs never collide.
	ExternalID *string `gorm:"size:96;uniqueIndex:idx_message_ext,priority:2"`
	// SenderID is the platform user id of an inbound message's author.
	SenderID string  `gorm:"size:64"`
	Text     string  `gorm:"type:text"`
	Payload  Payload `gorm:"serializer:json"`
	Status   string  `gorm:"size:10;not null;index:idx_message_outbox,priority:1,where:status = 'pending'"`
	// Attempts and NextAttemptAt drive the dispatcher's retries; they live in
	// the database so a restart keeps the backoff.
	Attempts      int       `gorm:"not null;default:0"`
	NextAttemptAt time.Time `gorm:"index:idx_message_outbox,priority:2,where:status = 'pending'"`
	Error         string    `gorm:"size:255"`
	// PlatformID is the id the platform gave a sent message, for edits,
	// replies and threads.
	PlatformID string `gorm:"size:64"`
	TicketID   *uint64
	CreatedAt  time.Time
	SentAt     *time.Time
	// ClaimOwner and ClaimUntil lease a pending outbound row to one replica
	// when several share a PostgreSQL database (ClaimOutbound): only the
	// owner sends it, until the lease runs out unrenewed.
	ClaimOwner string `gorm:"size:64;not null;default:''"`
	ClaimUntil *time.Time
}

// Payload is everything about a message besides its text.
type Payload struct {
	Buttons [][]Button `json:"buttons,omitempty"`
	// Edit is the platform id of an earlier message this one replaces (e.g.
	// the message whose button was pressed, edited to show the choice).
	Edit string `json:"edit,omitempty"`
	// ReplyTo is the platform id of the message this one answers.
	ReplyTo string `json:"reply_to,omitempty"`
	// Thread is the platform id of the thread (forum topic, Discord thread)
	// the message belongs in: for inbound, where it was written; for
	// outbound, where to post it.
	Thread      string       `json:"thread,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// Kind tells adapters how to render: "" plain, "card" a ticket card,
	// "relay" a message relayed between customer and staff, "notice".
	Kind string `json:"kind,omitempty"`
	// Command and Data are set on inbound messages: the slash command or the
	// pressed button's data.
	Command string `json:"command,omitempty"`
	Data    string `json:"data,omitempty"`
	Intent  string `json:"intent,omitempty"`
}

// Button is one button of an inline keyboard. Data is at most 64 bytes
// (Telegram's callback_data limit); larger state stays server-side.
type Button struct {
	Label string `json:"label"`
	Data  string `json:"data"`
}

// Attachment is a photo or file sent with a message.
type Attachment struct {
	Kind   string `json:"kind"` // photo, document, audio, video
	FileID string `json:"file_id,omitempty"`
	Name   string `json:"name,omitempty"`
	MIME   string `json:"mime,omitempty"`
	Size   int64  `json:"size,omitempty"`
	URL    string `json:"url,omitempty"`
	// Data is the body of a file kefu made itself (a customer's data
	// export), uploaded by the channel; platform files travel by FileID/URL.
	Data []byte `json:"data,omitempty"`
}

// Ticket statuses and kinds.
const (
	TicketNew             = "new"
	TicketOpen            = "open"
	TicketWaitingCustomer = "waiting_customer"
	TicketResolved        = "resolved"
	TicketClosed          = "closed"

	TicketKindHandoff   = "handoff"
	TicketKindComplaint = "complaint"
	TicketKindReturn    = "return"
	TicketKindQuestion  = "question"
)

// Ticket is an escalation to staff: a handoff, complaint or return.
type Ticket struct {
	ID             uint64 `gorm:"primaryKey"`
	CustomerID     uint64 `gorm:"not null;index"`
	ConversationID uint64 `gorm:"not null;index"`
	Kind           string `gorm:"size:16;not null"`
	Category       string `gorm:"size:32"`
	Priority       string `gorm:"size:2;not null;default:P3"`
	Status         string `gorm:"size:20;not null;index"`
	Assignee       string `gorm:"size:64"`
	Subject        string `gorm:"type:text"`
	// Severity is the emotional intensity read from the text; Signals say
	// why the ticket got its priority (shown to staff).
	Severity string   `gorm:"size:10"`
	Signals  []string `gorm:"serializer:json"`
	// OrderRef is the shop's order number the ticket is about, if any.
	OrderRef string `gorm:"size:32"`
	// SLA: when the first staff answer and the resolution are due (business
	// time, pauses while waiting on the customer taken into account), and
	// when the first answer came.
	FirstResponseDue *time.Time
	ResolutionDue    *time.Time
	FirstResponseAt  *time.Time
	Pauses           []Pause `gorm:"serializer:json"`
	Compensation     string  `gorm:"type:text"`
	Reopens          int     `gorm:"not null;default:0"`
	CreatedAt        time.Time
	UpdatedAt        time.Time
	ResolvedAt       *time.Time
	ClosedAt         *time.Time

	Customer Customer `gorm:"constraint:OnDelete:CASCADE"`
	// foreignKey is explicit: Conversation has a TicketID too, and GORM
	// would otherwise read this as conversations.ticket_id -> tickets, a
	// cycle PostgreSQL cannot create (and a cascade deleting the chat).
	Conversation Conversation `gorm:"foreignKey:ConversationID;constraint:OnDelete:CASCADE"`
}

// Pause is a stretch of time the SLA clock stood still (waiting on the
// customer). A zero End means it still stands.
type Pause struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
}

// TicketEvent is one entry of a ticket's timeline; internal notes included.
type TicketEvent struct {
	ID        uint64 `gorm:"primaryKey"`
	TicketID  uint64 `gorm:"not null;index"`
	Kind      string `gorm:"size:20;not null"` // created, customer, reply, note, claim, resolve, reopen, cancel
	Actor     string `gorm:"size:64"`
	Text      string `gorm:"type:text"`
	CreatedAt time.Time
}

// AuditLog records every staff and admin action.
type AuditLog struct {
	ID        uint64 `gorm:"primaryKey"`
	Actor     string `gorm:"size:96;not null"`
	Action    string `gorm:"size:32;not null"`
	Target    string `gorm:"size:64"`
	Detail    string `gorm:"type:text"`
	CreatedAt time.Time
}

// Job is timed work kept in the database, so a restart loses none of it.
// (Kind, Key) is unique: scheduling the same job twice is a no-op.
type Job struct {
	ID        uint64    `gorm:"primaryKey"`
	Kind      string    `gorm:"size:32;not null;uniqueIndex:idx_job_key,priority:1"`
	Key       string    `gorm:"size:96;not null;uniqueIndex:idx_job_key,priority:2"`
	RunAt     time.Time `gorm:"not null;index:idx_job_due,where:done_at IS NULL"`
	Payload   string    `gorm:"type:text"`
	Attempts  int       `gorm:"not null;default:0"`
	LastError string    `gorm:"size:255"`
	DoneAt    *time.Time
	CreatedAt time.Time
}

// Setting is a small key/value record for process-wide facts such as
// "demo data seeded".
type Setting struct {
	Key       string `gorm:"primaryKey;size:64"`
	Value     string `gorm:"type:text"`
	UpdatedAt time.Time
}

// allModels lists every table, in dependency order, for migrations.
func allModels() []any {
	return []any{&Customer{}, &Identity{}, &Conversation{}, &Message{}, &Ticket{}, &TicketEvent{}, &AuditLog{}, &Job{}, &Setting{}, &Thread{},
		&PointsEntry{}, &PointsAllocation{}, &Reward{}, &Redemption{},
		&Order{}, &OrderEvent{}, &VerifyAttempt{}, &IdentityLink{}, &OptOut{}, &ReturnRequest{}, &WebhookDelivery{},
		&SurveyRequest{}, &FeedbackNote{}, &Consent{}, &Cursor{}, &LinkCode{},
		&StaffAccount{}, &CustomerSegment{}, &SegmentSnapshot{}, &CampaignSend{},
		&StaffSession{}, &SignInThrottle{}}
}
