package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// staff returns the signed-in staff member's session, or nil. If the
// database cannot say, it answers 500 and ok is false: the caller stops.
func (s *Site) staff(w http.ResponseWriter, r *http.Request) (ss *staffSession, ok bool) {
	c, err := r.Cookie(staffCookie)
	if err != nil {
		return nil, true
	}
	ss, err = s.sessions.get(r.Context(), c.Value, s.o.Now())
	if err != nil {
		s.fail(w, r, "staff session", err)
		return nil, false
	}
	if ss != nil && ss.slid {
		// The browser keeps the cookie as long as the server keeps the session.
		http.SetCookie(w, s.staffCookie(r, c.Value, int(staffTTL.Seconds())))
	}
	return ss, true
}

// signedIn is staff for the endpoints scripts and the page's own fetches
// call: no session is a 401, not the sign-in page. ok is false once the
// answer has been written.
func (s *Site) signedIn(w http.ResponseWriter, r *http.Request) (ss *staffSession, ok bool) {
	ss, ok = s.staff(w, r)
	if ok && ss == nil {
		http.Error(w, "signed out", http.StatusUnauthorized)
		return nil, false
	}
	return ss, ok
}

func (s *Site) staffCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	// Strict: the inbox is never framed or linked into with a session.
	return &http.Cookie{Name: staffCookie, Value: value, Path: "/inbox", HttpOnly: true, MaxAge: maxAge,
		SameSite: http.SameSiteStrictMode, Secure: s.secure || r.TLS != nil}
}

func (s *Site) loginPage(w http.ResponseWriter, r *http.Request) {
	ss, ok := s.staff(w, r)
	if !ok {
		return
	}
	if ss != nil {
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
		return
	}
	s.renderLogin(w, r, http.StatusOK, "", "")
}

func (s *Site) renderLogin(w http.ResponseWriter, r *http.Request, code int, name, errKey string) {
	p := s.newPage(s.langOf(w, r), "")
	p.Title = p.T("web.login.title")
	p.Data = map[string]string{"Name": name, "Error": errKey}
	w.Header().Set("X-Frame-Options", "DENY")
	s.renderCode(w, code, "login.html", p)
}

func validStaffName(n string) bool {
	return n != "" && len(n) <= 64 && strings.IndexFunc(n, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.')
	}) < 0
}

// login checks a name and password. Failures are slowed per client address
// and per name; the answer never says which of the two was wrong.
func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	pw := r.PostFormValue("password")
	now := s.o.Now()
	ip := s.o.Proxies.Addr(r)
	keys := loginKeys(ip, name)
	allowed, err := s.limit.reserve(r.Context(), now, keys)
	if err != nil {
		s.fail(w, r, "login throttle", err)
		return
	}
	if !allowed {
		s.o.Log.Warn("web: login throttled", "name", name, "ip", ip)
		s.renderLogin(w, r, http.StatusTooManyRequests, name, "web.login.throttled")
		return
	}
	ok := false
	if validStaffName(name) {
		a, err := s.o.DB.Read().StaffByName(r.Context(), name)
		switch {
		case err == nil:
			ok = CheckPassword(a.PasswordHash, pw)
		case !errors.Is(err, models.ErrNotFound):
			s.fail(w, r, "login", err)
			return
		default:
			// Same work as a wrong password, so timing does not reveal names.
			CheckPassword(dummyHash(), pw)
		}
	}
	if !ok {
		// The attempt is already spent; the sweep keeps the table small.
		if err := s.limit.failed(r.Context(), now); err != nil {
			s.o.Log.Warn("web: sweep sign-in throttles", "err", err)
		}
		s.o.Log.Info("web: login failed", "name", name, "ip", ip)
		s.renderLogin(w, r, http.StatusUnauthorized, name, "web.login.wrong")
		return
	}
	if err := s.limit.succeeded(r.Context(), keys); err != nil {
		// The success still counts as one failure; not worth refusing it.
		s.o.Log.Warn("web: give back sign-in attempt", "err", err)
	}
	tok, _, err := s.sessions.create(r.Context(), name, now)
	if err != nil {
		s.fail(w, r, "sign in", err)
		return
	}
	http.SetCookie(w, s.staffCookie(r, tok, int(staffTTL.Seconds())))
	s.o.Log.Info("web: staff signed in", "name", name, "ip", ip)
	http.Redirect(w, r, "/inbox", http.StatusSeeOther)
}

// dummyHash is a bcrypt hash of nothing anyone types, made on first use
// (bcrypt is slow on purpose; CLI commands need not pay for it).
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := HashPassword("kefu-no-such-account-placeholder")
	return h
})

