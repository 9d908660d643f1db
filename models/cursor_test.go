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
