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
// session: READY) or RESUME (RESUMED after replaying what the session
// missed, or INVALID_SESSION when it cannot be resumed), then dispatches
// until the connection ends.
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
				Token   string `json:"token"`
				Intents int    `json:"intents"`
			}
			_ = json.Unmarshal(f.D, &id)
			s.mu.Lock()
			refuse := s.refuseIdentify
			s.mu.Unlock()
			if id.Token != "Bot "+s.token || refuse {
				_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."))
				return
			}
			s.mu.Lock()
			s.identifies++
			s.intents = id.Intents
			s.session = "sess" + s.id()
			s.seq, s.log, s.resumable = 0, nil, true
			s.conns[c] = true
			s.seq++
			ready := event{seq: s.seq, name: "READY", data: map[string]any{"v": 10, "session_id": s.session,
				"user": s.Bot, "application": map[string]any{"id": s.AppID, "flags": 0},
				"guilds": []map[string]any{{"id": s.Guild, "unavailable": true}}}}
			s.log = append(s.log, ready)
			s.writeLocked(c, ready)
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
			if rs.Token != "Bot "+s.token || rs.SessionID != s.session || !s.resumable {
				// Discord answers a failed resume with op 9; the client
				// identifies again on the same connection.
				_ = c.WriteJSON(map[string]any{"op": 9, "d": false})
				s.session, s.log = "", nil
				s.mu.Unlock()
				continue
			}
			s.conns[c] = true
			for _, e := range s.log {
				if e.seq > rs.Seq {
					s.writeLocked(c, e)
				}
			}
			s.seq++
			resumed := event{seq: s.seq, name: "RESUMED", data: map[string]any{}}
			s.log = append(s.log, resumed)
			s.writeLocked(c, resumed)
			s.mu.Unlock()
		}
	}
}

func (s *Server) drop(c *websocket.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}
