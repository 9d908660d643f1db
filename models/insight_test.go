package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

func TestCampaignAudience(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	db, err := models.Open(ctx, models.Options{Driver: modelstest.Driver(), DSN: modelstest.DSN(t), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ids := map[string]uint64{}
	err = db.Write(ctx, func(s *models.Store) error {
		for _, n := range []string{"ann", "bob", "cat", "dan"} {
			c, _, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: "telegram", ExternalID: n, Name: n})
			if err != nil {
				return err
			}
			ids[n] = c.ID
			if n != "cat" { // cat never chatted
				if _, err := s.Conversation(ctx, "telegram", n, models.KindCustomer, &c.ID); err != nil {
					return err
				}
			}
		}
		if err := s.SetOptOut(ctx, ids["ann"], models.TopicMarketing, true); err != nil {
			return err
		}
		if err := s.SetConsent(ctx, ids["ann"], models.ConsentNo, "/stop"); err != nil {
			return err
		}
		if err := s.MarkUnreachable(ctx, "telegram", "bob"); err != nil {
			return err
		}
		for i, d := range []int{10, 2} {
			if _, err := s.CreateCampaignSend(ctx, &models.CampaignSend{Key: "k" + string(rune('a'+i)), Campaign: "c", Occurrence: "o",
				CustomerID: ids["dan"], SentAt: now.AddDate(0, 0, -d)}); err != nil {
				return err
			}
		}
		return s.SaveSegments(ctx, []models.CustomerSegment{{CustomerID: ids["dan"], Value: "high", Stage: "active", ComputedAt: now}}, "2026-11-23")
	})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := db.Read().CampaignAudience(ctx, 0, now.AddDate(0, 0, -7))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("audience = %d members; want ann, bob, dan (cat never chatted)", len(ms))
	}
	ann, bob, dan := ms[0], ms[1], ms[2]
	if !ann.OptedOut || ann.Consent != models.ConsentNo || !ann.Reachable || ann.Segment != nil {
		t.Errorf("ann = %+v", ann)
	}
	if bob.Reachable || bob.OptedOut || bob.Conversation.ChatID != "bob" {
		t.Errorf("bob = %+v; want unreachable, his chat", bob)
	}
	if !dan.LastCampaign.Equal(now.AddDate(0, 0, -2)) || dan.Segment == nil || dan.Segment.Value != "high" {
		t.Errorf("dan = last %s, segment %+v; want the send 2 days ago and his segment", dan.LastCampaign, dan.Segment)
	}
	one, err := db.Read().CampaignAudience(ctx, ids["dan"], now.AddDate(0, 0, -1))
	if err != nil || len(one) != 1 || one[0].Customer.ID != ids["dan"] || !one[0].LastCampaign.IsZero() {
		t.Errorf("only dan, cap 1 day = %+v, %v; want dan with no send inside the cap", one, err)
	}
}

// TestSaveSegmentsTierSince: the day a tier was first seen stays while
// the tier does; a new tier starts a new date; the day's snapshot is
// replaced, not added to.
func TestSaveSegmentsTierSince(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	day1 := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	var id uint64
	save := func(tier string, at time.Time, stage string) {
		t.Helper()
		err := db.Write(ctx, func(s *models.Store) error {
			if id == 0 {
				c, _, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: "console", ExternalID: "a", Name: "a"})
				if err != nil {
					return err
				}
				id = c.ID
			}
			return s.SaveSegments(ctx, []models.CustomerSegment{{CustomerID: id, Tier: tier, Stage: stage, Value: "ordinary", ComputedAt: at}},
				at.Format(time.DateOnly))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	since := func() time.Time {
		t.Helper()
		g, err := db.Read().CustomerSegment(ctx, id)
		if err != nil || g.TierSince == nil {
			t.Fatalf("segment = %+v, %v", g, err)
		}
		return *g.TierSince
	}
	save("gold", day1, "new")
	save("gold", day1.AddDate(0, 3, 0), "active")
	if got := since(); !got.Equal(day1) {
		t.Errorf("tier since after a second refresh = %s; want %s", got, day1)
	}
	save("silver", day1.AddDate(0, 4, 0), "active")
	save("silver", day1.AddDate(0, 4, 0), "at_risk") // the same day again
	if got := since(); !got.Equal(day1.AddDate(0, 4, 0)) {
		t.Errorf("tier since after a change = %s; want %s", got, day1.AddDate(0, 4, 0))
	}
	d, counts, err := db.Read().Snapshot(ctx, "2026-05-31")
	if err != nil || d != "2026-05-10" || counts["stage/at_risk"] != 1 || counts["stage/active"] != 0 {
		t.Errorf("snapshot = %s %v, %v; want 2026-05-10 with at_risk 1 only", d, counts, err)
	}
	if d, _, err := db.Read().Snapshot(ctx, "2025-12-31"); err != nil || d != "" {
		t.Errorf("snapshot before any = %q, %v; want none", d, err)
	}
}
