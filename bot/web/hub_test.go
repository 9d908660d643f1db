package web

import (
	"testing"
	"time"
)

func TestHubFanOutAndSlowSubscriber(t *testing.T) {
	h := newHub()
	a, stopA := h.subscribe("c:a", "staff")
	defer stopA()
	b, stopB := h.subscribe("c:b")
	defer stopB()
	h.publish("c:a", event{Name: "message", ID: 1})
	h.publish("staff", event{Name: "ticket"})
	if e := <-a; e.ID != 1 {
		t.Fatalf("a got %+v first; want message 1", e)
	}
	if e := <-a; e.Name != "ticket" {
		t.Fatalf("a got %+v; want the staff event", e)
	}
	select {
	case e := <-b:
		t.Fatalf("b got %+v, meant for a", e)
	default:
	}
	// b never reads: once its buffer is full it is cut off (channel
	// closed) and publishing never blocks.
	done := make(chan struct{})
	go func() {
		for i := range 200 {
			h.publish("c:b", event{ID: uint64(i)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("publish blocked on a slow subscriber")
	}
	n := 0
	for range b {
		n++
	}
	if n != 64 {
		t.Errorf("slow subscriber got %d events before being cut off; want its buffer (64)", n)
	}
	stopB() // ending a cut-off subscription is harmless
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs["c:b"]; ok {
		t.Error("cut-off subscriber still registered")
	}
}

// TestHubResetAndCut: reset ends every page's stream (each then catches up
// from the database), cut only the pages of one key; ending a subscription
// afterwards is harmless.
func TestHubResetAndCut(t *testing.T) {
	h := newHub()
	a, stopA := h.subscribe("c:a", "staff")
	defer stopA()
	b, stopB := h.subscribe("c:b")
	defer stopB()
	if !h.has("c:a") || !h.has("staff") || h.has("c:x") {
		t.Fatal("has is wrong before cut")
	}
	h.cut("c:a")
	if _, open := <-a; open {
		t.Error("a's stream still open after cut")
	}
	if h.has("staff") {
		t.Error("a is still subscribed to its other key after cut")
	}
	h.publish("c:b", event{Name: "message", ID: 2})
	if e := <-b; e.ID != 2 {
		t.Errorf("b got %+v after a was cut", e)
	}
	h.reset()
	if _, open := <-b; open {
		t.Error("b's stream still open after reset")
	}
	if h.has("c:b") {
		t.Error("b still subscribed after reset")
	}
	stopA()
	stopB() // no double close
}
