package models

import (
	"context"
	"testing"
	"time"
)

func TestBringForward(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	db := openPrivacy(t, &now)
	err := db.Write(ctx, func(s *Store) error {
		for _, k := range []string{"consent:7:csat:T-1:1", "consent:7:c:x:2", "consent:71:csat:T-2:1", "other:7:x"} {
			if _, err := s.ScheduleJob(ctx, "survey.send", k, now.Add(time.Hour), "{}"); err != nil {
				return err
			}
		}
		n, err := s.BringForward(ctx, "consent:7:", now)
		if err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("moved %d jobs; want 2 (customer 7's, not 71's or others)", n)
		}
		due, err := s.DueJobs(ctx, now, 10)
		if err != nil {
			return err
		}
		if len(due) != 2 || due[0].Key != "consent:7:csat:T-1:1" || due[1].Key != "consent:7:c:x:2" {
			t.Errorf("due = %+v", due)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