func (s *Site) logout(w http.ResponseWriter, r *http.Request) {
	ss, ok := s.staff(w, r)
	if !ok {
		return
	}
	if ss != nil {
		if !s.csrfOK(r, ss) {
			http.Error(w, "invalid form token", http.StatusForbidden)
			return
		}
		c, _ := r.Cookie(staffCookie)
		if err := s.sessions.end(r.Context(), c.Value); err != nil {
			s.fail(w, r, "sign out", err)
			return
		}
		s.o.Log.Info("web: staff signed out", "name", ss.Name)
	}
	http.SetCookie(w, s.staffCookie(r, "", -1))
	http.Redirect(w, r, "/inbox/login", http.StatusSeeOther)
}

// csrfOK checks the session's form token (a form field or X-CSRF-Token).
func (s *Site) csrfOK(r *http.Request, ss *staffSession) bool {
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		tok = r.PostFormValue("csrf")
	}
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(ss.CSRF)) == 1
}

// inboxData is the inbox page: the list with its filters, and the open ticket.
type inboxData struct {
	Status, Priority string
	Tickets          []listItem
	Open             *ticketView
	Query            string // the filters, for links
	Part             string
	Statuses         []string
	Priorities       []string
	Now              time.Time
}

type listItem struct {
	models.InboxTicket
	Due     time.Time
	Overdue bool
	Active  bool
}

// ticketView is one ticket with its conversation and customer panel.
type ticketView struct {
	T        models.Ticket
	Customer *models.Customer
	Channels []string
	Lines    []line
	Past     []models.Ticket
	Panels   []*PanelSection
	Staff    []string // web accounts, suggested for transfers
}

// line is one entry of a ticket's conversation: a message or a timeline
// event (notes are internal: the customer never sees them).
type line struct {
	At      time.Time
	Who     string // customer, bot, staff, note, event
	Text    string
	Kind    string
	Actor   string
	Buttons []string
}

var inboxStatuses = []string{"", models.TicketNew, models.TicketOpen, models.TicketWaitingCustomer, models.TicketResolved, models.TicketClosed, "all"}
var inboxPriorities = []string{"", "P1", "P2", "P3", "P4"}

func (s *Site) inboxPage(w http.ResponseWriter, r *http.Request) {
	ss, ok := s.staff(w, r)
	if !ok {
		return
	}
	if ss == nil {
		if r.URL.Query().Get("part") != "" {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/inbox/login", http.StatusSeeOther)
		return
	}
	q := r.URL.Query()
	d := inboxData{Status: q.Get("status"), Priority: strings.ToUpper(q.Get("priority")), Part: q.Get("part"),
		Statuses: inboxStatuses, Priorities: inboxPriorities, Now: s.o.Now()}
	if !slices.Contains(inboxStatuses, d.Status) {
		d.Status = ""
	}
	if !slices.Contains(inboxPriorities, d.Priority) {
		d.Priority = ""
	}
	v := url.Values{}
	if d.Status != "" {
		v.Set("status", d.Status)
	}
	if d.Priority != "" {
		v.Set("priority", d.Priority)
	}
	d.Query = v.Encode()
	lang := s.langOf(w, r)
	st := s.o.DB.Read()
	ctx := r.Context()
	openID, _ := models.ParseTicketRef(q.Get("t"))
	if d.Part != "ticket" {
		ts, err := st.InboxTickets(ctx, models.InboxFilter{Status: d.Status, Priority: d.Priority, Limit: 300})
		if err != nil {
			s.fail(w, r, "inbox list", err)
			return
		}
		for _, t := range ts {
			due := t.NextDue()
			it := listItem{InboxTicket: t, Active: t.ID == openID}
			if due.Year() < 9999 && t.IsOpen() {
				it.Due, it.Overdue = due, due.Before(d.Now)
			}
			d.Tickets = append(d.Tickets, it)
		}
	}
	if openID != 0 && d.Part != "list" {
		tv, err := s.ticketView(r, openID, lang)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			s.fail(w, r, "inbox ticket", err)
			return
		}
		d.Open = tv
	}
	p := s.newPage(lang, "")
	p.Title, p.CSRF, p.Staff, p.Data = p.T("web.inbox.title"), ss.CSRF, ss.Name, d
	w.Header().Set("X-Frame-Options", "DENY")
	switch d.Part {
	case "list":
		s.render(w, "inbox-list", p)
	case "ticket":
		s.render(w, "inbox-ticket", p)
	default:
		s.render(w, "inbox.html", p)
	}
}

