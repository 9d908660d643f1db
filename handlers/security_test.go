package handlers_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/handlers"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// secHarness drives the real handlers on a demo shop and records every
// outbound row by turn.
type secHarness struct {
	t      *testing.T
	e      *bot.Engine
	db     *models.DB
	dsn    string
	mu     sync.Mutex
	rows   []*models.Message
	seq    int
	now    time.Time
	logBuf *bytes.Buffer
}

func newSecHarness(t *testing.T, deps handlers.Deps, log *slog.Logger) *secHarness {
	t.Helper()
	h := &secHarness{t: t, dsn: modelstest.DSN(t), now: time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)}
	h.e, h.db = newEngine(t, setup{Deps: deps, DSN: h.dsn, Log: log, Now: func() time.Time { return h.now },
		Notify: func(m []*models.Message) { h.mu.Lock(); h.rows = append(h.rows, m...); h.mu.Unlock() }})
	ctx := context.Background()
	if err := h.db.Write(ctx, func(s *models.Store) error { _, err := s.SeedDemo(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	return h
}

// send runs one turn and returns what it queued.
func (h *secHarness) send(in bot.Inbound) []*models.Message {
	h.t.Helper()
	h.seq++
	h.now = h.now.Add(time.Minute)
	in.Channel, in.MessageID = "console", fmt.Sprint("sec", h.seq)
	if in.ChatID == "" {
		in.ChatID = "customer:" + in.UserID
	}
	if in.UserName == "" {
		in.UserName = in.UserID
	}
	h.mu.Lock()
	h.rows = nil
	h.mu.Unlock()
	if _, err := h.e.Handle(context.Background(), in); err != nil {
		h.t.Fatalf("%+v: %v", in, err)
	}
	if _, err := h.e.RunDueJobs(context.Background(), 100); err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.rows)
}

func (h *secHarness) say(user, text string) []*models.Message {
	return h.send(bot.Inbound{UserID: user, Text: text})
}

func (h *secHarness) staff(text string) []*models.Message {
	return h.send(bot.Inbound{UserID: "mei", ChatID: "staff", Text: text, Staff: true, Room: true})
}

// rawDB opens the harness's database past the Store, with database/sql, to
// read the tables themselves (read-only on SQLite) or, in one test, break
// one. The caller closes it.
func rawDB(t *testing.T, dsn string, readOnly bool) *sql.DB {
	t.Helper()
	driver, name := "sqlite3", "file:"+dsn
	if readOnly {
		name += "?mode=ro"
	}
	if modelstest.Driver() == "postgres" {
		driver, name = "pgx", dsn // the DSN's search_path is the test's schema
	}
	db, err := sql.Open(driver, name)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// tableNames lists the tables of the harness's database, sorted.
func tableNames(t *testing.T, db *sql.DB) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if modelstest.Driver() == "postgres" {
		q = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return tables
}

// snapshot reads every row of every table, except the rows the attacker
// may legitimately touch: their own customer, identity and conversations
// (last seen, last activity) and the messages table, which checkMessages
// judges separately.
func snapshot(t *testing.T, dsn string, attacker uint64, chats []string) map[string][]string {
	t.Helper()
	db := rawDB(t, dsn, true)
	defer db.Close()
	tables := tableNames(t, db)
	if len(tables) < 10 {
		t.Fatalf("only tables %v", tables)
	}
	in := "'" + strings.Join(chats, "','") + "'"
	out := map[string][]string{}
	for _, table := range tables {
		q := "SELECT * FROM " + table
		switch table {
		case "messages":
			continue
		case "customers":
			q += fmt.Sprintf(" WHERE id != %d", attacker)
		case "identities":
			q += fmt.Sprintf(" WHERE customer_id != %d", attacker)
		case "conversations":
			q += " WHERE chat_id NOT IN (" + in + ")"
		}
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				fmt.Fprintf(&b, "%s=%s ", cols[i], v)
			}
			out[table] = append(out[table], b.String())
		}
		rows.Close()
		// Rows in no particular order (PostgreSQL has no rowid, and moves
		// a row it rewrites): what must not change is the set of rows.
		slices.Sort(out[table])
	}
	return out
}

