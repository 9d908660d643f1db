package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/clientip"
	"github.com/kefu-bot/kefu/models"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed locales/*.yaml
var localeFS embed.FS

// Locales are the web pages' texts (EN/ZH), for catalogue checks.
func Locales() fs.FS { return localeFS }

// Engine runs turns; *bot.Engine is one.
type Engine interface {
	Handle(ctx context.Context, in bot.Inbound) (bot.Result, error)
}

// PanelSource adds a section to the inbox's customer panel: orders,
// survey scores, anything another feature knows about a customer. It runs
// on the read pool; it returns nil when it has nothing to show.
type PanelSource interface {
	Panel(ctx context.Context, s *models.Store, customerID uint64, lang string) (*PanelSection, error)
}

// PanelSection is a titled list of label/value rows, already in lang.
type PanelSection struct {
	Title string
	Rows  []PanelRow
}

// PanelRow is one line of a panel section.
type PanelRow struct{ Label, Value string }

// SiteOptions configure the web chat and the staff inbox.
type SiteOptions struct {
	Engine Engine
	DB     *models.DB
	// CookieSecret signs visitor cookies: at least 32 bytes.
	CookieSecret []byte
	// PublicURL is where browsers reach kefu ("https://help.shop.com");
	// https makes cookies Secure and embeddable. Empty: the request's host.
	PublicURL   string
	ShopName    string
	DefaultLang string
	Location    *time.Location
	Panels      []PanelSource
	Log         *slog.Logger
	Now         func() time.Time
	// Dashboard gives the staff dashboard's figures and DashboardChart
	// draws its charts (DashboardCharts) as SVG, its texts translated by t
	// (catalog ids, in the reader's language); without both, there is no
	// dashboard.
	Dashboard      func(ctx context.Context) (DashboardView, error)
	DashboardChart func(ctx context.Context, w io.Writer, name string, t func(id string) string) error
	// Proxies finds a request's client address behind trusted proxies
	// (http.trusted_proxies), for the sign-in throttle and logs. The zero
	// value trusts none: the connecting address is the client.
	Proxies clientip.Resolver
}

// Site is the web chat and the staff inbox. Its Channel delivers the
// engine's messages to open pages; Mount gives the HTTP routes.
type Site struct {
	o        SiteOptions
	hub      *hub
	ch       *Channel
	cat      *bot.Catalog
	tpl      *template.Template
	sign     signer
	sessions sessions
	limit    loginThrottle
	secure   bool // cookies only over https
	// embeddable: the chat may be framed by other sites (https only, as
	// browsers send cookies to frames only with SameSite=None; Secure).
	embeddable bool
	done       chan struct{} // closed by Close: event streams end
	// assets is a digest of the static files, in their URLs, so browsers
	// that cached an older version fetch the new one.
	assets    string
	closeOnce sync.Once
	// relay reaches the pages open on other replicas (PostgreSQL); nil on
	// SQLite. origin names this Site in its notices.
	relay     relay
	origin    string
	stopRelay context.CancelFunc
	relayDone chan struct{}
}

// NewSite builds the web chat and inbox.
func NewSite(o SiteOptions) (*Site, error) {
	if o.Engine == nil || o.DB == nil {
		return nil, errors.New("web: site needs an engine and a database")
	}
	if len(o.CookieSecret) < 32 {
		return nil, errors.New("web: cookie secret must be at least 32 bytes")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.DefaultLang == "" {
		o.DefaultLang = bot.LangEN
	}
	cat, err := bot.NewCatalog(localeFS)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s := &Site{o: o, hub: newHub(), cat: cat, sign: signer{key: o.CookieSecret},
		sessions: sessions{db: o.DB}, limit: loginThrottle{db: o.DB}, done: make(chan struct{})}
	s.ch = &Channel{s: s}
	// Built-in panel sections first, then the ones passed in.
	s.o.Panels = append([]PanelSource{ordersPanel{s}, surveysPanel{s}}, o.Panels...)
	if s.assets, err = digest(staticFS); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if u, err := url.Parse(o.PublicURL); err == nil && u.Scheme == "https" {
		s.secure, s.embeddable = true, true
	}
	s.tpl, err = template.New("").Funcs(template.FuncMap{
		"join": strings.Join,
		"args": func(p *page, ref string) actArgs { return actArgs{P: p, Ref: ref} },
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	if o.DB.Dialect() == models.DriverPostgres {
		// Several replicas may share the database: tell each other.
		if s.relay, err = o.DB.Notifier("web"); err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		s.origin = randomToken(9)
		s.startRelay()
	}
	return s, nil
}

// Close ends the open event streams, so a graceful shutdown need not wait
// for browsers to hang up, and stops listening to other replicas. Pass it
// in web.Options.OnShutdown.
func (s *Site) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.stopRelay != nil {
			s.stopRelay()
			<-s.relayDone
		}
	})
}

// Channel is the web chat's bot.Channel, for the dispatcher.
func (s *Site) Channel() *Channel { return s.ch }

// Mount returns the site's routes for web.Options.Mount. Every unsafe
// request must come from kefu's own pages (http.CrossOriginProtection:
// Sec-Fetch-Site / Origin); inbox forms also carry a per-session token.
func (s *Site) Mount() map[string]http.Handler {
	cop := http.NewCrossOriginProtection()
	if s.o.PublicURL != "" {
		if u, err := url.Parse(s.o.PublicURL); err == nil {
			_ = cop.AddTrustedOrigin(u.Scheme + "://" + u.Host)
		}
	}
	guard := func(h http.HandlerFunc) http.Handler { return cop.Handler(h) }
	static := http.FileServerFS(staticFS)
	return map[string]http.Handler{
		"GET /{$}":                          http.RedirectHandler("/chat", http.StatusFound),
		"GET /static/":                      cacheFor(time.Hour, static),
		"GET /chat":                         http.HandlerFunc(s.chatPage),
		"GET /chat/events":                  http.HandlerFunc(s.chatEvents),
		"POST /chat/send":                   guard(s.chatSend),
		"GET /chat/embed.js":                http.HandlerFunc(s.embedJS),
		"GET /inbox":                        http.HandlerFunc(s.inboxPage),
		"GET /inbox/events":                 http.HandlerFunc(s.inboxEvents),
		"POST /inbox/act":                   guard(s.inboxAct),
		"GET /inbox/login":                  http.HandlerFunc(s.loginPage),
		"POST /inbox/login":                 guard(s.login),
		"POST /inbox/logout":                guard(s.logout),
		"GET /inbox/dashboard":              http.HandlerFunc(s.dashboardPage),
		"GET /inbox/dashboard/chart/{name}": http.HandlerFunc(s.dashboardChart),
	}
}

func digest(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12], err
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	v := fmt.Sprintf("public, max-age=%d", int(d.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", v)
		h.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	s     *Site
	Lang  string
	Shop  string
	Title string
	CSRF  string
	Staff string
	Embed bool // the chat in a frame: links keep ?embed=1
	Data  any
	// frameAncestors is who may frame the page (CSP): nobody, by default.
	frameAncestors string
}

// T renders a catalogue text in the page's language.
func (p *page) T(id string, kv ...any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok {
			data[k] = kv[i+1]
		}
	}
	return p.s.cat.T(p.Lang, id, data)
}

// Assets is the static files' version, for their URLs.
func (p *page) Assets() string { return p.s.assets }

// When shows a time in the shop's zone.
func (p *page) When(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(p.s.o.Location).Format("01-02 15:04")
}

// WhenP shows an optional time.
func (p *page) WhenP(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return p.When(*t)
}

// NewID is a fresh id for a form, so resubmitting it is not run twice.
func (p *page) NewID() string { return randomToken(12) }

// actArgs are what an inbox action form's hidden fields need.
type actArgs struct {
	P   *page
	Ref string
}

func (s *Site) newPage(lang, title string) *page {
	return &page{s: s, Lang: lang, Shop: s.o.ShopName, Title: title}
}

func (s *Site) render(w http.ResponseWriter, name string, p *page) {
	s.renderCode(w, http.StatusOK, name, p)
}

// renderCode renders into a buffer first, so a template error is a clean
// 500 rather than half a page.
func (s *Site) renderCode(w http.ResponseWriter, code int, name string, p *page) {
	var b bytes.Buffer
	if err := s.tpl.ExecuteTemplate(&b, name, p); err != nil {
		s.o.Log.Error("web: render", "template", name, "err", err)
		http.Error(w, "Something went wrong. Please try again. 出错了，请稍后再试。", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	fa := p.frameAncestors
	if fa == "" {
		fa = "'none'"
	}
	// Pages load only kefu's own scripts, styles and streams.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors "+fa)
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

const langCookie = "kefu_lang"

// pickedLang is the language the person chose with ?lang= (remembered in a
// cookie, so the inbox's partial reloads keep it), or "".
func (s *Site) pickedLang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == bot.LangEN || l == bot.LangZH {
		if w != nil {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
				SameSite: http.SameSiteLaxMode, Secure: s.secure || r.TLS != nil, HttpOnly: true})
		}
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == bot.LangEN || c.Value == bot.LangZH) {
		return c.Value
	}
	return ""
}

// langOf picks a page language: the one picked, else the browser's first
// choice kefu has, else the shop's.
func (s *Site) langOf(w http.ResponseWriter, r *http.Request) string {
	if l := s.pickedLang(w, r); l != "" {
		return l
	}
	if l := s.cat.Match(browserLocale(r)); l != "" {
		return l
	}
	return s.o.DefaultLang
}

// browserLocale is the first tag of Accept-Language ("zh-CN").
func browserLocale(r *http.Request) string {
	al := r.Header.Get("Accept-Language")
	tag, _, _ := strings.Cut(al, ",")
	tag, _, _ = strings.Cut(tag, ";")
	return strings.TrimSpace(tag)
}

// serveEvents streams SSE to w: first the catch-up from replay, then the
// live events, with a heartbeat so proxies keep the connection.
func (s *Site) serveEvents(w http.ResponseWriter, r *http.Request, live <-chan event, replay []event) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	fmt.Fprint(w, "retry: 2000\n\n")
	for _, e := range replay {
		writeEvent(w, e)
	}
	fl.Flush()
	beat := time.NewTicker(20 * time.Second)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return // shutting down: the page reconnects to the next process
		case e, ok := <-live:
			if !ok {
				return // fell behind: the page reconnects and catches up
			}
			writeEvent(w, e)
			fl.Flush()
		case <-beat.C:
			fmt.Fprint(w, ": beat\n\n")
			fl.Flush()
		}
	}
}

func writeEvent(w http.ResponseWriter, e event) {
	if e.ID != 0 {
		fmt.Fprintf(w, "id: %d\n", e.ID)
	}
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Name, e.Data)
}