func (s *Site) ticketView(r *http.Request, id uint64, lang string) (*ticketView, error) {
	ctx := r.Context()
	st := s.o.DB.Read()
	t, err := st.Ticket(ctx, id)
	if err != nil {
		return nil, err
	}
	cust, err := st.Customer(ctx, t.CustomerID)
	if err != nil {
		return nil, err
	}
	tv := &ticketView{T: *t, Customer: cust}
	ids, err := st.Identities(ctx, cust.ID)
	if err != nil {
		return nil, err
	}
	for _, i := range ids {
		tv.Channels = append(tv.Channels, i.Channel)
	}
	past, err := st.CustomerTickets(ctx, cust.ID, 10)
	if err != nil {
		return nil, err
	}
	for _, p := range past {
		if p.ID != t.ID {
			tv.Past = append(tv.Past, p)
		}
	}
	msgs, err := st.Messages(ctx, t.ConversationID, historySize)
	if err != nil {
		return nil, err
	}
	// The conversation as the customer sees it: edits applied.
	for _, m := range chatView(msgs, "") {
		l := line{At: m.At, Text: m.Text, Kind: m.Kind}
		switch {
		case m.Dir == models.DirIn:
			l.Who = "customer"
		case m.Kind == "relay":
			l.Who = "staff"
		default:
			l.Who = "bot"
		}
		for _, row := range m.Buttons {
			for _, b := range row {
				l.Buttons = append(l.Buttons, b.Label)
			}
		}
		tv.Lines = append(tv.Lines, l)
	}
	events, err := st.TicketEvents(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		switch e.Kind {
		case "customer", "reply", "created":
			continue // the messages show these
		case "note":
			tv.Lines = append(tv.Lines, line{At: e.CreatedAt, Who: "note", Text: e.Text, Actor: e.Actor})
		default:
			tv.Lines = append(tv.Lines, line{At: e.CreatedAt, Who: "event", Kind: e.Kind, Text: e.Text, Actor: e.Actor})
		}
	}
	sort.SliceStable(tv.Lines, func(i, j int) bool { return tv.Lines[i].At.Before(tv.Lines[j].At) })
	accts, err := st.StaffAccounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range accts {
		tv.Staff = append(tv.Staff, a.Name)
	}
	for _, src := range s.o.Panels {
		sec, err := src.Panel(ctx, st, cust.ID, lang)
		if err != nil {
			s.o.Log.Warn("web: customer panel section failed", "err", err)
			continue
		}
		if sec != nil {
			tv.Panels = append(tv.Panels, sec)
		}
	}
	return tv, nil
}

// inboxActions maps an inbox button to the staff command it submits. The
// inbox has no desk logic of its own: every action is a staff turn through
// the engine, exactly as if typed in a staff room.
var inboxActions = map[string]struct {
	cmd      string
	needText bool
}{
	"claim": {"claim", false}, "reply": {"reply", true}, "note": {"note", true},
	"resolve": {"resolve", false}, "reopen": {"reopen", false}, "transfer": {"transfer", true},
	"compensate": {"compensate", true}, "priority": {"priority", true},
}

func (s *Site) inboxAct(w http.ResponseWriter, r *http.Request) {
	ss, ok := s.staff(w, r)
	if !ok {
		return
	}
	if ss == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "signed out"})
		return
	}
	if !s.csrfOK(r, ss) {
		s.o.Log.Warn("web: inbox action without a valid form token", "staff", ss.Name)
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "invalid form token"})
		return
	}
	act, ok := inboxActions[r.PostFormValue("action")]
	id, okRef := models.ParseTicketRef(r.PostFormValue("ticket"))
	text := strings.TrimSpace(r.PostFormValue("text"))
	if r.PostFormValue("action") == "compensate" && text == "" {
		text = strings.TrimSpace(r.PostFormValue("kind") + " " + r.PostFormValue("value"))
	}
	msgID := r.PostFormValue("id")
	if !ok || !okRef || !clientID.MatchString(msgID) || act.needText && text == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "bad request"})
		return
	}
	cmd := "/" + act.cmd + " " + models.TicketRef(id)
	if text != "" {
		cmd += " " + text
	}
	in := bot.Inbound{Channel: models.ChannelWeb, ChatID: staffChatPrefix + ss.Name, UserID: ss.Name, UserName: ss.Name,
		MessageID: staffMessageID(ss.Name, msgID), Text: cmd, Staff: true, Room: true, Time: s.o.Now()}
	res, err := s.o.Engine.Handle(r.Context(), in)
	if err != nil {
		s.o.Log.Warn("web inbox: turn failed", "staff", ss.Name, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "try again"})
		return
	}
	if r.Header.Get("Accept") == "application/json" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "duplicate": res.Duplicate})
		return
	}
	http.Redirect(w, r, "/inbox?t="+models.TicketRef(id), http.StatusSeeOther)
}

// staffMessageID is the dedupe key of an inbox action: fixed-length (a long
// name plus the page's id would not fit the column), the same for a retry.
func staffMessageID(name, pageID string) string {
	sum := sha256.Sum256([]byte(name + "\x00" + pageID))
	return "st:" + hex.EncodeToString(sum[:20])
}

func (s *Site) inboxEvents(w http.ResponseWriter, r *http.Request) {
	ss, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	live, stop := s.hub.subscribe("staff", "s:"+ss.Name)
	defer stop()
	s.serveEvents(w, r, live, nil)
}
