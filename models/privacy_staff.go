package models

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// forgetStaffCopies erases the staff side of a forgotten customer's story:
// every message tied to one of their tickets (cards, relays of what they
// wrote, replies in a ticket's thread) and every staff-room message that
// names one of their tickets or orders (staff's /reply and /note commands,
// /customer and /order answers, which quote the name, phone and texts).
// Rows still waiting to go out are cancelled rather than sent blank. Staff
// free text that names the person without a reference is not found, and
// copies already delivered to a platform (a Telegram staff group) stay
// there: SECURITY.md says so.
func (s *Store) forgetStaffCopies(ctx context.Context, tickets []uint64, orderRefs []string) (int64, error) {
	db := s.q(ctx)
	var ids []uint64
	if len(tickets) > 0 {
		if err := db.Model(&Message{}).Where("ticket_id IN ?", tickets).Pluck("id", &ids).Error; err != nil {
			return 0, fmt.Errorf("staff copies: %w", err)
		}
	}
	refs := make([]string, 0, len(tickets)+len(orderRefs))
	for _, t := range tickets {
		refs = append(refs, TicketRef(t))
	}
	for _, r := range orderRefs {
		if r != "" {
			refs = append(refs, r)
		}
	}
	if len(refs) > 0 {
		quoted := make([]string, len(refs))
		likes := make([]string, len(refs))
		args := make([]any, 0, len(refs)+1)
		args = append(args, KindStaff)
		for i, r := range refs {
			quoted[i] = regexp.QuoteMeta(r)
			likes[i] = "messages.text LIKE ?"
			args = append(args, "%"+r+"%")
		}
		// LIKE finds candidates; the pattern keeps T-1002 from matching
		// T-10021 or an order number inside a longer one.
		mention := regexp.MustCompile(`(^|[^0-9A-Za-z])(` + strings.Join(quoted, "|") + `)($|[^0-9])`)
		var rows []Message
		err := db.Model(&Message{}).Select("messages.id", "messages.text").
			Joins("JOIN conversations c ON c.id = messages.conversation_id").
			Where("c.kind = ? AND ("+strings.Join(likes, " OR ")+")", args...).Find(&rows).Error
		if err != nil {
			return 0, fmt.Errorf("staff copies: %w", err)
		}
		for _, m := range rows {
			if mention.MatchString(m.Text) {
				ids = append(ids, m.ID)
			}
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := db.Model(&Message{}).Where("id IN ? AND status = ?", ids, StatusPending).
		Updates(map[string]any{"status": StatusFailed, "error": errForgotten}).Error; err != nil {
		return 0, fmt.Errorf("staff copies: %w", err)
	}
	res := db.Model(&Message{}).Where("id IN ?", ids).Updates(map[string]any{"text": "", "payload": "{}"})
	if res.Error != nil {
		return 0, fmt.Errorf("staff copies: %w", res.Error)
	}
	return res.RowsAffected, nil
}
