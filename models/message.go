package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// InsertInbound stores an inbound message unless one with the same
// (channel, external id) is already stored. It reports whether it inserted:
// false means a redelivered update, which must not be answered again.
func (s *Store) InsertInbound(ctx context.Context, m *Message) (bool, error) {
	m.Direction = DirIn
	m.Status = StatusReceived
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.Now()
	}
	ids, err := s.insertMessages(ctx, []*Message{m}, true)
	if err != nil {
		return false, fmt.Errorf("insert inbound message: %w", err)
	}
	return len(ids) == 1, nil
}

// messageColumns are the columns insertMessages writes, in order.
const messageColumns = "conversation_id, channel, chat_id, direction, external_id, sender_id, text, payload, status, " +
	"attempts, next_attempt_at, error, platform_id, ticket_id, created_at, sent_at"

// insertMessages inserts ms in one statement and sets their ids. It writes
// the SQL itself: GORM's Create costs several times the insert on this,
// the hottest path (one inbound and its replies every turn). With
// skipDuplicates a row whose (channel, external_id) is stored already is
// skipped and gets no id.
func (s *Store) insertMessages(ctx context.Context, ms []*Message, skipDuplicates bool) ([]uint64, error) {
	if !s.postgres() {
		return s.insertMessagesSQLite(ctx, ms, skipDuplicates)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO messages (" + messageColumns + ") VALUES ")
	args := make([]any, 0, 16*len(ms))
	for i, m := range ms {
		payload, err := json.Marshal(m.Payload)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, m.ConversationID, m.Channel, m.ChatID, m.Direction, m.ExternalID, m.SenderID, m.Text,
			string(payload), m.Status, m.Attempts, m.NextAttemptAt, m.Error, m.PlatformID, m.TicketID, m.CreatedAt, m.SentAt)
	}
	if skipDuplicates {
		b.WriteString(onConflictSkip)
	}
	b.WriteString(" RETURNING id")
	rows, err := s.q(ctx).Raw(b.String(), args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := make([]uint64, 0, len(ms))
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !skipDuplicates && len(ids) != len(ms) {
		return nil, fmt.Errorf("inserted %d messages, got %d ids", len(ms), len(ids))
	}
	for i, id := range ids {
		ms[i].ID = id
	}
	return ids, nil
}

// insertSQL is one row's insert; insertSkipSQL skips a duplicate.
const (
	onConflictSkip = " ON CONFLICT DO NOTHING"
	insertSQL      = "INSERT INTO messages (" + messageColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	insertSkipSQL  = insertSQL + onConflictSkip
)

// insertMessagesSQLite inserts ms one prepared statement each. On SQLite a
// statement per row is cheaper than one multi-row statement: the SQL never
// varies, so it stays prepared, and the id comes from LastInsertId instead
// of a RETURNING result set (a third of the insert's cost) and GORM's
// placeholder rewriting is skipped.
func (s *Store) insertMessagesSQLite(ctx context.Context, ms []*Message, skipDuplicates bool) ([]uint64, error) {
	ids := make([]uint64, 0, len(ms))
	pool := s.db.Statement.ConnPool
	for _, m := range ms {
		payload, err := json.Marshal(m.Payload)
		if err != nil {
			return nil, err
		}
		q := insertSQL
		if skipDuplicates {
			q = insertSkipSQL
		}
		res, err := pool.ExecContext(ctx, q, int64(m.ConversationID), m.Channel, m.ChatID, m.Direction, sqlString(m.ExternalID),
			m.SenderID, m.Text, string(payload), m.Status, int64(m.Attempts), m.NextAttemptAt, m.Error, m.PlatformID,
			sqlID(m.TicketID), m.CreatedAt, sqlTime(m.SentAt))
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil && !skipDuplicates {
				err = fmt.Errorf("insert of message %d stored nothing", len(ids))
			}
			if err != nil {
				return nil, err
			}
			continue // skipped by the conflict clause
		}
		id, err := res.LastInsertId()
		if err != nil {
			return nil, err
		}
		m.ID = uint64(id)
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// QueueOutbound writes outbound messages to the outbox as pending, in one
// multi-row insert. Their IDs are set on return.
func (s *Store) QueueOutbound(ctx context.Context, ms []*Message) error {
	if len(ms) == 0 {
		return nil
	}
	now := s.Now()
	for _, m := range ms {
		m.Direction = DirOut
		m.Status = StatusPending
		m.CreatedAt = now
		if m.NextAttemptAt.IsZero() {
			m.NextAttemptAt = now
		}
	}
	if _, err := s.insertMessages(ctx, ms, false); err != nil {
		return fmt.Errorf("queue outbound: %w", err)
	}
	return nil
}

// OutboxFilter selects pending outbound rows.
type OutboxFilter struct {
	Channel string
	ChatID  string // optional: only this chat
	AfterID uint64 // only rows with a larger id
	Limit   int
}

// PendingOutbound returns pending outbound rows in id order.
func (s *Store) PendingOutbound(ctx context.Context, f OutboxFilter) ([]Message, error) {
	q := s.q(ctx).Where("status = ? AND channel = ? AND id > ?", StatusPending, f.Channel, f.AfterID)
	if f.ChatID != "" {
		q = q.Where("chat_id = ?", f.ChatID)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var out []Message
	if err := q.Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("pending outbound on %s: %w", f.Channel, err)
	}
	return out, nil
}

// CountPending returns how many outbound rows are pending.
func (s *Store) CountPending(ctx context.Context) (int64, error) {
	var n int64
	if err := s.q(ctx).Model(&Message{}).Where("status = ?", StatusPending).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count pending: %w", err)
	}
	return n, nil
}

// Plain SQL for MarkSent: one follows every reply; the JSON work is only
// done on rows with a file body.
const (
	markSentSQLite = `UPDATE messages SET status = ?, platform_id = ?, sent_at = ?, error = '', payload =
		CASE WHEN instr(payload, '"data":') > 0
			THEN json_remove(payload, '$.attachments[0].data', '$.attachments[1].data', '$.attachments[2].data', '$.attachments[3].data')
			ELSE payload END
		WHERE id = ? AND direction = ?`
	markSentPostgres = `UPDATE messages SET status = ?, platform_id = ?, sent_at = ?, error = '', payload =
		CASE WHEN strpos(payload, '"data":') > 0
			THEN (payload::jsonb #- '{attachments,0,data}' #- '{attachments,1,data}' #- '{attachments,2,data}' #- '{attachments,3,data}')::text
			ELSE payload END
		WHERE id = ? AND direction = ?`
)

// MarkSent records that the platform accepted an outbound message. The
// body of a file kefu made (a /mydata export) is dropped: the customer has
// it now, and a second copy of everything about them has no business
// waiting in the outbox for the retention purge. Its name and size stay.
func (s *Store) MarkSent(ctx context.Context, id uint64, platformID string, at time.Time) error {
	q := markSentSQLite
	if s.postgres() {
		q = markSentPostgres
	}
	res, err := s.execSQL(ctx, q, StatusSent, platformID, at, int64(id), DirOut)
	if err != nil {
		return fmt.Errorf("mark outbound %d sent: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return fmt.Errorf("mark outbound %d sent: %w", id, err)
		}
		return fmt.Errorf("mark outbound %d sent: %w", id, ErrNotFound)
	}
	return nil
}

// MarkRetry records a failed attempt and when to try again.
func (s *Store) MarkRetry(ctx context.Context, id uint64, attempts int, next time.Time, reason string) error {
	return s.updateOutbound(ctx, id, map[string]any{"attempts": attempts, "next_attempt_at": next, "error": truncate(reason, 255)})
}

// MarkFailed gives up on an outbound message, keeping the reason.
func (s *Store) MarkFailed(ctx context.Context, id uint64, attempts int, reason string) error {
	return s.updateOutbound(ctx, id, map[string]any{"status": StatusFailed, "attempts": attempts, "error": truncate(reason, 255)})
}

func (s *Store) updateOutbound(ctx context.Context, id uint64, cols map[string]any) error {
	res := s.q(ctx).Model(&Message{}).Where("id = ? AND direction = ?", id, DirOut).Updates(cols)
	if res.Error != nil {
		return fmt.Errorf("update outbound %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("update outbound %d: %w", id, ErrNotFound)
	}
	return nil
}

// Message returns one message by id.
func (s *Store) Message(ctx context.Context, id uint64) (*Message, error) {
	var m Message
	if err := s.q(ctx).Take(&m, id).Error; err != nil {
		return nil, fmt.Errorf("message %d: %w", id, notFound(err))
	}
	return &m, nil
}

// InboundByExternalID returns the inbound message the platform gave
// externalID on channel, or ErrNotFound.
func (s *Store) InboundByExternalID(ctx context.Context, channel, externalID string) (*Message, error) {
	var m Message
	if err := s.q(ctx).Where("channel = ? AND external_id = ?", channel, externalID).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("inbound %s %s: %w", channel, externalID, notFound(err))
	}
	return &m, nil
}

// Messages returns a conversation's messages in order, the last limit ones.
func (s *Store) Messages(ctx context.Context, conversationID uint64, limit int) ([]Message, error) {
	var out []Message
	sub := s.q(ctx).Model(&Message{}).Where("conversation_id = ?", conversationID).Order("id DESC").Limit(limit)
	if err := s.q(ctx).Table("(?) AS m", sub).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("messages of conversation %d: %w", conversationID, err)
	}
	return out, nil
}

// MessageCounts returns how many messages exist by direction and status,
// keyed "in/received", "out/sent" and so on.
func (s *Store) MessageCounts(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Direction, Status string
		N                 int64
	}
	err := s.q(ctx).Model(&Message{}).Select("direction, status, COUNT(*) AS n").Group("direction, status").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("message counts: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Direction+"/"+r.Status] = r.N
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the column never holds half a character.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// OutboundByPlatformID finds a sent message by the id the platform gave it
// in a chat (to map a staff reply to the ticket card it answers).
func (s *Store) OutboundByPlatformID(ctx context.Context, channel, chatID, platformID string) (*Message, error) {
	var m Message
	err := s.q(ctx).Where("channel = ? AND chat_id = ? AND platform_id = ? AND direction = ?", channel, chatID, platformID, DirOut).
		Order("id DESC").Take(&m).Error
	if err != nil {
		if err = notFound(err); err == ErrNotFound {
			return nil, err
		}
		return nil, fmt.Errorf("message %s in %s:%s: %w", platformID, channel, chatID, err)
	}
	return &m, nil
}