// newMessages reads the messages after id, straight from the table.
func newMessages(t *testing.T, dsn string, after uint64) (ids []uint64, desc []string) {
	t.Helper()
	db := rawDB(t, dsn, true)
	defer db.Close()
	rows, err := db.Query(fmt.Sprintf(`SELECT id, chat_id, direction, sender_id, text FROM messages WHERE id > %d ORDER BY id`, after))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uint64
		var chat, dir, sender, text string
		if err := rows.Scan(&id, &chat, &dir, &sender, &text); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		desc = append(desc, fmt.Sprintf("%d %s %s %s %q", id, chat, dir, sender, text))
	}
	return ids, desc
}

// TestStaffCommandsFromNonStaffChangeNothing sends every staff command, and
// the staff buttons and card replies, from someone the platform did not
// verify as staff — in their own chat and in the staff room itself — and
// compares every table before and after: nothing anyone else owns changes,
// nothing is sent to anyone but the sender, and the sender learns nothing.
func TestStaffCommandsFromNonStaffChangeNothing(t *testing.T) {
	h := newSecHarness(t, handlers.Deps{}, nil)
	cat, err := bot.NewCatalog(handlers.Locales())
	if err != nil {
		t.Fatal(err)
	}
	staffOnly := cat.T("en", "engine.staff_only", nil)
	// The shop: alice verified with an open return request (T-1002), carol
	// in a handoff (T-1003), 李伟's resolved T-1001 from the demo.
	h.say("alice", "I want to return order 20261020002")
	h.say("alice", "0142")
	h.send(bot.Inbound{UserID: "alice", Data: "rt:i:all"})
	h.send(bot.Inbound{UserID: "alice", Data: "rt:r:no_reason"})
	if got := h.send(bot.Inbound{UserID: "alice", Data: "rt:done"}); len(got) == 0 || !strings.Contains(got[0].Text, "T-1002") {
		t.Fatalf("return request not filed: %v", got)
	}
	if got := h.say("carol", "I want to talk to a person"); len(got) == 0 || !strings.Contains(got[0].Text, "T-1003") {
		t.Fatalf("handoff not opened: %v", got)
	}
	h.say("mallory", "hello") // the attacker exists before the snapshot
	var attacker uint64
	{
		db := rawDB(t, h.dsn, true)
		err := db.QueryRow(`SELECT customer_id FROM identities WHERE external_id = 'mallory'`).Scan(&attacker)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	chats := []string{"customer:mallory", "staff"}
	_, before := newMessages(t, h.dsn, 0)
	lastBefore := uint64(len(before))
	snapBefore := snapshot(t, h.dsn, attacker, chats)

	commands := []string{
		"/tickets", "/claim T-1002", "/claim T-1003", "/reply T-1003 I am staff, send me your address",
		"/resolve T-1002", "/resolve T-1003 done", "/reopen T-1001", "/note T-1003 fine", "/priority T-1003 P1",
		"/transfer T-1003 mallory", "/customer T-1002", "/customer T-1001", "/compensate T-1003 points 5000",
		"/compensate T-1003 coupon FREESHIP", "/adjust C1002 -2000 gone", "/adjust T-1003 +100000 rich",
		"/approve T-1002 ok", "/reject T-1002 no", "/order 20261101001", "/order 20261015003",
		"/RESOLVE T-1003", "/resolve@kefu_bot T-1003", "/resolve\nT-1003",
	}
	type attack struct {
		name string
		in   bot.Inbound
		want string // the one reply the attacker may get; "" for silence
	}
	var attacks []attack
	for _, c := range commands {
		attacks = append(attacks,
			attack{"chat " + c, bot.Inbound{UserID: "mallory", Text: c}, staffOnly},
			attack{"room " + c, bot.Inbound{UserID: "mallory", ChatID: "staff", Room: true, Text: c}, staffOnly})
	}
	for _, d := range []string{"st:claim:T-1003", "st:resolve:T-1003", "st:priority:T-1003:P1", "fu:no:1", "fu:yes:1", "rt:done"} {
		attacks = append(attacks,
			attack{"chat button " + d, bot.Inbound{UserID: "mallory", Data: d}, "*"},
			attack{"room button " + d, bot.Inbound{UserID: "mallory", ChatID: "staff", Room: true, Data: d}, ""})
	}
	// In the staff room a customer's own buttons do nothing either (pressed
	// in their own chat, pv:forget would rightly forget the presser).
	attacks = append(attacks, attack{"room button pv:forget", bot.Inbound{UserID: "mallory", ChatID: "staff", Room: true, Data: "pv:forget"}, ""})
	attacks = append(attacks,
		attack{"room text", bot.Inbound{UserID: "mallory", ChatID: "staff", Room: true, Text: "T-1003 please send your card number"}, ""},
		attack{"room thread", bot.Inbound{UserID: "mallory", ChatID: "staff", Room: true, Thread: "1", Text: "hello from the thread"}, ""})

	for _, a := range attacks {
		got := h.send(a.in)
		switch {
		case a.want == "" && len(got) != 0:
			t.Errorf("%s: got replies %v; want silence", a.name, got)
		case a.want != "" && len(got) != 1:
			t.Errorf("%s: got %d replies %v; want one", a.name, len(got), got)
		case a.want != "" && a.want != "*" && got[0].Text != a.want:
			t.Errorf("%s: reply %q; want %q", a.name, got[0].Text, a.want)
		}
		for _, m := range got {
			if m.ChatID != a.in.ChatID && !(a.in.ChatID == "" && m.ChatID == "customer:mallory") {
				t.Errorf("%s: a message to %s: %q", a.name, m.ChatID, m.Text)
			}
			for _, leak := range []string{"Alice", "李伟", "carol", "20261020002", "0142", "points"} {
				if strings.Contains(m.Text, leak) {
					t.Errorf("%s: reply %q tells %q", a.name, m.Text, leak)
				}
			}
		}
	}

	snapAfter := snapshot(t, h.dsn, attacker, chats)
	for table, rows := range snapBefore {
		if !slices.Equal(rows, snapAfter[table]) {
			t.Errorf("table %s changed:\nbefore %q\nafter  %q", table, rows, snapAfter[table])
		}
	}
	for table, rows := range snapAfter {
		if _, ok := snapBefore[table]; !ok && len(rows) > 0 {
			t.Errorf("table %s gained rows: %q", table, rows)
		}
	}
	// Messages: the old rows are as they were; the new ones are the
	// attacker's own and the answers to them, nothing for anyone else.
	_, after := newMessages(t, h.dsn, 0)
	if !slices.Equal(before, after[:len(before)]) {
		t.Error("stored messages changed")
	}
	_, added := newMessages(t, h.dsn, lastBefore)
	for _, d := range added {
		f := strings.Fields(d)
		// In the staff room the refusal is answered where it was typed.
		refusal := f[2] == "out" && f[1] == "staff" && strings.HasSuffix(d, fmt.Sprintf("%q", staffOnly))
		if !(f[2] == "in" && f[3] == "mallory" || f[2] == "out" && f[1] == "customer:mallory" || refusal) {
			t.Errorf("new message not the attacker's: %s", d)
		}
	}
	if len(added) < len(attacks) {
		t.Errorf("%d new messages for %d attacks: inbound messages must still be stored", len(added), len(attacks))
	}
}

// TestLogsCarryNoPersonalData runs a customer's whole story — a name, a
// phone number, an address, a password typed by mistake, an order
// verification, a complaint, a handoff, staff's reply and note, /mydata and
// /forget — through the engine with a JSON log at Info, and fails if any of
// it appears in the log. Ids, counts and kinds are what logs are for.
func TestLogsCarryNoPersonalData(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := newSecHarness(t, handlers.Deps{}, log)
	const (
		name     = "Zebediah Quuxington"
		phone    = "13987654321"
		address  = "88 Secretlane Road"
		password = "hunter2-XYZZY"
		zhSecret = "我的身份证号码是机密"
		staffTxt = "STAFFONLY-note-7731"
		replyTxt = "your-courier-code-5512"
	)
	zeb := func(text string) []*models.Message {
		return h.send(bot.Inbound{UserID: "zeb", UserName: name, Text: text})
	}
	zebPress := func(data string) []*models.Message {
		return h.send(bot.Inbound{UserID: "zeb", UserName: name, Data: data})
	}
	zeb("hello, I am " + name + ", phone " + phone)
	zeb("where is my order 20261101001")
	zeb("1234") // a failed verification is logged
	zeb("0142")
	zeb("my parcel arrived broken and it is a fake product, this is a scam! I live at " + address)
	zeb("20261101001")
	zebPress("cp:done")
	zeb("oops my password is " + password + " and " + zhSecret)
	h.staff("/claim T-1002")
	h.staff("/note T-1002 " + staffTxt)
	h.staff("/reply T-1002 " + replyTxt)
	h.staff("/customer T-1002")
	h.staff("/resolve T-1002 " + staffTxt)
	zeb("/mydata")
	zeb("/forget")
	zebPress("pv:forget")
	h.now = h.now.Add(48 * time.Hour)
	if _, err := h.e.RunDueJobs(context.Background(), 100); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	out := logs.String()
	mu.Unlock()
	// The story did log: otherwise this test proves nothing.
	for _, want := range []string{"ticket opened", "order verified", "order verification failed", "privacy: data exported", "privacy: customer forgotten"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q; the story did not run as planned:\n%s", want, out)
		}
	}
	for _, secret := range []string{name, "Zebediah", "Quuxington", phone, address, "Secretlane", password, zhSecret,
		"身份证", staffTxt, replyTxt, "fake product", "0142", "Alice Chen", "alice@example.com", "SF1402883710277"} {
		if strings.Contains(out, secret) {
			t.Errorf("log above debug contains %q:\n%s", secret, out)
		}
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestCustomersNeverSeeInternalErrors breaks the database under a running
// bot (a table vanishes, as after a botched manual migration), so /mydata
// and /forget fail halfway with the database's own error text: the customer gets
// the catalogue's apology in their language and nothing of the error, the
// operator finds the error in the log, and the half-done /forget left
// nothing behind — name, messages, accounts and orders are all still there.
func TestCustomersNeverSeeInternalErrors(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := newSecHarness(t, handlers.Deps{}, log)
	cat, err := bot.NewCatalog(handlers.Locales())
	if err != nil {
		t.Fatal(err)
	}
	// Alice proves her order, so /forget has orders, links and messages
	// to erase before it reaches the missing table.
	h.say("alice", "where is my order 20261101001")
	h.say("alice", "0142")
	h.say("wangfang", "你好")
	db := rawDB(t, h.dsn, false)
	defer db.Close()
	count := func(q string) int {
		t.Helper()
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	last := count(`SELECT max(id) FROM messages`)
	personal := `SELECT (SELECT count(*) FROM customers WHERE name IN ('Alice Chen', '王芳'))
		+ (SELECT count(*) FROM messages WHERE text != '' AND chat_id IN ('customer:alice', 'customer:wangfang') AND id <= ` + fmt.Sprint(last) + `)
		+ (SELECT count(*) FROM identities WHERE external_id IN ('alice', 'wangfang'))
		+ (SELECT count(*) FROM orders WHERE phone != '')
		+ (SELECT count(*) FROM identity_links)`
	before := count(personal)
	if _, err := db.Exec(`DROP TABLE feedback_notes`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, user, locale string
		in                 bot.Inbound
	}{
		{"ExportEN", "alice", "en", bot.Inbound{Text: "/mydata"}},
		{"ForgetEN", "alice", "en", bot.Inbound{Data: "pv:forget"}},
		{"ExportZH", "wangfang", "zh", bot.Inbound{Text: "/mydata"}},
		{"ForgetZH", "wangfang", "zh", bot.Inbound{Data: "pv:forget"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.UserID, in.Locale = tc.user, tc.locale
			got := h.send(in)
			want := cat.T(tc.locale, "engine.error", nil)
			if len(got) != 1 || got[0].Text != want {
				t.Fatalf("replies %q; want only %q", texts(got), want)
			}
			if len(got[0].Payload.Attachments) > 0 {
				t.Errorf("a half-built export was sent: %v", got[0].Payload.Attachments)
			}
		})
	}
	if after := count(personal); after != before {
		t.Errorf("a failed /forget erased part of the data: %d personal rows before, %d after", before, after)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, "feedback_notes") || !strings.Contains(out, `"level":"ERROR"`) {
		t.Errorf("the operator cannot see the internal error:\n%s", out)
	}
}

// TestOrderDigitsCannotBeGuessedWithManyAccounts: the per-chat lock (3 a
// hour) alone lets someone with many accounts try all 10,000 endings of an
// order's phone in an afternoon. Ten misses on one order number within a
// day, from any chats, lock that number for everyone — the same way for an
// order that does not exist, so the lock tells nothing — while other
// orders stay open, and the lock lifts after the day.
func TestOrderDigitsCannotBeGuessedWithManyAccounts(t *testing.T) {
	h := newSecHarness(t, handlers.Deps{}, nil)
	cat, err := bot.NewCatalog(handlers.Locales())
	if err != nil {
		t.Fatal(err)
	}
	locked := strings.SplitN(cat.T("en", "order.verify_locked", map[string]any{"Time": "X"}), "X", 2)[0]
	for _, ref := range []string{"20261101001", "20269999999"} {
		guess := 0
		for n := 1; n <= 4; n++ {
			user := fmt.Sprintf("guesser%d-%s", n, ref)
			h.say(user, "where is my order "+ref)
			for try := 0; try < 3 && guess < 10; try++ {
				h.say(user, fmt.Sprintf("%04d", 1000+guess))
				guess++
			}
		}
		// The eleventh chat, even with the right digits, is refused.
		got := h.say("lucky-"+ref, "where is my order "+ref)
		if len(got) == 0 || !strings.HasPrefix(got[0].Text, locked) {
			t.Fatalf("%s: after 10 misses a new chat got %v; want the lock", ref, texts(got))
		}
		got = h.say("lucky-"+ref, "0142")
		for _, m := range got {
			if strings.Contains(m.Text, "SF1402883710277") || strings.Contains(m.Text, "shipped") {
				t.Fatalf("%s: a locked order was shown: %q", ref, m.Text)
			}
		}
	}
	// Alice's other order is unaffected, and hers unlocks after the day.
	got := h.say("alice", "where is my order 20261020002")
	if len(got) == 0 || strings.HasPrefix(got[0].Text, locked) {
		t.Fatalf("another order is locked too: %v", texts(got))
	}
	h.say("alice", "0142")
	h.now = h.now.Add(25 * time.Hour)
	h.say("late", "where is my order 20261101001")
	got = h.say("late", "0142")
	if len(got) < 2 || !strings.Contains(got[1].Text, "SF1402883710277") {
		t.Fatalf("the lock did not lift after a day: %v", texts(got))
	}
}

func texts(ms []*models.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

// TestCustomerButtonsInTheStaffRoomAreHarmless: in a staff room, staff
// buttons are routed first and customer buttons after them (a staff member
// may press a menu button there). A customer button has no customer in the
// staff room; pressing any of them, even forged, must not fail the turn or
// act on anyone.
func TestCustomerButtonsInTheStaffRoomAreHarmless(t *testing.T) {
	h := newSecHarness(t, handlers.Deps{}, nil)
	cat, err := bot.NewCatalog(handlers.Locales())
	if err != nil {
		t.Fatal(err)
	}
	apology := cat.T("en", "engine.error", nil)
	h.say("carol", "I want to talk to a person") // T-1002, carol's chat in handoff
	for _, d := range []string{"menu:help", "menu:complaint", "lang:zh", "handoff:start", "handoff:cancel", "cg:product",
		"cc:product.quality", "cp:done", "fu:yes:1", "fu:no:1", "rw:list", "rw:pick:1", "rw:ok:1:x", "pv:forget", "pv:keep",
		"ord:status:20261101001", "rt:new", "rt:done", "sv:stop", "sv:a:1:0:5"} {
		got := h.send(bot.Inbound{UserID: "mei", ChatID: "staff", Staff: true, Room: true, Data: d})
		for _, m := range got {
			if m.Text == apology {
				t.Errorf("staff pressing %s in the staff room failed the turn", d)
			}
			if m.ChatID != "staff" {
				t.Errorf("staff pressing %s in the staff room sent %q to %s", d, m.Text, m.ChatID)
			}
		}
	}
	got := h.staff("/customer T-1002")
	if len(got) != 1 || !strings.Contains(got[0].Text, "T-1002 · new") {
		t.Errorf("T-1002 changed: %v", texts(got))
	}
}

// TestForgetThroughTheBotLeavesNothingPersonal: a customer's whole story
// through the real handlers — what they wrote, what staff wrote back and
// noted, the copies in the staff room — then /forget; afterwards no table
// holds any of it. (models' test proves the same for rows it seeds; this
// one catches rows the handlers write that it does not know about.)
func TestForgetThroughTheBotLeavesNothingPersonal(t *testing.T) {
	h := newSecHarness(t, handlers.Deps{}, nil)
	const (
		name     = "Zebediah Quuxington"
		phone    = "13987654321"
		address  = "88 Secretlane Road"
		password = "hunter2-XYZZY"
		zhSecret = "我的身份证号码是机密"
		reply    = "your-courier-code-5512"
		note     = "STAFFONLY-note-7731"
		feedback = "the-jasmine-tea-is-lovely"
	)
	zeb := func(text string) []*models.Message {
		return h.send(bot.Inbound{UserID: "zeb", UserName: name, Text: text})
	}
	zeb("hello, I am " + name + ", phone " + phone)
	zeb("my parcel arrived broken and it is a fake product, this is a scam! I live at " + address)
	zeb("20261101007")
	h.send(bot.Inbound{UserID: "zeb", UserName: name, Data: "cp:done"})
	zeb("oops my password is " + password + " and " + zhSecret)
	h.staff("/claim T-1002")
	h.staff("/note T-1002 " + note + " " + name)
	h.staff("/reply T-1002 " + reply)
	h.staff("/customer T-1002")
	h.staff("/resolve T-1002 " + note)
	h.send(bot.Inbound{UserID: "zeb", UserName: name, Data: "fu:yes:2"})
	zeb("feedback: " + feedback + ", love it")
	zeb("/forget")
	if got := h.send(bot.Inbound{UserID: "zeb", UserName: name, Data: "pv:forget"}); len(got) == 0 {
		t.Fatal("no answer to pv:forget")
	}
	h.now = h.now.Add(48 * time.Hour)
	if _, err := h.e.RunDueJobs(context.Background(), 100); err != nil {
		t.Fatal(err)
	}

	db := rawDB(t, h.dsn, true)
	defer db.Close()
	tables := tableNames(t, db)
	secrets := []string{name, "Zebediah", "Quuxington", phone, address, "Secretlane", password, zhSecret, "身份证",
		reply, note, feedback, "fake product"}
	for _, table := range tables {
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				for _, s := range secrets {
					if bytes.Contains(v, []byte(s)) {
						t.Errorf("after /forget %s.%s holds %q: %.160s", table, cols[i], s, v)
					}
				}
			}
		}
		rows.Close()
	}
}

// TestProvingAnOrderDoesNotTakeOverItsCustomer: the last four digits of a
// phone are printed on every parcel label, so whoever holds alice's parcel
// can prove her order. That shows the order — and nothing more: carol's
// chat does not become alice (her points, tickets, conversations), carol's
// /mydata holds the order but not alice's name, phone or e-mail, and
// carol's /forget leaves alice alone.
func TestProvingAnOrderDoesNotTakeOverItsCustomer(t *testing.T) {
	h := newSecHarness(t, handlers.Deps{}, nil)
	h.say("alice", "hi, my secret wish is a-blue-teapot-4411")
	h.say("carol", "where is my order 20261101001")
	got := h.say("carol", "0142")
	if len(got) < 2 || !strings.Contains(got[1].Text, "SF1402883710277") {
		t.Fatalf("carol proved the order and did not see it: %q", texts(got))
	}
	got = h.say("carol", "/points")
	if len(got) == 0 || !strings.HasPrefix(got[0].Text, "You have 0 points") {
		t.Errorf("carol sees someone's points: %q", texts(got))
	}
	got = h.say("carol", "/mydata")
	if len(got) != 1 || len(got[0].Payload.Attachments) != 1 {
		t.Fatalf("no export: %q", texts(got))
	}
	export := string(got[0].Payload.Attachments[0].Data)
	if !strings.Contains(export, "20261101001") {
		t.Errorf("carol's export lacks the order she proved:\n%s", export)
	}
	for _, s := range []string{"Alice", "0013 0142", "alice@example.com", "a-blue-teapot-4411", "20261020002x"} {
		if strings.Contains(export, s) {
			t.Errorf("carol's export holds alice's %q:\n%s", s, export)
		}
	}
	h.send(bot.Inbound{UserID: "carol", Data: "pv:forget"})
	got = h.say("alice", "/points")
	if len(got) == 0 || !strings.HasPrefix(got[0].Text, "You have 2100 points") {
		t.Errorf("alice after carol's /forget: %q", texts(got))
	}
	got = h.say("alice", "hello")
	if len(got) == 0 || !strings.Contains(got[0].Text, "Alice Chen") {
		t.Errorf("alice lost her name: %q", texts(got))
	}
}
