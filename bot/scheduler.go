package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kefu-bot/kefu/models"
)

// errJobDone rolls back a job run that another run already finished.
var errJobDone = errors.New("job already done")

// RunScheduler runs due jobs every interval until ctx ends. Jobs live in the
// database (models.Job), so a restart loses none; a job's effects commit
// together with marking it done, so each happens once.
func (e *Engine) RunScheduler(ctx context.Context, interval time.Duration, batch int) error {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	// Replicas on one PostgreSQL: one leader runs the jobs; the others try
	// to take over every tick, which they can as soon as the leader's
	// connection is gone. (A job run twice would still commit once: it is
	// marked done in its own transaction. Leading keeps the others idle.)
	var lead *models.Leadership
	defer func() { lead.Release() }()
	for {
		if lead != nil {
			if err := lead.Check(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("scheduler: lost leadership", "err", err)
				lead.Release()
				lead = nil
			}
		}
		if lead == nil && ctx.Err() == nil {
			l, err := e.db.TryLead(ctx, "scheduler")
			switch {
			case err != nil:
				e.log.Error("scheduler: leader lock", "err", err)
			case l != nil:
				lead = l
				e.log.Info("scheduler: leading")
			}
		}
		if lead != nil {
			if _, err := e.RunDueJobs(ctx, batch); err != nil && ctx.Err() == nil {
				e.log.Error("scheduler", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunDueJobs runs up to limit jobs whose time has come and returns how
// many succeeded.
func (e *Engine) RunDueJobs(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	jobs, err := e.db.Read().DueJobs(ctx, e.now(), limit)
	if err != nil {
		return 0, err
	}
	ok := 0
	for _, row := range jobs {
		if ctx.Err() != nil {
			break
		}
		if e.runJob(ctx, row) {
			ok++
		}
	}
	return ok, nil
}

func (e *Engine) runJob(ctx context.Context, row models.Job) bool {
	log := e.log.With("job", row.ID, "kind", row.Kind, "key", row.Key)
	fn, found := e.router.jobs[row.Kind]
	j := &Job{Row: row, Log: log, Now: e.now()}
	err := e.writer.Do(ctx, func(s *models.Store) error {
		// A fresh sender: a batch may run this twice (models.DB.Batch),
		// and the rows of a rolled-back run must not be queued again.
		j.sender = sender{store: s, engine: e}
		if !found {
			return fmt.Errorf("no handler for job kind %q", row.Kind)
		}
		done, err := s.FinishJob(ctx, row.ID)
		if err != nil {
			return err
		}
		if !done {
			return errJobDone
		}
		if err := safely(func() error { return fn(ctx, j) }); err != nil {
			return err
		}
		return s.QueueOutbound(ctx, j.rows)
	})
	switch {
	case err == nil:
		e.notify(j.rows)
		e.metrics.JobsRun.WithLabelValues(row.Kind, "ok").Inc()
		return true
	case errors.Is(err, errJobDone):
		return false
	}
	e.metrics.JobsRun.WithLabelValues(row.Kind, "error").Inc()
	attempts := row.Attempts + 1
	next := e.now().Add(backoff(10*time.Second, time.Hour, attempts))
	log.Error("job failed; will retry", "attempts", attempts, "next", next, "err", err)
	if werr := e.writer.Do(ctx, func(s *models.Store) error {
		return s.RetryJob(ctx, row.ID, attempts, next, err.Error())
	}); werr != nil {
		log.Error("record job retry failed", "err", werr)
	}
	return false
}

// Schedule is what handlers call (through c.Store()) to plan work; this
// helper exists for adapters and commands outside a turn.
func (e *Engine) Schedule(ctx context.Context, kind, key string, at time.Time, payload string) error {
	return e.writer.Do(ctx, func(s *models.Store) error {
		_, err := s.ScheduleJob(ctx, kind, key, at, payload)
		return err
	})
}
