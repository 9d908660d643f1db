package handlers_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/handlers/campaign"
	"github.com/kefu-bot/kefu/models"
)

// BenchmarkSegmentRefresh refreshes the segments of 5,000 customers with
// 15,000 orders on SQLite: the nightly job's work, in one transaction.
func BenchmarkSegmentRefresh(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	db, err := models.Open(ctx, models.Options{DSN: filepath.Join(b.TempDir(), "kefu.db"), Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var in []models.OrderInput
	for c := range 5000 {
		for o := range 3 {
			in = append(in, models.OrderInput{Ref: fmt.Sprintf("B%d-%d", c, o), CustomerRef: fmt.Sprintf("C%d", c),
				Status: models.OrderDelivered, Total: int64(1000 + (c*7919+o*31)%90000), Currency: "CNY",
				PlacedAt: now.AddDate(0, 0, -((c*13 + o*41) % 400))})
		}
	}
	for i := 0; i < len(in); i += 1000 {
		if err := db.Write(ctx, func(s *models.Store) error { _, err := s.UpsertOrders(ctx, in[i:i+1000], "import"); return err }); err != nil {
			b.Fatal(err)
		}
	}
	ins := handlers.NewInsight(handlers.InsightOptions{}, time.UTC)
	b.ResetTimer()
	for range b.N {
		err := db.Write(ctx, func(s *models.Store) error { _, err := ins.Refresh(ctx, s, now); return err })
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCampaignRun picks the audience of a campaign among 2,000
// chatting customers and schedules their sends, in one transaction.
func BenchmarkCampaignRun(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	db, err := models.Open(ctx, models.Options{DSN: filepath.Join(b.TempDir(), "kefu.db"), Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	err = db.Write(ctx, func(s *models.Store) error {
		for i := range 2000 {
			user := fmt.Sprint("u", i)
			c, _, _, err := s.ResolveIdentity(ctx, models.Contact{Channel: "telegram", ExternalID: user, Name: user})
			if err != nil {
				return err
			}
			if _, err := s.Conversation(ctx, "telegram", user, models.KindCustomer, &c.ID); err != nil {
				return err
			}
			if err := s.SetConsent(ctx, c.ID, models.ConsentYes, "button"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	d := mustCampaign(&testing.T{}, "name: hello\nschedule: {daily: \"09:00\"}\nmessage: {en: \"Hi {{.Name}}\", zh: \"{{.Name}}你好\"}\n")
	ins := handlers.NewInsight(handlers.InsightOptions{Campaigns: []*campaign.Definition{d}}, time.UTC)
	b.ResetTimer()
	for range b.N {
		err := db.Write(ctx, func(s *models.Store) error {
			r, err := ins.Run(ctx, s, "hello", now)
			if err == nil && r.Customers != 2000 {
				err = fmt.Errorf("run reached %d; want 2000", r.Customers)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
