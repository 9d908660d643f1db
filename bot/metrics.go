package bot

import "github.com/prometheus/client_golang/prometheus"

// Metrics are kefu's Prometheus metrics. They live on a registry passed in,
// never the global one, so tests and several engines in one process do not
// collide.
type Metrics struct {
	MessagesIn   *prometheus.CounterVec   // channel
	MessagesOut  *prometheus.CounterVec   // channel
	Duplicates   *prometheus.CounterVec   // channel
	TurnLatency  prometheus.Histogram     // seconds, Handle entry to commit
	SendErrors   *prometheus.CounterVec   // channel, reason
	BatchSize    prometheus.Histogram     // turns per transaction
	CommitErrors prometheus.Counter       //
	JobsRun      *prometheus.CounterVec   // kind, result
	Intents      *prometheus.CounterVec   // intent
	SendLatency  *prometheus.HistogramVec // channel
	Events       *prometheus.CounterVec   // event: domain events handlers count (sla.warning, sla.breach, ticket.opened…)
}

// NewMetrics creates the metrics and registers them on reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		MessagesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_messages_in_total", Help: "Inbound messages stored, by channel.",
		}, []string{"channel"}),
		MessagesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_messages_out_total", Help: "Outbound messages delivered, by channel.",
		}, []string{"channel"}),
		Duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_messages_duplicate_total", Help: "Redelivered inbound updates dropped, by channel.",
		}, []string{"channel"}),
		TurnLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kefu_turn_duration_seconds", Help: "Time from receiving a message to its turn being committed.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		SendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_send_errors_total", Help: "Failed send attempts, by channel and reason (rate_limited, unreachable, permanent, transient).",
		}, []string{"channel", "reason"}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kefu_commit_batch_size", Help: "Units of work per database transaction (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		CommitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kefu_commit_errors_total", Help: "Transactions that failed to commit.",
		}),
		JobsRun: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_jobs_total", Help: "Scheduled jobs run, by kind and result.",
		}, []string{"kind", "result"}),
		Intents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_intents_total", Help: "Classified free-text messages, by intent.",
		}, []string{"intent"}),
		SendLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kefu_send_duration_seconds", Help: "Time a channel took to deliver one message.",
			Buckets: prometheus.DefBuckets,
		}, []string{"channel"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_events_total", Help: "Domain events, by name (sla.warning, sla.breach, ticket.opened, ticket.reopened, ticket.autoclosed).",
		}, []string{"event"}),
	}
	if reg != nil {
		reg.MustRegister(m.MessagesIn, m.MessagesOut, m.Duplicates, m.TurnLatency, m.SendErrors,
			m.BatchSize, m.CommitErrors, m.JobsRun, m.Intents, m.SendLatency, m.Events)
	}
	return m
}
