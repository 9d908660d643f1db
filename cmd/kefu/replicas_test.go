package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // to read the shared database directly

	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// roundRobin is the load balancer in front of the replicas: each webhook
// request goes to the next replica, and to the one after if that one does
// not answer 200 (as a balancer with retries or health checks would).
type roundRobin struct {
	mu       sync.Mutex
	backends []string
	next     int
	served   []atomic.Int64
}

func (p *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	start := p.next
	p.next = (p.next + 1) % len(p.backends)
	p.mu.Unlock()
	for i := range p.backends {
		b := (start + i) % len(p.backends)
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, p.backends[b]+telegramWebhookPath, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			p.served[b].Add(1)
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	http.Error(w, "no replica answered", http.StatusBadGateway)
}

// TestReplicasOnePostgres runs three `kefu run` replicas on one PostgreSQL
// database behind a round-robin balancer, with Telegram in webhook mode.
// Customers write in twelve chats; (fake) Telegram delivers each chat's
// updates in order, retrying until one is answered 200, as Telegram does.
// A third of the way in, one replica is killed with SIGKILL. Then: every
// update is stored once, every reply is sent and recorded, and each chat
// received exactly its recorded replies, in order. As in TestCrashSoak, a
// kill between Telegram accepting a reply and kefu recording it makes that
// reply go out again (Telegram has no idempotency key): such repeats are
// counted and bounded, not hidden.
func TestReplicasOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	if os.Getenv(modelstest.EnvPostgresDSN) == "" {
		t.Skip("needs PostgreSQL: set " + modelstest.EnvPostgresDSN)
	}
	// Several processes on one database is what PostgreSQL is for; it runs
	// once, in the PostgreSQL run (the SQLite run would only repeat it).
	if modelstest.Driver() != "postgres" {
		t.Skip("PostgreSQL only; runs in the PostgreSQL run")
	}
	dsn := modelstest.PostgresDSN(t)
	fake := &fakeTelegram{}
	tg := httptest.NewServer(fake)
	defer tg.Close()
	const secret = "replica-secret"
	env := append(os.Environ(), "KEFU_TEST_AS_MAIN=1", "KEFU_DATABASE_DRIVER=postgres", "KEFU_DATABASE_DSN="+dsn,
		"KEFU_HTTP_ADDR=127.0.0.1:0", "KEFU_TELEGRAM_TOKEN=123456:replica-token",
		"KEFU_TELEGRAM_API_ENDPOINT="+tg.URL+"/bot%s/%s", "KEFU_TELEGRAM_MODE=webhook",
		"KEFU_TELEGRAM_WEBHOOK_URL=https://kefu.example/telegram/webhook", "KEFU_TELEGRAM_WEBHOOK_SECRET="+secret,
		"KEFU_DISPATCHER_SWEEP_INTERVAL=200ms", "KEFU_DISPATCHER_LEASE=2s", "KEFU_DEMO_SEED=false", "KEFU_LOG_LEVEL=warn")

	// Three replicas start at once (their migrations take turns).
	const replicas = 3
	cmds := make([]*exec.Cmd, replicas)
	outs := make([]*syncBuffer, replicas)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "run")
		cmds[i].Env = env
		outs[i] = &syncBuffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	alive := make([]bool, replicas)
	defer func() {
		for i, c := range cmds {
			if alive[i] {
				c.Process.Kill()
				c.Wait()
			}
		}
	}()
	lb := &roundRobin{served: make([]atomic.Int64, replicas)}
	for i := range cmds {
		alive[i] = true
		lb.backends = append(lb.backends, strings.TrimSuffix(waitForURL(t, outs[i]), "/healthz"))
	}
	front := httptest.NewServer(lb)
	defer front.Close()

	// Telegram: per chat, one update at a time, retried until answered.
	const chats, perChat = 12, 15
	var updateID atomic.Int64
	var delivered atomic.Int64
	deliver := func(ctx context.Context, u map[string]any) {
		u["update_id"] = updateID.Add(1)
		body, _ := json.Marshal(u)
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, front.URL, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					delivered.Add(1)
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	began := time.Now()
	for c := range chats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chat := int64(7000 + c)
			for i := range perChat {
				deliver(ctx, tgMessage(chat, chat, "C"+strconv.Itoa(c), fmt.Sprintf("hello %d", i), 0))
				time.Sleep(60 * time.Millisecond)
			}
		}()
	}
	// Kill one replica a third of the way in.
	for delivered.Load() < chats*perChat/3 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	const victim = 1
	if err := cmds[victim].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmds[victim].Wait()
	alive[victim] = false
	killedAt := delivered.Load()
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("updates not all answered within a minute: %d of %d", delivered.Load(), chats*perChat)
	}

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Every reply out: nothing pending.
	// A killed replica's claims stand until their lease (30 s) runs out;
	// under a loaded CI machine give the others time past that.
	deadline := time.Now().Add(90 * time.Second)
	for {
		var pending int
		if err := db.QueryRow(`SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status = 'pending'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d replies still pending 90s after the last update", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a stray duplicate send would land by now

	var inbound, distinct int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT external_id) FROM messages WHERE direction = 'in'`).Scan(&inbound, &distinct); err != nil {
		t.Fatal(err)
	}
	if inbound != chats*perChat || distinct != inbound {
		t.Errorf("stored %d inbound messages (%d distinct) for %d updates; want each once", inbound, distinct, chats*perChat)
	}
	repeats, replies := 0, 0
	for c := range chats {
		chat := int64(7000 + c)
		rows, err := db.Query(`SELECT id, status, platform_id FROM messages WHERE direction = 'out' AND chat_id = $1 ORDER BY id`,
			strconv.FormatInt(chat, 10))
		if err != nil {
			t.Fatal(err)
		}
		// Telegram's message id, which kefu records as platform_id, ties
		// each message Telegram received to its outbox row.
		rowOf := map[string]int64{}
		var want []int64
		for rows.Next() {
			var id int64
			var status, pid string
			rows.Scan(&id, &status, &pid)
			if status != models.StatusSent {
				t.Errorf("chat %d: reply %d is %s", chat, id, status)
			}
			rowOf[pid] = id
			want = append(want, id)
		}
		rows.Close()
		// Every customer message was answered: the replies of a turn are
		// stored with it, so each inbound row has replies after it.
		var unanswered int
		db.QueryRow(`SELECT COUNT(*) FROM messages i WHERE i.direction = 'in' AND i.chat_id = $1 AND NOT EXISTS
			(SELECT 1 FROM messages o WHERE o.direction = 'out' AND o.chat_id = i.chat_id AND o.id > i.id)`, strconv.FormatInt(chat, 10)).Scan(&unanswered)
		if unanswered != 0 {
			t.Errorf("chat %d: %d customer messages without a reply after them", chat, unanswered)
		}
		// What Telegram received, in arrival order: each recorded reply
		// once, in id order; anything else is a send the kill left
		// unrecorded, which another replica then sent again.
		seen := map[int64]bool{}
		var last int64
		n := 0
		for _, m := range fake.messages(chat, "") {
			id, ok := rowOf[strconv.Itoa(m.ID)]
			switch {
			case !ok:
				n++
			case seen[id]:
				t.Errorf("chat %d: reply %d received twice", chat, id)
			case id < last:
				t.Errorf("chat %d: reply %d received after reply %d", chat, id, last)
			}
			if ok {
				seen[id], last = true, max(last, id)
			}
		}
		if len(seen) != len(want) {
			t.Errorf("chat %d: Telegram received %d of %d recorded replies", chat, len(seen), len(want))
		}
		repeats += n
		replies += len(want)
	}
	served := make([]int64, replicas)
	for i := range served {
		served[i] = lb.served[i].Load()
	}
	t.Logf("%d replicas, replica %d killed after %d of %d updates; %d replies in %s; updates served per replica %v; %d replies repeated by the kill",
		replicas, victim, killedAt, chats*perChat, replies, time.Since(began).Round(time.Millisecond), served, repeats)
	if repeats > 8 {
		t.Errorf("%d repeated replies for one kill; want at most the sends in flight at the kill", repeats)
	}
	for i, c := range cmds {
		if !alive[i] {
			continue
		}
		c.Process.Signal(syscall.SIGTERM)
		if err := c.Wait(); err != nil {
			t.Errorf("replica %d: %v\n%s", i, err, outs[i].String())
		}
		alive[i] = false
	}
}
