package web

import "sync"

// event is one server-sent event: a name, the id a reconnecting page
// resumes after (0: none), and a JSON body.
type event struct {
	Name string
	ID   uint64
	Data []byte
}

// hub fans events out to the pages listening on a key: "c:<chat>" for a
// visitor's chat, "staff" for every signed-in inbox, "s:<name>" for one
// staff member's notices.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan event]struct{}
}

func newHub() *hub { return &hub{subs: map[string]map[chan event]struct{}{}} }

// subscribe returns a channel of the key's events and the function that
// ends the subscription. The channel is closed if the page falls too far
// behind; the page then reconnects and catches up from the database.
func (h *hub) subscribe(keys ...string) (<-chan event, func()) {
	ch := make(chan event, 64)
	h.mu.Lock()
	for _, k := range keys {
		if h.subs[k] == nil {
			h.subs[k] = map[chan event]struct{}{}
		}
		h.subs[k][ch] = struct{}{}
	}
	h.mu.Unlock()
	return ch, func() { h.drop(ch, keys) }
}

func (h *hub) drop(ch chan event, keys []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	present := false
	for _, k := range keys {
		if _, ok := h.subs[k][ch]; ok {
			present = true
			delete(h.subs[k], ch)
			if len(h.subs[k]) == 0 {
				delete(h.subs, k)
			}
		}
	}
	if present {
		close(ch)
	}
}

// publish never blocks the dispatcher: a page that cannot keep up is cut
// off (its channel closed) rather than slowing every other chat.
func (h *hub) publish(key string, e event) {
	h.mu.Lock()
	var slow []chan event
	for ch := range h.subs[key] {
		select {
		case ch <- e:
		default:
			slow = append(slow, ch)
		}
	}
	h.mu.Unlock()
	for _, ch := range slow {
		h.dropAll(ch)
	}
}

func (h *hub) dropAll(ch chan event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	present := false
	for k, m := range h.subs {
		if _, ok := m[ch]; ok {
			present = true
			delete(m, ch)
			if len(m) == 0 {
				delete(h.subs, k)
			}
		}
	}
	if present {
		close(ch)
	}
}

// has reports whether any page listens on key.
func (h *hub) has(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[key]) > 0
}

// reset cuts every page off (closes its channel). Each reconnects and
// catches up from the database: what to do when events may have been
// missed, such as while the replicas' relay was down.
func (h *hub) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	closed := map[chan event]bool{}
	for _, m := range h.subs {
		for ch := range m {
			if !closed[ch] {
				closed[ch] = true
				close(ch)
			}
		}
	}
	clear(h.subs)
}

// cut cuts off the pages listening on key: they reconnect and catch up
// from the database (an event for them could not be loaded).
func (h *hub) cut(key string) {
	h.mu.Lock()
	chs := make([]chan event, 0, len(h.subs[key]))
	for ch := range h.subs[key] {
		chs = append(chs, ch)
	}
	h.mu.Unlock()
	for _, ch := range chs {
		h.dropAll(ch)
	}
}
