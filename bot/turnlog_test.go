package bot

import (
	"log/slog"
	"strings"
	"testing"
)

func TestTurnLogAddsTheTurnsAttributes(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  func(*slog.Logger)
		want string
	}{
		{"record", func(l *slog.Logger) { l.Info("hi", "k", 1) }, "level=INFO msg=hi channel=tg conv=7 k=1\n"},
		{"with", func(l *slog.Logger) { l.With("w", "x").Warn("hi", "k", 1) }, "level=WARN msg=hi channel=tg conv=7 w=x k=1\n"},
		{"group", func(l *slog.Logger) { l.WithGroup("g").Info("hi", "k", 1) }, "level=INFO msg=hi channel=tg conv=7 g.k=1\n"},
		{"below the level", func(l *slog.Logger) { l.Debug("hi") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf strings.Builder
			h := slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}})
			tc.log(slog.New(&turnLog{h: h, attrs: []slog.Attr{slog.String("channel", "tg"), slog.Uint64("conv", 7)}}))
			if got := buf.String(); got != tc.want {
				t.Errorf("logged %q, want %q", got, tc.want)
			}
		})
	}
}
