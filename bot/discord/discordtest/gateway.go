package discordtest

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// heartbeatMS is the interval HELLO announces; long, so tests see no
// heartbeat traffic unless they wait.
const heartbeatMS = 41250

// gateway serves one websocket connection: HELLO, then IDENTIFY (a new
// session of the shard it names: READY) or RESUME (RESUMED after replaying
// what the session missed, or INVALID_SESSION when it cannot be resumed),
// then the shard's dispatches until the connection ends.
func (s *Server) gateway(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		http.Error(w, "gateway unavailable", http.StatusServiceUnavailable)
		return
	}
	c, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	if c.WriteJSON(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": heartbeatMS}}) != nil {
		return
	}
	for {
		_ = c.SetReadDeadline(time.Now().Add(2 * heartbeatMS * time.Millisecond))
		var f struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := c.ReadJSON(&f); err != nil {
			s.drop(c)
			return
		}
		switch f.Op {
		case 1: // heartbeat
			s.mu.Lock()
			_ = c.WriteJSON(map[string]any{"op": 11})
			s.mu.Unlock()
		case 2: // identify
			var id struct {
				Token   string  `json:"token"`
				Intents int     `json:"intents"`
				Shard   *[2]int `json:"shard"`
			}
			_ = json.Unmarshal(f.D, &id)
			s.mu.Lock()
			refuse := s.refuseIdentify
			s.mu.Unlock()
			if id.Token != "Bot "+s.token || refuse {
				_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."))
				return
			}
			which := [2]int{0, 1}
			if id.Shard != nil {
				which = *id.Shard
			}
			if which[1] < 1 || which[0] < 0 || which[0] >= which[1] {
				_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4010, "Invalid shard."))
				return
			}
			s.mu.Lock()
			s.identifies++
			s.identified = append(s.identified, which)
			s.intents = id.Intents
			sh := s.shards[which[0]]
			if sh == nil {
				sh = &shard{id: which[0], conns: map[*websocket.Conn]bool{}}
				s.shards[which[0]] = sh
			}
			sh.count = which[1]
			sh.session = "sess" + s.id()
			sh.seq, sh.log, sh.resumable = 0, nil, true
			sh.conns[c] = true
			sh.seq++
			// READY names the guilds of this shard only.
			guilds := []map[string]any{}
			if ShardOf(s.Guild, sh.count) == sh.id {
				guilds = append(guilds, map[string]any{"id": s.Guild, "unavailable": true})
			}
			ready := event{seq: sh.seq, name: "READY", data: map[string]any{"v": 10, "session_id": sh.session,
				"user": s.Bot, "application": map[string]any{"id": s.AppID, "flags": 0}, "guilds": guilds,
				"shard": []int{sh.id, sh.count}}}
			sh.log = append(sh.log, ready)
			writeLocked(sh, c, ready)
			s.mu.Unlock()
		case 6: // resume
			var rs struct {
				Token     string `json:"token"`
				SessionID string `json:"session_id"`
				Seq       int    `json:"seq"`
			}
			_ = json.Unmarshal(f.D, &rs)
			s.mu.Lock()
			s.resumes++
			var sh *shard // the session names its shard
			for _, x := range s.shards {
				if x.session != "" && x.session == rs.SessionID {
					sh = x
				}
			}
			if rs.Token != "Bot "+s.token || sh == nil || !sh.resumable {
				// Discord answers a failed resume with op 9; the client
				// identifies again on the same connection.
				_ = c.WriteJSON(map[string]any{"op": 9, "d": false})
				if sh != nil {
					sh.session, sh.log = "", nil
				}
				s.mu.Unlock()
				continue
			}
			sh.conns[c] = true
			for _, e := range sh.log {
				if e.seq > rs.Seq {
					writeLocked(sh, c, e)
				}
			}
			sh.seq++
			resumed := event{seq: sh.seq, name: "RESUMED", data: map[string]any{}}
			sh.log = append(sh.log, resumed)
			writeLocked(sh, c, resumed)
			s.mu.Unlock()
		}
	}
}

func (s *Server) drop(c *websocket.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sh := range s.shards {
		delete(sh.conns, c)
	}
}
