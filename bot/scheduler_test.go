package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot/nlu"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// schedNLU understands nothing: these tests are about the scheduler.
type schedNLU struct{}

func (schedNLU) Classify(string) nlu.Result {
	return nlu.Result{Intent: nlu.Unknown, Entities: map[string]string{}}
}

// schedClock is the engine's clock; tests move it by hand.
type schedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *schedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *schedClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// schedEnv is an Engine on real SQLite with a hand-moved clock.
type schedEnv struct {
	*Engine
	db    *models.DB
	clock *schedClock

	mu       sync.Mutex
	notified []*models.Message
	calls    map[string]int // job runs by key
	payloads []string
}

// newSchedEnv builds the engine; jobs registers job kinds on the router.
func newSchedEnv(t *testing.T, jobs func(env *schedEnv, r *Router)) *schedEnv {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, models.Options{Driver: modelstest.Driver(), DSN: modelstest.DSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(db, 64, 0, nil)
	done := make(chan struct{})
	go func() { w.Run(); close(done) }()
	t.Cleanup(func() { w.Stop(); <-done; db.Close() })

	cat, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	env := &schedEnv{db: db, clock: &schedClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}, calls: map[string]int{}}
	r := NewRouter()
	r.Fallback(func(ctx context.Context, c *Context) error { return nil })
	if jobs != nil {
		jobs(env, r)
	}
	env.Engine, err = New(Options{DB: db, Writer: w, Router: r, Catalog: cat, NLU: schedNLU{}, Now: env.clock.Now,
		Notify: func(rows []*models.Message) {
			env.mu.Lock()
			env.notified = append(env.notified, rows...)
			env.mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// ran records a run of the job with key and returns how many runs it had.
func (env *schedEnv) ran(j *Job) int {
	env.mu.Lock()
	defer env.mu.Unlock()
	env.calls[j.Row.Key]++
	env.payloads = append(env.payloads, j.Row.Payload)
	return env.calls[j.Row.Key]
}

func (env *schedEnv) runs(key string) int {
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.calls[key]
}

func (env *schedEnv) notifiedRows() []*models.Message {
	env.mu.Lock()
	defer env.mu.Unlock()
	return append([]*models.Message(nil), env.notified...)
}

func (env *schedEnv) job(t *testing.T, kind, key string) *models.Job {
	t.Helper()
	j, err := env.db.Read().Job(context.Background(), kind, key)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (env *schedEnv) schedule(t *testing.T, kind, key string, in time.Duration, payload string) {
	t.Helper()
	if err := env.Schedule(context.Background(), kind, key, env.clock.Now().Add(in), payload); err != nil {
		t.Fatal(err)
	}
}

func (env *schedEnv) runDue(t *testing.T) int {
	t.Helper()
	n, err := env.RunDueJobs(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (env *schedEnv) pending(t *testing.T) int64 {
	t.Helper()
	n, err := env.db.Read().CountPending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSchedulerRunsJobsWhenDue(t *testing.T) {
	for _, tc := range []struct {
		name       string
		at         []time.Duration // each schedules ("ping", "k1") this far from now
		again      bool            // schedule it once more after the first pass
		advance    time.Duration   // clock moves before the second pass
		wantFirst  int             // jobs run by the first pass
		wantRuns   int
		wantDone   bool
		wantLoaded string // the payload the job ran with
	}{
		{name: "DueNow", at: []time.Duration{0}, wantFirst: 1, wantRuns: 1, wantDone: true, wantLoaded: "p0"},
		{name: "Overdue", at: []time.Duration{-time.Hour}, wantFirst: 1, wantRuns: 1, wantDone: true, wantLoaded: "p0"},
		{name: "Future", at: []time.Duration{time.Minute}, advance: time.Minute - time.Second, wantRuns: 0},
		{name: "FutureThenDue", at: []time.Duration{time.Minute}, advance: time.Minute, wantRuns: 1, wantDone: true, wantLoaded: "p0"},
		{name: "ScheduledTwice", at: []time.Duration{0, -time.Minute}, wantFirst: 1, wantRuns: 1, wantDone: true, wantLoaded: "p0"},
		{name: "ScheduledAgainAfterDone", at: []time.Duration{0}, again: true, advance: time.Hour, wantFirst: 1, wantRuns: 1, wantDone: true, wantLoaded: "p0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newSchedEnv(t, func(env *schedEnv, r *Router) {
				r.Job("ping", func(ctx context.Context, j *Job) error {
					env.ran(j)
					return j.Store().SetSetting(ctx, "ping:"+j.Row.Key, j.Row.Payload)
				})
			})
			for i, at := range tc.at {
				env.schedule(t, "ping", "k1", at, fmt.Sprintf("p%d", i))
			}
			first := env.runDue(t)
			if tc.again {
				env.schedule(t, "ping", "k1", 0, "again")
			}
			env.clock.Advance(tc.advance)
			total := first + env.runDue(t) + env.runDue(t)

			if first != tc.wantFirst {
				t.Errorf("first RunDueJobs = %d; want %d", first, tc.wantFirst)
			}
			if total != tc.wantRuns {
				t.Errorf("RunDueJobs total = %d; want %d", total, tc.wantRuns)
			}
			if got := env.runs("k1"); got != tc.wantRuns {
				t.Errorf("job ran %d times; want %d", got, tc.wantRuns)
			}
			j := env.job(t, "ping", "k1")
			if done := j.DoneAt != nil; done != tc.wantDone {
				t.Errorf("DoneAt = %v; want done %v", j.DoneAt, tc.wantDone)
			}
			if j.Attempts != 0 || j.LastError != "" {
				t.Errorf("Attempts %d, LastError %q; want 0, empty", j.Attempts, j.LastError)
			}
			got, err := env.db.Read().Setting(context.Background(), "ping:k1")
			switch {
			case tc.wantRuns == 0 && !errors.Is(err, models.ErrNotFound):
				t.Errorf("job's write = %q, %v; want none", got, err)
			case tc.wantRuns > 0 && (err != nil || got != tc.wantLoaded):
				t.Errorf("job's write = %q, %v; want %q", got, err, tc.wantLoaded)
			}
		})
	}
}

func TestSchedulerFailedJobRetriesLaterAndRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      func() error
		wantError string
	}{
		{"Error", func() error { return errors.New("boom: carrier API down") }, "boom: carrier API down"},
		{"Panic", func() error { panic("kaboom") }, "panic: kaboom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			env := newSchedEnv(t, func(env *schedEnv, r *Router) {
				r.Job("flaky", func(ctx context.Context, j *Job) error {
					n := env.ran(j)
					conv, err := j.Store().Conversation(ctx, "console", "c1", models.KindCustomer, nil)
					if err != nil {
						return err
					}
					if err := j.Store().SetSetting(ctx, "flaky", fmt.Sprint("run ", n)); err != nil {
						return err
					}
					j.SendTo(conv, fmt.Sprint("message of run ", n))
					if n == 1 {
						return tc.fail()
					}
					return nil
				})
			})
			start := env.clock.Now()
			env.schedule(t, "flaky", "k1", 0, "")

			if n := env.runDue(t); n != 0 {
				t.Errorf("RunDueJobs of a failing job = %d; want 0", n)
			}
			j := env.job(t, "flaky", "k1")
			if j.DoneAt != nil || j.Attempts != 1 || !strings.HasPrefix(j.LastError, tc.wantError) {
				t.Errorf("after failure: DoneAt %v, Attempts %d, LastError %q; want nil, 1, %q...", j.DoneAt, j.Attempts, j.LastError, tc.wantError)
			}
			if want := start.Add(10 * time.Second); !j.RunAt.Equal(want) {
				t.Errorf("RunAt = %v; want %v (retry after backoff)", j.RunAt, want)
			}
			// Everything the failed run wrote is gone.
			if v, err := env.db.Read().Setting(ctx, "flaky"); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("failed run's setting = %q, %v; want ErrNotFound", v, err)
			}
			if _, err := env.db.Read().FindConversation(ctx, "console", "c1"); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("failed run's conversation: err = %v; want ErrNotFound", err)
			}
			if n := env.pending(t); n != 0 {
				t.Errorf("outbox rows after failed run = %d; want 0", n)
			}
			if n := len(env.notifiedRows()); n != 0 {
				t.Errorf("rows notified after failed run = %d; want 0", n)
			}

			// Not before its new time.
			env.clock.Advance(9 * time.Second)
			if n := env.runDue(t); n != 0 || env.runs("k1") != 1 {
				t.Errorf("before RunAt: RunDueJobs = %d, runs %d; want 0, 1", n, env.runs("k1"))
			}
			env.clock.Advance(time.Second)
			if n := env.runDue(t); n != 1 {
				t.Errorf("retry RunDueJobs = %d; want 1", n)
			}
			j = env.job(t, "flaky", "k1")
			if j.DoneAt == nil || j.Attempts != 1 {
				t.Errorf("after retry: DoneAt %v, Attempts %d; want done, 1", j.DoneAt, j.Attempts)
			}
			if v, err := env.db.Read().Setting(ctx, "flaky"); err != nil || v != "run 2" {
				t.Errorf("setting after retry = %q, %v; want %q", v, err, "run 2")
			}
			rows := env.notifiedRows()
			if n := env.pending(t); n != 1 || len(rows) != 1 || rows[0].Text != "message of run 2" {
				t.Errorf("after retry: %d pending, notified %d rows; want 1 row %q", n, len(rows), "message of run 2")
			}
		})
	}
}

