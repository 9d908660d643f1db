package discordtest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Channel types, as Discord numbers them.
const (
	TypeText         = 0
	TypeDM           = 1
	TypePublicThread = 11
)

// Message is a message as the fake stores it (a subset of Discord's).
type Message struct {
	ID          string         `json:"id"`
	ChannelID   string         `json:"channel_id"`
	GuildID     string         `json:"guild_id,omitempty"`
	Author      User           `json:"author"`
	Member      *Member        `json:"member,omitempty"`
	Content     string         `json:"content"`
	Timestamp   time.Time      `json:"timestamp"`
	Type        int            `json:"type"`
	Components  []Row          `json:"components"`
	Attachments []Attachment   `json:"attachments"`
	Reference   *Reference     `json:"message_reference,omitempty"`
	Mentions    map[string]any `json:"allowed_mentions,omitempty"`
	// EditedBy counts the edits the bot made.
	Edits int `json:"-"`
	// Files are the names of files the bot uploaded with it.
	Files []string `json:"-"`

	nonce string
}

// User is a Discord user.
type User struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	GlobalName string `json:"global_name,omitempty"`
	Bot        bool   `json:"bot,omitempty"`
}

// Member is a guild member's roles.
type Member struct {
	User  *User    `json:"user,omitempty"`
	Roles []string `json:"roles"`
}

// Row is an action row of buttons.
type Row struct {
	Type       int      `json:"type"`
	Components []Button `json:"components"`
}

// Button is a message component: a button (type 2) or a string select
// menu (type 3, with Options).
type Button struct {
	Type     int      `json:"type"`
	Label    string   `json:"label,omitempty"`
	CustomID string   `json:"custom_id"`
	Style    int      `json:"style,omitempty"`
	Options  []Option `json:"options,omitempty"`
}

// Option is a choice of a select menu.
type Option struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Attachment is a file on a message.
type Attachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
	Size        int    `json:"size"`
	URL         string `json:"url"`
}

// Reference points a reply at the message it answers.
type Reference struct {
	MessageID string `json:"message_id"`
	ChannelID string `json:"channel_id,omitempty"`
}

// Channel is a DM, a guild text channel or a thread.
type Channel struct {
	ID       string `json:"id"`
	Type     int    `json:"type"`
	GuildID  string `json:"guild_id,omitempty"`
	ParentID string `json:"parent_id,omitempty"`
	Name     string `json:"name,omitempty"`
	// Recipient is the user of a DM channel.
	Recipient string `json:"-"`
}

// Response is what the bot answered to an interaction.
type Response struct {
	Type int
	// Original is the interaction's original response once edited, nil
	// before; Deleted says the bot deleted it.
	Original *Message
	Deleted  bool
	// Ephemeral says only the user sees the response (flag 64).
	Ephemeral bool

	channel string
}

// Server is a fake Discord. Its zero value is not usable: call New.
type Server struct {
	// URL is the base to give the adapter as its API base.
	URL string
	// Bot is the bot user; AppID its application.
	Bot   User
	AppID string
	// Guild is the fake guild's id.
	Guild string

	token string
	http  *httptest.Server
	up    websocket.Upgrader

	mu             sync.Mutex
	next           int64
	channels       map[string]*Channel
	messages       map[string][]*Message
	members        map[string][]string
	dms            map[string]string // user → DM channel
	responses      map[string]*Response
	tokens         map[string]string // interaction token → interaction id
	commands       []json.RawMessage
	files          map[string][]byte // attachment path → content
	shards         map[int]*shard    // gateway sessions by shard id
	identified     [][2]int          // [shard id, shard count] of every IDENTIFY
	down           bool
	identifies     int
	resumes        int
	intents        int
	rateLimit      int // next POSTs of messages answered 429
	retryAfter     float64
	requests       []string
	threadFailures int // next thread starts answered 500
	threadStatus   int
	lookupFailures int  // next channel lookups answered 500
	refuseIdentify bool // close IDENTIFY with 4004
	nonceHits      int
}

type event struct {
	seq  int
	name string
	data any
}

