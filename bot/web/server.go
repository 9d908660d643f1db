// Package web is kefu's HTTP face: health and metrics, mounted handlers
// (webhooks, the admin API), and the web chat channel with the staff inbox
// (Site).
//
// web may import bot and models, nothing else of kefu.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Options configure the server.
type Options struct {
	Addr string
	// Health reports whether kefu can serve: nil when the database answers
	// and the last commit succeeded.
	Health  func(ctx context.Context) error
	Metrics http.Handler
	// Mount adds handlers by pattern (e.g. "POST /telegram/webhook"), for
	// channels that receive updates over HTTP.
	Mount map[string]http.Handler
	Log   *slog.Logger
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration
	// OnShutdown run when shutdown starts, to end long-lived responses
	// (server-sent events) that would otherwise hold it up.
	OnShutdown []func()
}

// Server serves kefu's HTTP endpoints.
type Server struct {
	o   Options
	mux *http.ServeMux
	ln  net.Listener
}

// New returns a server with every route mapped (see routes).
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	s := &Server{o: o, mux: http.NewServeMux()}
	s.routes()
	return s
}

// routes maps the whole HTTP surface.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	// Liveness: the process serves HTTP. A database outage turns /healthz
	// (readiness) red but must not get the process restarted in a loop.
	s.mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, `{"status":"alive"}`)
	})
	if s.o.Metrics != nil {
		s.mux.Handle("GET /metrics", s.o.Metrics)
	}
	for pattern, h := range s.o.Mount {
		s.mux.Handle(pattern, h)
	}
}

// Handler is the server's handler, for tests.
func (s *Server) Handler() http.Handler { return s.mux }

// Listen binds the address, so callers learn the port (":0") and start-up
// errors before Serve.
func (s *Server) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", s.o.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.o.Addr, err)
	}
	s.ln = ln
	return ln.Addr(), nil
}

// Serve serves until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if _, err := s.Listen(); err != nil {
			return err
		}
	}
	// No WriteTimeout: event streams stay open; a slow client is cut by the
	// read timeouts and by the stream code itself.
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(s.o.Log.Handler(), slog.LevelWarn)}
	for _, f := range s.o.OnShutdown {
		srv.RegisterOnShutdown(f)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: %w", err)
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if s.o.Health != nil {
		if err := s.o.Health(ctx); err != nil {
			s.o.Log.Warn("health check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, `{"status":"unavailable"}`)
			return
		}
	}
	fmt.Fprintln(w, `{"status":"ok"}`)
}
