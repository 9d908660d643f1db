package bot

import (
	"context"
	"errors"
	"sync"

	"github.com/kefu-bot/kefu/models"
)

// ErrStopped is returned for work submitted after the Writer stopped.
var ErrStopped = errors.New("writer stopped")

// Writer is kefu's one write path. Callers submit functions; the Writer runs
// whatever is waiting in one transaction, each function as if in its own
// savepoint (group commit, models.DB.Batch), and answers each caller after
// the commit. Under load a transaction carries many turns; alone, a turn
// commits at once.
type Writer struct {
	db      *models.DB
	batch   int
	reqs    chan *writeReq
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	metrics *Metrics
	loops   int // batches committed at once (SetConcurrency)

	mu      sync.Mutex
	lastErr error // the last commit error, nil once a commit succeeds
}

type writeReq struct {
	ctx  context.Context
	fn   func(*models.Store) error
	done chan error
}

// NewWriter returns a Writer for db that puts at most batch functions in a
// transaction. Start it with Run.
func NewWriter(db *models.DB, batch, queue int, m *Metrics) *Writer {
	if batch <= 0 {
		batch = 64
	}
	if queue <= 0 {
		queue = 4096
	}
	return &Writer{db: db, batch: batch, reqs: make(chan *writeReq, queue), stop: make(chan struct{}), done: make(chan struct{}), metrics: m}
}

// Do runs fn in a transaction and returns its error, or the commit's. fn
// may run more than once (a batch is run again when another function in
// it fails after writing): it must start afresh each time.
func (w *Writer) Do(ctx context.Context, fn func(*models.Store) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case <-w.stop:
		return ErrStopped
	default:
	}
	select {
	case w.reqs <- r:
	case <-w.stop:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-w.done:
		// Run drains the queue before it closes done; a request still
		// unanswered here was never taken.
		select {
		case err := <-r.done:
			return err
		default:
			return ErrStopped
		}
	}
}

// SetConcurrency makes Run commit up to n batches at once (default 1).
// Call it before Run. On PostgreSQL, which locks rows rather than the
// database, cmd/kefu sets it to the writer pool's size
// (models.DB.WriteConns): every round trip to the server is time another
// batch can use. Turns of one chat still never overlap: the engine runs
// them one at a time, and across replicas they take the chat's lock.
func (w *Writer) SetConcurrency(n int) { w.loops = max(1, min(n, w.db.WriteConns())) }

// Run commits submitted work until Stop, then drains what is queued.
func (w *Writer) Run() {
	defer close(w.done)
	var wg sync.WaitGroup
	for range max(1, w.loops) {
		wg.Add(1)
		go func() { defer wg.Done(); w.loop() }()
	}
	wg.Wait()
}

func (w *Writer) loop() {
	buf := make([]*writeReq, 0, w.batch)
	for {
		var first *writeReq
		select {
		case first = <-w.reqs:
		case <-w.stop:
			// Drain: everything accepted before Stop still commits.
			for {
				select {
				case r := <-w.reqs:
					w.commit(append(buf[:0], r))
				default:
					return
				}
			}
		}
		buf = append(buf[:0], first)
	fill:
		for len(buf) < w.batch {
			select {
			case r := <-w.reqs:
				buf = append(buf, r)
			default:
				break fill
			}
		}
		w.commit(buf)
	}
}

func (w *Writer) commit(reqs []*writeReq) {
	fns := make([]func(*models.Store) error, len(reqs))
	for i, r := range reqs {
		fns[i] = func(s *models.Store) error {
			if err := r.ctx.Err(); err != nil {
				return err
			}
			return safely(func() error { return r.fn(s) })
		}
	}
	// The batch uses a background context: a caller that gave up must not
	// abort the other callers' transaction.
	errs := w.db.Batch(context.Background(), fns)
	var commitErr error
	for _, err := range errs {
		if err != nil && isCommitErr(err) {
			commitErr = err
		}
	}
	// Health first, then the callers: one that saw its turn fail must not
	// find the writer still reporting healthy.
	w.mu.Lock()
	w.lastErr = commitErr
	w.mu.Unlock()
	for i, r := range reqs {
		r.done <- errs[i]
	}
	if w.metrics != nil {
		w.metrics.BatchSize.Observe(float64(len(reqs)))
		if commitErr != nil {
			w.metrics.CommitErrors.Inc()
		}
	}
}

// Err returns the last commit error, nil when the last commit succeeded.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// Stop makes Run drain the queue and return; Do fails with ErrStopped from
// then on. Stop waits for Run to finish.
func (w *Writer) Stop() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

// isCommitErr reports an error that means the database stores nothing now:
// a failed commit, or the storage itself failing (disk full, read-only).
func isCommitErr(err error) bool {
	return errors.Is(err, models.ErrCommit) || errors.Is(err, models.ErrStorage)
}
