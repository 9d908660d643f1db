package web

import (
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// clientID is the id a page gives each message it posts: the same id on a
// retry makes the engine drop the second copy.
var clientID = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

const historySize = 200

// visitor returns the visitor's chat id from the signed cookie, or "".
func (s *Site) visitor(r *http.Request) string {
	c, err := r.Cookie(visitorCookie)
	if err != nil {
		return ""
	}
	v, ok := s.sign.verify(c.Value)
	if !ok || !strings.HasPrefix(v, "v_") {
		return ""
	}
	return v
}

// ensureVisitor returns the visitor's chat id, giving a new visitor one.
func (s *Site) ensureVisitor(w http.ResponseWriter, r *http.Request) string {
	if v := s.visitor(r); v != "" {
		return v
	}
	v := "v_" + randomToken(16)
	c := &http.Cookie{Name: visitorCookie, Value: s.sign.sign(v), Path: "/", HttpOnly: true,
		MaxAge: int(visitorTTL.Seconds()), SameSite: http.SameSiteLaxMode, Secure: s.secure || r.TLS != nil}
	if s.embeddable {
		// A frame on the shop's site is a third-party context: only
		// SameSite=None cookies reach it, and those must be Secure.
		c.SameSite, c.Secure = http.SameSiteNoneMode, true
	}
	http.SetCookie(w, c)
	return v
}

type chatData struct {
	Messages []chatMessage
	LastID   uint64
	Embed    bool
	Picked   string // the language picked with ?lang=, sent with each post
}

func (s *Site) chatPage(w http.ResponseWriter, r *http.Request) {
	v := s.ensureVisitor(w, r)
	lang := s.langOf(w, r)
	picked := s.pickedLang(nil, r)
	st := s.o.DB.Read()
	var msgs []chatMessage
	conv, err := st.FindConversation(r.Context(), models.ChannelWeb, v)
	switch {
	case err == nil:
		rows, err := st.Messages(r.Context(), conv.ID, historySize)
		if err != nil {
			s.fail(w, r, "load chat history", err)
			return
		}
		msgs = chatView(rows, v)
		if picked == "" && conv.CustomerID != nil {
			if c, err := st.Customer(r.Context(), *conv.CustomerID); err == nil && c.LanguageChosen {
				lang = c.Language
			}
		}
	case !errors.Is(err, models.ErrNotFound):
		s.fail(w, r, "load chat", err)
		return
	}
	var last uint64
	for _, m := range msgs {
		last = max(last, m.ID)
	}
	p := s.newPage(lang, "")
	p.Title = p.T("web.chat.title", "Shop", s.o.ShopName)
	p.Embed = r.URL.Query().Get("embed") == "1"
	p.Data = chatData{Messages: msgs, LastID: last, Embed: p.Embed, Picked: picked}
	p.frameAncestors = "'self'"
	if s.embeddable {
		p.frameAncestors = "*" // any shop page may frame the chat (https only)
	} else {
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
	}
	s.render(w, "chat.html", p)
}

// chatEvents streams the visitor's new messages. A reconnecting page sends
// Last-Event-ID (or ?after=) and first gets what it missed, from the database.
func (s *Site) chatEvents(w http.ResponseWriter, r *http.Request) {
	v := s.visitor(r)
	if v == "" {
		http.Error(w, "no chat session", http.StatusUnauthorized)
		return
	}
	after, _ := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64)
	if after == 0 {
		after, _ = strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	}
	// Subscribe before reading the database, so nothing falls between.
	live, stop := s.hub.subscribe("c:" + v)
	defer stop()
	var replay []event
	st := s.o.DB.Read()
	conv, err := st.FindConversation(r.Context(), models.ChannelWeb, v)
	if err == nil {
		rows, err := st.MessagesAfter(r.Context(), conv.ID, after, 500)
		if err != nil {
			s.fail(w, r, "catch up chat", err)
			return
		}
		for _, m := range rows {
			if m.Direction == models.DirOut && m.Status == models.StatusFailed || m.Direction == models.DirIn && m.Text == "" {
				continue
			}
			cm := chatMessage{ID: m.ID, PID: strconv.FormatUint(m.ID, 10), Dir: m.Direction, Text: m.Text,
				Buttons: m.Payload.Buttons, Edit: m.Payload.Edit, Kind: m.Payload.Kind, At: m.CreatedAt}
			if m.ExternalID != nil {
				cm.Ext = strings.TrimPrefix(*m.ExternalID, v+":")
			}
			replay = append(replay, jsonEvent("message", m.ID, cm))
		}
	} else if !errors.Is(err, models.ErrNotFound) {
		s.fail(w, r, "catch up chat", err)
		return
	}
	s.serveEvents(w, r, live, replay)
}