// remind is a job that says "reminder <key>" in the key's chat.
func (env *schedEnv) remind(ctx context.Context, j *Job) error {
	env.ran(j)
	conv, err := j.Store().Conversation(ctx, "console", "chat-"+j.Row.Key, models.KindCustomer, nil)
	if err != nil {
		return err
	}
	j.SendTo(conv, "reminder "+j.Row.Key)
	return nil
}

func TestSchedulerJobMessageQueuedOnceUnderConcurrentRuns(t *testing.T) {
	const jobs, runners, passes = 10, 8, 5
	env := newSchedEnv(t, func(env *schedEnv, r *Router) {
		r.Job("remind", env.remind)
	})
	for i := range jobs {
		env.schedule(t, "remind", fmt.Sprint("k", i), 0, "")
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		errs  []error
	)
	startGun := make(chan struct{})
	for range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			for range passes {
				n, err := env.RunDueJobs(context.Background(), 100)
				mu.Lock()
				total += n
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	close(startGun)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if total != jobs {
		t.Errorf("successful runs over all RunDueJobs calls = %d; want %d", total, jobs)
	}
	ctx := context.Background()
	for i := range jobs {
		key := fmt.Sprint("k", i)
		if n := env.runs(key); n != 1 {
			t.Errorf("job %s ran %d times; want 1", key, n)
		}
		if j := env.job(t, "remind", key); j.DoneAt == nil || j.Attempts != 0 {
			t.Errorf("job %s: DoneAt %v, Attempts %d; want done, 0", key, j.DoneAt, j.Attempts)
		}
		conv, err := env.db.Read().FindConversation(ctx, "console", "chat-"+key)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := env.db.Read().Messages(ctx, conv.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].Text != "reminder "+key || ms[0].Status != models.StatusPending {
			t.Errorf("outbox of %s = %+v; want one pending %q", key, ms, "reminder "+key)
		}
	}
	if n := env.pending(t); n != jobs {
		t.Errorf("pending outbox rows = %d; want %d", n, jobs)
	}
	if n := len(env.notifiedRows()); n != jobs {
		t.Errorf("rows notified = %d; want %d", n, jobs)
	}
}

func TestSchedulerUnknownJobKindIsRecordedAsFailed(t *testing.T) {
	env := newSchedEnv(t, func(env *schedEnv, r *Router) {
		r.Job("ping", func(ctx context.Context, j *Job) error { env.ran(j); return nil })
	})
	start := env.clock.Now()
	env.schedule(t, "nosuch", "k1", 0, "")
	env.schedule(t, "ping", "k2", 0, "")

	if n := env.runDue(t); n != 1 {
		t.Errorf("RunDueJobs = %d; want 1 (the known job)", n)
	}
	if env.runs("k2") != 1 {
		t.Errorf("known job ran %d times; want 1: an unknown kind must not block others", env.runs("k2"))
	}
	const wantErr = `no handler for job kind "nosuch"`
	for i, wantAt := range []time.Time{start.Add(10 * time.Second), start.Add(10*time.Second + 20*time.Second)} {
		j := env.job(t, "nosuch", "k1")
		if j.DoneAt != nil || j.Attempts != i+1 || j.LastError != wantErr || !j.RunAt.Equal(wantAt) {
			t.Errorf("pass %d: DoneAt %v, Attempts %d, LastError %q, RunAt %v; want nil, %d, %q, %v",
				i+1, j.DoneAt, j.Attempts, j.LastError, j.RunAt, i+1, wantErr, wantAt)
		}
		env.clock.Advance(j.RunAt.Sub(env.clock.Now()))
		if n := env.runDue(t); n != 0 {
			t.Errorf("RunDueJobs of an unknown kind = %d; want 0", n)
		}
	}
}

func TestSchedulerLoopRunsDueJobsUntilCancelled(t *testing.T) {
	env := newSchedEnv(t, func(env *schedEnv, r *Router) {
		r.Job("ping", func(ctx context.Context, j *Job) error { env.ran(j); return nil })
	})
	env.schedule(t, "ping", "now", 0, "")
	env.schedule(t, "ping", "later", time.Hour, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.RunScheduler(ctx, 10*time.Millisecond, 10) }()

	pollUntil(t, 5*time.Second, func() string {
		if j := env.job(t, "ping", "now"); j.DoneAt == nil {
			return "due job not done"
		}
		return ""
	})
	env.clock.Advance(time.Hour)
	pollUntil(t, 5*time.Second, func() string {
		if j := env.job(t, "ping", "later"); j.DoneAt == nil {
			return "job due after the clock moved not done"
		}
		return ""
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunScheduler = %v; want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunScheduler did not return after cancel")
	}
	for _, key := range []string{"now", "later"} {
		if n := env.runs(key); n != 1 {
			t.Errorf("job %s ran %d times; want 1", key, n)
		}
	}
}

// TestSchedulerJobRunTwiceInABatchQueuesOnce: on SQLite a batch in which a
// function fails after writing is run again, with savepoints, so the job
// beside it runs twice; its message must still be queued once.
func TestSchedulerJobRunTwiceInABatchQueuesOnce(t *testing.T) {
	env := newSchedEnv(t, func(env *schedEnv, r *Router) {
		r.Job("remind", env.remind)
	})
	env.schedule(t, "remind", "k1", 0, "")
	ctx := context.Background()
	w := env.Engine.writer
	// Hold the writer in a batch while the job and a failing write queue
	// up behind it, in that order: the next batch takes both.
	hold, held := make(chan struct{}), make(chan struct{})
	go w.Do(ctx, func(*models.Store) error { close(held); <-hold; return nil })
	<-held
	jobDone := make(chan error, 1)
	go func() { _, err := env.RunDueJobs(ctx, 10); jobDone <- err }()
	waitQueued(t, w, 1)
	boom := errors.New("boom")
	failed := make(chan error, 1)
	go func() {
		failed <- w.Do(ctx, func(s *models.Store) error {
			if err := s.SetSetting(ctx, "written", "then failed"); err != nil {
				return err
			}
			return boom
		})
	}()
	waitQueued(t, w, 2)
	close(hold)
	if err := <-failed; !errors.Is(err, boom) {
		t.Fatalf("failing write: %v", err)
	}
	if err := <-jobDone; err != nil {
		t.Fatal(err)
	}
	if env.db.Dialect() == models.DriverSQLite && env.runs("k1") != 2 {
		t.Errorf("the job ran %d times; the test needs the batch run twice", env.runs("k1"))
	}
	if n := env.pending(t); n != 1 {
		t.Errorf("pending outbox rows = %d; want 1", n)
	}
	if rows := env.notifiedRows(); len(rows) != 1 {
		t.Errorf("rows notified = %d; want 1", len(rows))
	}
}

// waitQueued waits until n requests wait for w.
func waitQueued(t *testing.T, w *Writer, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(w.reqs) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", len(w.reqs), n)
		}
		time.Sleep(time.Millisecond)
	}
}