// shard is the gateway session of one shard. Discord sends a shard the
// events of the guilds whose id picks it (ShardOf) and, on shard 0 only,
// direct messages.
type shard struct {
	id, count int
	session   string
	seq       int
	resumable bool
	log       []event // dispatches of the current session, for RESUME
	conns     map[*websocket.Conn]bool
}

// ShardOf is the shard of count that receives a guild's events, as
// Discord computes it: (guild_id >> 22) % count. Direct messages have no
// guild ("") and go to shard 0.
func ShardOf(guildID string, count int) int {
	id, err := strconv.ParseUint(guildID, 10, 64)
	if guildID == "" || err != nil || count <= 1 {
		return 0
	}
	return int((id >> 22) % uint64(count))
}

// New starts a fake Discord whose bot token is token.
func New(token string) *Server {
	s := &Server{token: token, next: 1_300_000_000_000_000_000, channels: map[string]*Channel{},
		messages: map[string][]*Message{}, members: map[string][]string{}, dms: map[string]string{},
		responses: map[string]*Response{}, tokens: map[string]string{}, files: map[string][]byte{},
		shards: map[int]*shard{}}
	s.Bot = User{ID: s.id(), Username: "kefu", Bot: true}
	s.AppID = s.Bot.ID
	s.Guild = s.id()
	s.http = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.http.URL
	return s
}

// MoveGuild gives the guild a new id, on the given shard of count (so that
// tests can put it on a shard other than the DMs'), and returns it. Call
// it before adding channels: they keep the guild id they were made with.
func (s *Server) MoveGuild(shard, count int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.next>>22 + 1
	for n%int64(count) != int64(shard) {
		n++
	}
	s.next = n << 22
	s.Guild = strconv.FormatInt(s.next, 10)
	return s.Guild
}

// Close stops the server and drops every gateway connection.
func (s *Server) Close() {
	s.mu.Lock()
	for _, sh := range s.shards {
		for c := range sh.conns {
			c.Close()
		}
	}
	s.mu.Unlock()
	s.http.CloseClientConnections()
	s.http.Close()
}

// id returns a new snowflake, larger than every earlier one.
func (s *Server) id() string {
	s.next++
	return strconv.FormatInt(s.next, 10)
}

// AddChannel creates a guild text channel and returns its id.
func (s *Server) AddChannel(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id()
	s.channels[id] = &Channel{ID: id, Type: TypeText, GuildID: s.Guild, Name: name}
	return id
}

// AddMember makes a user a guild member with the given roles.
func (s *Server) AddMember(userID string, roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[userID] = append([]string{}, roles...)
}

// NewID returns a fresh snowflake (for user and role ids).
func (s *Server) NewID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id()
}

// DMChannel returns the DM channel with a user, creating it.
func (s *Server) DMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmLocked(userID)
}

func (s *Server) dmLocked(userID string) string {
	if id, ok := s.dms[userID]; ok {
		return id
	}
	id := s.id()
	s.channels[id] = &Channel{ID: id, Type: TypeDM, Recipient: userID}
	s.dms[userID] = id
	return id
}

// Say posts a message from a user in a DM (channelID "" ) or a guild
// channel or thread, dispatching MESSAGE_CREATE, and returns it.
func (s *Server) Say(user User, channelID, text string, atts ...Attachment) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if channelID == "" {
		channelID = s.dmLocked(user.ID)
	}
	ch := s.channels[channelID]
	if ch == nil {
		panic("discordtest: no channel " + channelID)
	}
	m := &Message{ID: s.id(), ChannelID: channelID, Author: user, Content: text, Timestamp: time.Now().UTC(),
		Attachments: []Attachment{}, Components: []Row{}}
	for _, at := range atts {
		at.ID = s.id()
		path := "/attachments/" + at.ID + "/" + at.Filename
		s.files[path] = []byte(strings.Repeat("x", max(at.Size, 1)))
		at.Size = len(s.files[path])
		at.URL = s.URL + path
		m.Attachments = append(m.Attachments, at)
	}
	s.messages[channelID] = append(s.messages[channelID], m)
	d := *m
	if ch.Type != TypeDM {
		d.GuildID = s.Guild
		d.Member = &Member{Roles: append([]string{}, s.members[user.ID]...)}
	}
	s.dispatchLocked(d.GuildID, "MESSAGE_CREATE", d)
	return m
}