// chatPost is what a page posts: its own id for the message, and either
// text or a pressed button's data with the message it was on.
type chatPost struct {
	ID      string `json:"id"`
	Text    string `json:"text"`
	Data    string `json:"data"`
	Pressed string `json:"pressed"`
	// Lang is the language the visitor picked on the page ("en", "zh"),
	// which outranks the browser's.
	Lang string `json:"lang"`
}

func (s *Site) chatSend(w http.ResponseWriter, r *http.Request) {
	v := s.visitor(r)
	if v == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "no chat session"})
		return
	}
	var p chatPost
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&p); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "bad request"})
		return
	}
	if !clientID.MatchString(p.ID) || len(p.Data) > 64 || len(p.Pressed) > 20 || (strings.TrimSpace(p.Text) == "" && p.Data == "") {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "bad request"})
		return
	}
	locale := browserLocale(r)
	if p.Lang == bot.LangEN || p.Lang == bot.LangZH {
		locale = p.Lang
	}
	in := bot.Inbound{Channel: models.ChannelWeb, ChatID: v, UserID: v, MessageID: v + ":" + p.ID,
		Text: p.Text, Data: p.Data, PressedID: p.Pressed, Locale: locale, Time: s.o.Now()}
	res, err := s.o.Engine.Handle(r.Context(), in)
	if err != nil {
		// Not stored: the page keeps the message and retries with the same id.
		s.o.Log.Warn("web chat: turn failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "try again"})
		return
	}
	if !res.Duplicate && p.Text != "" {
		// Other open tabs of this visitor, and the inbox, see it at once.
		s.hub.publish("c:"+v, jsonEvent("message", 0, chatMessage{Dir: models.DirIn, Text: in.Text, Ext: p.ID, At: in.Time}))
		s.hub.publish("staff", jsonEvent("conversation", 0, staffEvent{Chat: v}))
		// And those open on other replicas. The message is stored: if they
		// cannot be told, they show it when they next load.
		if err := s.tell(r.Context(), notice{Kind: noticeIn, Chat: v, Ext: p.ID}); err != nil {
			s.o.Log.Warn("web chat: live update to other replicas failed", "err", err)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "duplicate": res.Duplicate})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers 500 with a plain message and logs the cause once.
func (s *Site) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.o.Log.Error("web: "+what, "path", r.URL.Path, "err", err)
	http.Error(w, "Something went wrong. Please try again. 出错了，请稍后再试。", http.StatusInternalServerError)
}

// embedJS is the snippet a shop puts on its site: a button that opens the
// chat in a frame.
func (s *Site) embedJS(w http.ResponseWriter, r *http.Request) {
	base := s.o.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	lang := s.langOf(nil, r)
	p := s.newPage(lang, "")
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	b, _ := json.Marshal(map[string]string{"url": strings.TrimRight(base, "/") + "/chat?embed=1", "open": p.T("web.embed.open"), "close": p.T("web.embed.close")})
	w.Write([]byte("(function(cfg){\n"))
	w.Write(embedScript)
	w.Write([]byte("})(" + string(b) + ");\n"))
}

//go:embed static/embed.js
var embedScript []byte
