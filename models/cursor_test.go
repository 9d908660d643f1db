package models_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
)

func TestCursorsOnlyMoveForward(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	advance := func(ids map[string]string) {
		t.Helper()
		if err := db.Write(ctx, func(s *models.Store) error { return s.AdvanceCursors(ctx, "discord", ids) }); err != nil {
			t.Fatal(err)
		}
	}
	advance(map[string]string{"dm1": "1000", "dm2": "999999999999999999"})
	advance(map[string]string{"dm1": "999", "dm2": "1300000000000000000", "th": "5"})
	advance(map[string]string{"dm1": "1000"})
	advance(nil)
	got, err := db.Read().Cursors(ctx, "discord", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"dm1": "1000", "dm2": "1300000000000000000", "th": "5"}
	if !maps.Equal(got, want) {
		t.Errorf("cursors = %v, want %v", got, want)
	}
	if got, _ := db.Read().Cursors(ctx, "discord", time.Now().Add(time.Hour)); len(got) != 0 {
		t.Errorf("cursors since the future = %v, want none", got)
	}
	if got, _ := db.Read().Cursors(ctx, "telegram", time.Time{}); len(got) != 0 {
		t.Errorf("other channel's cursors = %v", got)
	}
	if _, err := db.Read().InboundMessage(ctx, "discord", "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("InboundMessage of an unknown id: %v, want ErrNotFound", err)
	}
}

// TestMarkUnreachableByChat: on Discord the chat (a DM channel) is not the
// user's id; the identity is found through the chat's conversation.
func TestMarkUnreachableByChat(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	var ann, bo *models.Identity
	err := db.Write(ctx, func(s *models.Store) error {
		var err error
		var c *models.Customer
		if c, ann, _, err = s.ResolveIdentity(ctx, models.Contact{Channel: "discord", ExternalID: "u1"}); err != nil {
			return err
		}
		if _, err := s.Conversation(ctx, "discord", "dm1", models.KindCustomer, &c.ID); err != nil {
			return err
		}
		if _, bo, _, err = s.ResolveIdentity(ctx, models.Contact{Channel: "telegram", ExternalID: "55"}); err != nil {
			return err
		}
		if err := s.MarkUnreachable(ctx, "discord", "dm1"); err != nil {
			return err
		}
		return s.MarkUnreachable(ctx, "telegram", "55")
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []*models.Identity{ann, bo} {
		ids, err := db.Read().Identities(ctx, id.CustomerID)
		if err != nil || len(ids) != 1 || !ids[0].Unreachable {
			t.Errorf("%s:%s: %+v, %v; want unreachable", id.Channel, id.ExternalID, ids, err)
		}
	}
}