// Press presses a button (customID) on message messageID in channelID, as
// user, dispatching INTERACTION_CREATE; it returns the interaction id.
func (s *Server) Press(user User, channelID, messageID, customID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var msg *Message
	for _, m := range s.messages[channelID] {
		if m.ID == messageID {
			msg = m
		}
	}
	if msg == nil {
		panic("discordtest: no message " + messageID + " in " + channelID)
	}
	return s.interactLocked(user, channelID, 3, map[string]any{"custom_id": customID, "component_type": 2}, msg)
}

// Choose picks value in the select menu customID on a message, as user;
// it returns the interaction id.
func (s *Server) Choose(user User, channelID, messageID, customID, value string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := s.find(channelID, messageID)
	if msg == nil {
		panic("discordtest: no message " + messageID + " in " + channelID)
	}
	return s.interactLocked(user, channelID, 3, map[string]any{"custom_id": customID, "component_type": 3,
		"values": []string{value}}, msg)
}

// Slash runs a slash command as user in channelID ("" for their DM), with
// an optional text argument; it returns the interaction id.
func (s *Server) Slash(user User, channelID, name, text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if channelID == "" {
		channelID = s.dmLocked(user.ID)
	}
	data := map[string]any{"id": s.id(), "name": name, "type": 1}
	if text != "" {
		data["options"] = []map[string]any{{"name": "text", "type": 3, "value": text}}
	}
	return s.interactLocked(user, channelID, 2, data, nil)
}

func (s *Server) interactLocked(user User, channelID string, typ int, data map[string]any, msg *Message) string {
	ch := s.channels[channelID]
	id, token := s.id(), "tok"+s.id()
	s.tokens[token] = id
	s.responses[id] = &Response{channel: channelID}
	i := map[string]any{"id": id, "application_id": s.AppID, "type": typ, "data": data, "channel_id": channelID,
		"token": token, "version": 1, "locale": "en-US"}
	if msg != nil {
		i["message"] = msg
	}
	u := user
	guild := ""
	if ch.Type == TypeDM {
		i["user"] = u
	} else {
		guild = s.Guild
		i["guild_id"] = guild
		i["member"] = Member{User: &u, Roles: append([]string{}, s.members[user.ID]...)}
	}
	s.dispatchLocked(guild, "INTERACTION_CREATE", i)
	return id
}

// Messages returns a copy of the messages of a channel, oldest first.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages[channelID] {
		out = append(out, *m)
	}
	return out
}

// BotMessages returns what the bot posted in a channel, oldest first.
func (s *Server) BotMessages(channelID string) []Message {
	var out []Message
	for _, m := range s.Messages(channelID) {
		if m.Author.ID == s.Bot.ID {
			out = append(out, m)
		}
	}
	return out
}

// Wait polls cond every 20ms until it holds or timeout passes.
func (s *Server) Wait(timeout time.Duration, cond func() bool) bool {
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// Threads returns the threads whose parent is channelID, oldest first.
func (s *Server) Threads(channelID string) []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, c := range s.channels {
		if c.ParentID == channelID {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b Channel) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Response returns what the bot answered to an interaction.
func (s *Server) Response(interactionID string) Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.responses[interactionID]; r != nil {
		c := *r
		if r.Original != nil {
			o := *r.Original
			c.Original = &o
		}
		return c
	}
	return Response{}
}

// Commands returns the slash commands the bot registered (raw JSON).
func (s *Server) Commands() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands)
}

// Shards returns [shard id, shard count] of every IDENTIFY so far, in
// order ([0, 1] for a client that sent no shard).
func (s *Server) Shards() [][2]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.identified)
}

// Intents is the intents value of the last IDENTIFY.
func (s *Server) Intents() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.intents
}

