package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm/clause"
)

// ScheduleJob stores timed work. Scheduling a (kind, key) that already
// exists changes nothing and reports false, so callers can schedule
// idempotently from every turn.
func (s *Store) ScheduleJob(ctx context.Context, kind, key string, runAt time.Time, payload string) (bool, error) {
	j := Job{Kind: kind, Key: key, RunAt: runAt.UTC(), Payload: payload, CreatedAt: s.Now()}
	res := s.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&j)
	if res.Error != nil {
		return false, fmt.Errorf("schedule %s %s: %w", kind, key, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// CancelJob marks a pending job done without running it.
func (s *Store) CancelJob(ctx context.Context, kind, key string) error {
	err := s.q(ctx).Model(&Job{}).Where("kind = ? AND key = ? AND done_at IS NULL", kind, key).
		Update("done_at", s.Now()).Error
	if err != nil {
		return fmt.Errorf("cancel %s %s: %w", kind, key, err)
	}
	return nil
}

// BringForward makes the pending jobs whose key starts with prefix due at
// now (if they were due later), and reports how many it moved.
func (s *Store) BringForward(ctx context.Context, prefix string, now time.Time) (int64, error) {
	esc := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(prefix)
	res := s.q(ctx).Model(&Job{}).Where(`key LIKE ? ESCAPE '\' AND done_at IS NULL AND run_at > ?`, esc+"%", now.UTC()).
		Update("run_at", now.UTC())
	if res.Error != nil {
		return 0, fmt.Errorf("bring forward %s: %w", prefix, res.Error)
	}
	return res.RowsAffected, nil
}

// DueJobs returns pending jobs whose time has come, earliest first.
func (s *Store) DueJobs(ctx context.Context, now time.Time, limit int) ([]Job, error) {
	var out []Job
	err := s.q(ctx).Where("done_at IS NULL AND run_at <= ?", now.UTC()).Order("run_at, id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("due jobs: %w", err)
	}
	return out, nil
}

// FinishJob marks a job done. It reports false if it was already done (by
// an earlier run), so the caller can roll its work back.
func (s *Store) FinishJob(ctx context.Context, id uint64) (bool, error) {
	res := s.q(ctx).Model(&Job{}).Where("id = ? AND done_at IS NULL", id).Update("done_at", s.Now())
	if res.Error != nil {
		return false, fmt.Errorf("finish job %d: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// RetryJob records a failed run and when to try again.
func (s *Store) RetryJob(ctx context.Context, id uint64, attempts int, next time.Time, reason string) error {
	err := s.q(ctx).Model(&Job{}).Where("id = ?", id).
		Updates(map[string]any{"attempts": attempts, "run_at": next.UTC(), "last_error": truncate(reason, 255)}).Error
	if err != nil {
		return fmt.Errorf("retry job %d: %w", id, err)
	}
	return nil
}

// Job returns a job by kind and key.
func (s *Store) Job(ctx context.Context, kind, key string) (*Job, error) {
	var j Job
	if err := s.q(ctx).Where("kind = ? AND key = ?", kind, key).Take(&j).Error; err != nil {
		return nil, fmt.Errorf("job %s %s: %w", kind, key, notFound(err))
	}
	return &j, nil
}