// Sessions reports how many IDENTIFYs and RESUMEs the gateway saw.
func (s *Server) Sessions() (identifies, resumes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identifies, s.resumes
}

// Connected reports whether a gateway connection is open.
func (s *Server) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sh := range s.shards {
		if len(sh.conns) > 0 {
			return true
		}
	}
	return false
}

// ConnectedShards returns the ids of the shards with an open connection
// that identified or resumed, sorted.
func (s *Server) ConnectedShards() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int
	for id, sh := range s.shards {
		if len(sh.conns) > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Disconnect drops every gateway connection and keeps the gateway down
// (connections refused) until Up. With invalidate, the session cannot be
// resumed: events meanwhile are lost, as when Discord ends a session, and
// only the REST API has the messages.
func (s *Server) Disconnect(invalidate bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = true
	for _, sh := range s.shards {
		if invalidate {
			sh.resumable = false
		}
		for c := range sh.conns {
			c.Close()
			delete(sh.conns, c)
		}
	}
}

// Up lets the gateway accept connections again.
func (s *Server) Up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = false
}

// RateLimit makes the next n message posts answer 429 with retry_after
// seconds.
func (s *Server) RateLimit(n int, retryAfter float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit, s.retryAfter = n, retryAfter
}

// RefuseIdentify makes the gateway close every IDENTIFY with 4004
// (authentication failed), as for a revoked token.
func (s *Server) RefuseIdentify(refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseIdentify = refuse
}

// FailChannelLookups makes the next n GET /channels/{id} answer 500.
func (s *Server) FailChannelLookups(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookupFailures = n
}

// AddThread starts a public thread in a guild channel without a starter
// message, as a staff member would by hand, and returns its id.
func (s *Server) AddThread(parentID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id()
	s.channels[id] = &Channel{ID: id, Type: TypePublicThread, GuildID: s.Guild, ParentID: parentID, Name: name}
	return id
}

// FailThreadStarts makes the next n thread starts answer status (500, or
// 403 for a bot without the thread permissions).
func (s *Server) FailThreadStarts(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.threadFailures, s.threadStatus = n, status
}

// NonceHits counts message posts Discord's duplicate check answered with
// the message already created (same nonce, enforce_nonce).
func (s *Server) NonceHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nonceHits
}

// Requests returns "METHOD /path" of every REST request so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// dispatchLocked sends a dispatch event of a guild ("" for a direct
// message) to the shard that receives it, as Discord routes them: to its
// connection, or kept for a later RESUME while the session is resumable
// and nobody is connected.
func (s *Server) dispatchLocked(guild, name string, data any) {
	for _, sh := range s.shards {
		if ShardOf(guild, sh.count) != sh.id {
			continue
		}
		if sh.session == "" || (len(sh.conns) == 0 && !sh.resumable) {
			continue // no session: Discord keeps nothing
		}
		sh.seq++
		e := event{seq: sh.seq, name: name, data: data}
		sh.log = append(sh.log, e)
		for c := range sh.conns {
			writeLocked(sh, c, e)
		}
	}
}

func writeLocked(sh *shard, c *websocket.Conn, e event) {
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.WriteJSON(map[string]any{"op": 0, "t": e.name, "s": e.seq, "d": e.data}); err != nil {
		c.Close()
		delete(sh.conns, c)
	}
}

var route = regexp.MustCompile(`^/api/v\d+(/.*)$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/gateway" || r.URL.Path == "/gateway/" {
		s.gateway(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/attachments/") {
		s.mu.Lock()
		b, ok := s.files[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
		return
	}
	m := route.FindStringSubmatch(r.URL.Path)
	if m == nil {
		fail(w, http.StatusNotFound, 0, "404: Not Found")
		return
	}
	p := strings.Split(strings.Trim(m[1], "/"), "/")
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+m[1])
	s.mu.Unlock()
	// Interaction callbacks and webhooks are authorised by their token.
	if p[0] != "interactions" && p[0] != "webhooks" && r.Header.Get("Authorization") != "Bot "+s.token {
		fail(w, http.StatusUnauthorized, 0, "401: Unauthorized")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == "GET" && m[1] == "/users/@me":
		reply(w, s.Bot)
	case r.Method == "GET" && (m[1] == "/gateway" || m[1] == "/gateway/bot"):
		reply(w, map[string]any{"url": "ws" + strings.TrimPrefix(s.URL, "http") + "/gateway", "shards": 1,
			"session_start_limit": map[string]int{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})
	case r.Method == "POST" && m[1] == "/users/@me/channels":
		var body struct {
			Recipient string `json:"recipient_id"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil || body.Recipient == "" {
			fail(w, http.StatusBadRequest, 50035, "Invalid Form Body")
			return
		}
		reply(w, s.channels[s.dmLocked(body.Recipient)])
	case len(p) == 2 && p[0] == "channels" && r.Method == "GET":
		if s.lookupFailures > 0 {
			s.lookupFailures--
			fail(w, http.StatusInternalServerError, 0, "500: Internal Server Error")
			return
		}
		if c := s.channels[p[1]]; c != nil {
			reply(w, c)
		} else {
			fail(w, http.StatusNotFound, 10003, "Unknown Channel")
		}
	case len(p) == 3 && p[0] == "channels" && p[2] == "messages" && r.Method == "GET":
		s.listMessages(w, r, p[1])
	case len(p) == 3 && p[0] == "channels" && p[2] == "messages" && r.Method == "POST":
		s.postMessage(w, r, p[1])
	case len(p) == 4 && p[0] == "channels" && p[2] == "messages" && r.Method == "PATCH":
		s.editMessage(w, r, p[1], p[3])
	case len(p) == 5 && p[0] == "channels" && p[2] == "messages" && p[4] == "threads" && r.Method == "POST":
		s.startThread(w, r, p[1], p[3])
	case len(p) == 4 && p[0] == "guilds" && p[2] == "members" && r.Method == "GET":
		roles, ok := s.members[p[3]]
		if p[1] != s.Guild || !ok {
			fail(w, http.StatusNotFound, 10007, "Unknown Member")
			return
		}
		reply(w, Member{User: &User{ID: p[3]}, Roles: roles})
	case len(p) == 3 && p[0] == "applications" && p[2] == "commands" && r.Method == "PUT":
		var cmds []json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&cmds); err != nil {
			fail(w, http.StatusBadRequest, 50035, "Invalid Form Body")
			return
		}
		s.commands = cmds
		reply(w, cmds)
	case len(p) == 4 && p[0] == "interactions" && p[3] == "callback" && r.Method == "POST":
		s.callback(w, r, p[1], p[2])
	case len(p) == 5 && p[0] == "webhooks" && p[4] == "@original":
		s.original(w, r, p[2])
	default:
		fail(w, http.StatusNotFound, 0, "404: Not Found")
	}
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, channelID string) {
	if s.channels[channelID] == nil {
		fail(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	after := r.URL.Query().Get("after")
	var out []Message
	// With after: the oldest `limit` messages after it, newest first (as
	// Discord answers).
	for _, m := range s.messages[channelID] {
		if after == "" || later(m.ID, after) {
			out = append(out, *m)
		}
	}
	if after != "" && len(out) > limit {
		out = out[:limit]
	} else if len(out) > limit {
		out = out[len(out)-limit:]
	}
	slices.Reverse(out)
	reply(w, out)
}

func later(x, y string) bool {
	if len(x) != len(y) {
		return len(x) > len(y)
	}
	return x > y
}

// messageBody is what the bot sends to create or edit a message.
type messageBody struct {
	Nonce           string         `json:"nonce"`
	EnforceNonce    bool           `json:"enforce_nonce"`
	Content         *string        `json:"content"`
	Components      *[]Row         `json:"components"`
	Reference       *Reference     `json:"message_reference"`
	AllowedMentions map[string]any `json:"allowed_mentions"`
}

// readBody decodes JSON or multipart (payload_json + files) bodies.
func readBody(r *http.Request) (messageBody, []string, error) {
	var b messageBody
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return b, nil, json.NewDecoder(r.Body).Decode(&b)
	}
	var files []string
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return b, files, nil
		}
		if err != nil {
			return b, nil, err
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return b, nil, err
		}
		if part.FormName() == "payload_json" {
			if err := json.Unmarshal(data, &b); err != nil {
				return b, nil, err
			}
		} else if part.FileName() != "" {
			files = append(files, part.FileName())
		}
	}
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request, channelID string) {
	ch := s.channels[channelID]
	if ch == nil {
		fail(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	if s.rateLimit > 0 {
		s.rateLimit--
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		json.NewEncoder(w).Encode(map[string]any{"message": "You are being rate limited.", "retry_after": s.retryAfter, "global": false})
		return
	}
	b, files, err := readBody(r)
	if err != nil {
		fail(w, http.StatusBadRequest, 50035, "Invalid Form Body: "+err.Error())
		return
	}
	if b.EnforceNonce && b.Nonce != "" {
		// Discord: the same nonce from the same author within a few
		// minutes returns the message already created.
		for _, old := range s.messages[channelID] {
			if old.nonce == b.Nonce && old.Author.ID == s.Bot.ID {
				s.nonceHits++
				reply(w, old)
				return
			}
		}
	}
	content := ""
	if b.Content != nil {
		content = *b.Content
	}
	if msg := checkMessage(content, b.Components, len(files)); msg != "" {
		fail(w, http.StatusBadRequest, 50035, msg)
		return
	}
	m := &Message{ID: s.id(), ChannelID: channelID, Author: s.Bot, Content: content, Timestamp: time.Now().UTC(),
		Reference: b.Reference, Mentions: b.AllowedMentions, Files: files, Attachments: []Attachment{}, Components: []Row{},
		nonce: b.Nonce}
	if b.Components != nil {
		m.Components = *b.Components
	}
	if b.Reference != nil {
		m.Type = 19
	}
	s.messages[channelID] = append(s.messages[channelID], m)
	d := *m
	if ch.Type != TypeDM {
		d.GuildID = s.Guild
	}
	s.dispatchLocked(d.GuildID, "MESSAGE_CREATE", d)
	reply(w, m)
}

// checkMessage applies Discord's limits to a message the bot sends.
func checkMessage(content string, rows *[]Row, files int) string {
	if n := len([]rune(content)); n > 2000 {
		return fmt.Sprintf("content: must be 2000 or fewer in length, is %d", n)
	}
	if strings.TrimSpace(content) == "" && files == 0 {
		return "Cannot send an empty message"
	}
	if rows == nil {
		return ""
	}
	if len(*rows) > 5 {
		return "components: at most 5 rows"
	}
	for _, row := range *rows {
		if row.Type != 1 || len(row.Components) == 0 || len(row.Components) > 5 {
			return "components: an action row holds 1-5 components"
		}
		for _, b := range row.Components {
			switch {
			case b.CustomID == "" || len(b.CustomID) > 100:
				return "components: custom_id must be 1-100 characters"
			case b.Type == 2 && (b.Label == "" || len([]rune(b.Label)) > 80):
				return "components: a button label is 1-80 characters"
			case b.Type == 3 && len(row.Components) != 1:
				return "components: a select menu fills its row"
			case b.Type == 3 && (len(b.Options) == 0 || len(b.Options) > 25):
				return "components: a select menu has 1-25 options"
			case b.Type != 2 && b.Type != 3:
				return fmt.Sprintf("components: unexpected type %d", b.Type)
			}
			for _, o := range b.Options {
				if o.Label == "" || len([]rune(o.Label)) > 100 || o.Value == "" || len(o.Value) > 100 {
					return "components: bad select option"
				}
			}
		}
	}
	return ""
}

func (s *Server) find(channelID, messageID string) *Message {
	for _, m := range s.messages[channelID] {
		if m.ID == messageID {
			return m
		}
	}
	return nil
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request, channelID, messageID string) {
	m := s.find(channelID, messageID)
	if m == nil {
		fail(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	}
	if m.Author.ID != s.Bot.ID {
		fail(w, http.StatusForbidden, 50005, "Cannot edit a message authored by another user")
		return
	}
	b, _, err := readBody(r)
	if err != nil {
		fail(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	content := m.Content
	if b.Content != nil {
		content = *b.Content
	}
	if msg := checkMessage(content, b.Components, 0); msg != "" {
		fail(w, http.StatusBadRequest, 50035, msg)
		return
	}
	m.Content = content
	if b.Components != nil {
		m.Components = *b.Components
	}
	m.Edits++
	reply(w, m)
}

func (s *Server) startThread(w http.ResponseWriter, r *http.Request, channelID, messageID string) {
	if s.find(channelID, messageID) == nil {
		fail(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	}
	if s.threadFailures > 0 {
		s.threadFailures--
		fail(w, s.threadStatus, 50013, http.StatusText(s.threadStatus))
		return
	}
	if c := s.channels[messageID]; c != nil {
		fail(w, http.StatusBadRequest, 160004, "A thread has already been created for this message")
		return
	}
	var body struct {
		Name string `json:"name"`
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil || body.Name == "" || len([]rune(body.Name)) > 100 {
		fail(w, http.StatusBadRequest, 50035, "Invalid Form Body: name")
		return
	}
	// A thread started on a message has that message's id.
	c := &Channel{ID: messageID, Type: TypePublicThread, GuildID: s.Guild, ParentID: channelID, Name: body.Name}
	s.channels[c.ID] = c
	s.dispatchLocked(c.GuildID, "THREAD_CREATE", map[string]any{"id": c.ID, "type": c.Type, "guild_id": c.GuildID,
		"parent_id": c.ParentID, "name": c.Name, "newly_created": true})
	reply(w, c)
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request, id, token string) {
	resp := s.responses[id]
	if resp == nil || s.tokens[token] != id {
		fail(w, http.StatusNotFound, 10062, "Unknown interaction")
		return
	}
	if resp.Type != 0 {
		fail(w, http.StatusBadRequest, 40060, "Interaction has already been acknowledged.")
		return
	}
	var body struct {
		Type int `json:"type"`
		Data *struct {
			Flags int `json:"flags"`
		} `json:"data"`
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil || body.Type == 0 {
		fail(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	resp.Type = body.Type
	resp.Ephemeral = body.Data != nil && body.Data.Flags&64 != 0
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) original(w http.ResponseWriter, r *http.Request, token string) {
	id, ok := s.tokens[token]
	resp := s.responses[id]
	if !ok || resp.Type == 0 {
		fail(w, http.StatusNotFound, 10015, "Unknown Webhook")
		return
	}
	switch r.Method {
	case "DELETE":
		resp.Deleted = true
		w.WriteHeader(http.StatusNoContent)
	case "PATCH":
		b, _, err := readBody(r)
		if err != nil {
			fail(w, http.StatusBadRequest, 50035, "Invalid Form Body")
			return
		}
		if resp.Original == nil {
			// The original response is a message of the channel.
			resp.Original = &Message{ID: s.id(), ChannelID: resp.channel, Author: s.Bot, Timestamp: time.Now().UTC(),
				Attachments: []Attachment{}, Components: []Row{}}
			if !resp.Ephemeral {
				s.messages[resp.channel] = append(s.messages[resp.channel], resp.Original)
			}
		}
		if b.Content != nil {
			resp.Original.Content = *b.Content
		}
		if b.Components != nil {
			resp.Original.Components = *b.Components
		}
		if msg := checkMessage(resp.Original.Content, b.Components, 0); msg != "" {
			fail(w, http.StatusBadRequest, 50035, msg)
			return
		}
		resp.Original.Edits++
		reply(w, resp.Original)
	default:
		fail(w, http.StatusMethodNotAllowed, 0, "405: Method Not Allowed")
	}
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg})
}

// ChannelID returns the id of the guild channel with that name, or "".
func (s *Server) ChannelID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.channels {
		if c.Name == name && c.Type == TypeText {
			return c.ID
		}
	}
	return ""
}
