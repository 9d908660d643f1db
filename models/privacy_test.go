package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/models/modelstest"
)

// privacyFixture is one customer's life in the shop: a chat, a ticket with
// a timeline, points with a staff reason, a reward.
type privacyFixture struct {
	cust    uint64
	secrets []string // everything personal this customer gave or was given
}

func openPrivacy(t *testing.T, now *time.Time) *DB {
	t.Helper()
	db, err := Open(context.Background(), Options{Driver: modelstest.Driver(), DSN: modelstest.DSN(t), Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func addPrivacyCustomer(t *testing.T, db *DB, who string) privacyFixture {
	t.Helper()
	ctx := context.Background()
	f := privacyFixture{secrets: []string{
		who + "-platform-id", who + " Fullname", who + " says: my phone is 1391234" + who,
		who + " reply text", who + " ticket subject", who + " staff note", who + " compensation", who + " adjust reason",
		who + " order name", "+86 139 0000 " + who, who + "@example.com", "SF" + who + "777", who + " return note",
		who + " return decision", who + " survey comment", who + " survey free text", who + " volunteered feedback",
	}}
	err := db.Write(ctx, func(s *Store) error {
		c, _, _, err := s.ResolveIdentity(ctx, Contact{Channel: "console", ExternalID: f.secrets[0], Name: f.secrets[1]})
		if err != nil {
			return err
		}
		f.cust = c.ID
		ref := who + "-ref"
		if err := s.q(ctx).Model(&Customer{}).Where("id = ?", c.ID).Updates(map[string]any{"ref": ref, "birth_month": 5}).Error; err != nil {
			return err
		}
		conv, err := s.Conversation(ctx, "console", "chat-"+f.secrets[0], KindCustomer, &c.ID)
		if err != nil {
			return err
		}
		ext := who + "-m1"
		if _, err := s.InsertInbound(ctx, &Message{ConversationID: conv.ID, Channel: "console", ChatID: conv.ChatID,
			ExternalID: &ext, SenderID: f.secrets[0], Text: f.secrets[2],
			Payload: Payload{Attachments: []Attachment{{Kind: "photo", FileID: who + "-photo"}}}}); err != nil {
			return err
		}
		if err := s.QueueOutbound(ctx, []*Message{{ConversationID: conv.ID, Channel: "console", ChatID: conv.ChatID, Text: f.secrets[3]}}); err != nil {
			return err
		}
		tk := &Ticket{CustomerID: c.ID, ConversationID: conv.ID, Kind: TicketKindComplaint, Category: "product.quality",
			Status: TicketNew, Subject: f.secrets[4], Compensation: f.secrets[6]}
		if err := s.CreateTicket(ctx, tk, "bot"); err != nil {
			return err
		}
		if err := s.AddTicketEvent(ctx, tk.ID, "note", "mei", f.secrets[5]); err != nil {
			return err
		}
		if _, _, err := s.AddPoints(ctx, Movement{CustomerID: c.ID, Kind: PointsEarn, Points: 700, Reason: "order", RefKind: RefOrder,
			RefID: who + "-o1", Key: who + ":earn"}); err != nil {
			return err
		}
		if _, _, err := s.AddPoints(ctx, Movement{CustomerID: c.ID, Kind: PointsAdjust, Credit: true, Points: 50,
			Reason: f.secrets[7], RefKind: RefStaff, Key: who + ":adj", Actor: "mei"}); err != nil {
			return err
		}
		var rw Reward
		if err := s.q(ctx).Where("code = ?", "MUG").Take(&rw).Error; err != nil {
			rw = Reward{Code: "MUG", NameEN: "Shop mug", NameZH: "马克杯", Cost: 100, Kind: RewardGoods, Stock: -1, Active: true}
			if err := s.CreateReward(ctx, &rw); err != nil {
				return err
			}
		}
		if _, _, err = s.Redeem(ctx, c.ID, rw.ID, who+":redeem"); err != nil {
			return err
		}
		o := &Order{Ref: who + "-o1", CustomerID: c.ID, Name: f.secrets[8], Phone: f.secrets[9], Email: f.secrets[10],
			Status: OrderDelivered, Total: 70000, Currency: "CNY", PlacedAt: s.Now(), Tracking: f.secrets[11],
			Items: []OrderItem{{Name: "tea", Qty: 1, Price: 70000}}}
		score := 2
		for _, row := range []any{o,
			&ReturnRequest{TicketID: tk.ID, CustomerID: c.ID, OrderRef: o.Ref, Reason: "faulty", Note: f.secrets[12],
				Status: "rejected", Decision: f.secrets[13], CreatedAt: s.Now()},
			&SurveyRequest{Key: who + ":csat", CustomerID: c.ID, ConversationID: conv.ID, Kind: "csat", Survey: "csat",
				State: "completed", SentAt: s.Now(), ExpiresAt: s.Now(), Score: &score, Comment: f.secrets[14],
				Answers: map[string][]string{"why": {f.secrets[15]}}},
			&FeedbackNote{CustomerID: c.ID, ConversationID: conv.ID, Text: f.secrets[16], CreatedAt: s.Now()},
		} {
			if err := s.q(ctx).Create(row).Error; err != nil {
				return err
			}
		}
		if err := s.SetOptOut(ctx, c.ID, TopicOrders, true); err != nil {
			return err
		}
		return s.SetConsent(ctx, c.ID, ConsentYes, "button")
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// everything returns every text value in every table, "table.column=value".
func everything(t *testing.T, db *DB) []string {
	t.Helper()
	ctx := context.Background()
	s := db.Read()
	var tables []string
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if s.postgres() {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	if err := s.q(ctx).Raw(q).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tb := range tables {
		rows, err := s.q(ctx).Raw("SELECT * FROM " + tb).Rows()
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				switch v := v.(type) {
				case string:
					out = append(out, tb+"."+cols[i]+"="+v)
				case []byte:
					out = append(out, tb+"."+cols[i]+"="+string(v))
				}
			}
		}
		rows.Close()
	}
	return out
}

func TestExportHoldsOnlyTheCustomersOwnData(t *testing.T) {
	now := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	db := openPrivacy(t, &now)
	ann := addPrivacyCustomer(t, db, "ann")
	ben := addPrivacyCustomer(t, db, "ben")

	x, err := db.Read().ExportCustomer(context.Background(), ann.cust)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(body)
	// Everything but the internal staff note (secrets[5]).
	want := append(slices.Clone(ann.secrets[:5]), ann.secrets[6:]...)
	for _, want := range append(want, "ann-ref", "ann-photo", "MUG-") {
		if !strings.Contains(doc, want) {
			t.Errorf("export lacks %q", want)
		}
	}
	if strings.Contains(doc, ann.secrets[5]) {
		t.Error("export holds an internal staff note")
	}
	for _, other := range append(ben.secrets, "ben-ref", "ben-photo") {
		if strings.Contains(doc, other) {
			t.Errorf("ann's export holds ben's %q", other)
		}
	}
	if len(x.Orders) != 1 || len(x.Returns) != 1 || len(x.Surveys) != 1 || len(x.Feedback) != 1 || x.Consent != ConsentYes ||
		len(x.OptOuts) != 1 {
		t.Errorf("export: %d orders, %d returns, %d surveys, %d feedback, consent %q, opt-outs %v",
			len(x.Orders), len(x.Returns), len(x.Surveys), len(x.Feedback), x.Consent, x.OptOuts)
	}
	if x.Customer.PointsBalance != 650 || len(x.Points) != 3 || len(x.Redemptions) != 1 || len(x.Tickets) != 1 ||
		len(x.Identities) != 1 || len(x.Conversations) != 1 || len(x.Conversations[0].Messages) != 2 {
		t.Errorf("export counts: balance %d, %d points, %d redemptions, %d tickets, %d identities, %d conversations",
			x.Customer.PointsBalance, len(x.Points), len(x.Redemptions), len(x.Tickets), len(x.Identities), len(x.Conversations))
	}
}

func TestForgetLeavesNothingPersonal(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	db := openPrivacy(t, &now)
	ann := addPrivacyCustomer(t, db, "ann")
	ben := addPrivacyCustomer(t, db, "ben")
	before, err := db.Read().PointsLiability(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	var forgotten *Forgotten
	if err := db.Write(ctx, func(s *Store) error {
		var err error
		forgotten, err = s.ForgetCustomer(ctx, ann.cust)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(forgotten.Tickets) != 1 || forgotten.Messages != 2 || len(forgotten.Conversations) != 1 {
		t.Fatalf("forgotten = %+v; want 1 ticket, 2 messages, 1 conversation", forgotten)
	}
	// The confirmation goes to the real chat, which its row keeps until
	// it is sent; the scrub then takes it off.
	conv := forgotten.Conversations[0]
	confirm := &Message{ConversationID: conv, Channel: "console", ChatID: "chat-" + ann.secrets[0], Text: "done"}
	scrub := func() int64 {
		t.Helper()
		var pending int64
		if err := db.Write(ctx, func(s *Store) error {
			var err error
			pending, err = s.ScrubConversation(ctx, conv)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return pending
	}
	if err := db.Write(ctx, func(s *Store) error { return s.QueueOutbound(ctx, []*Message{confirm}) }); err != nil {
		t.Fatal(err)
	}
	if n := scrub(); n != 1 {
		t.Errorf("scrub before the confirmation was sent: %d pending; want 1", n)
	}
	if err := db.Write(ctx, func(s *Store) error { return s.MarkSent(ctx, confirm.ID, "p1", now) }); err != nil {
		t.Fatal(err)
	}
	if n := scrub(); n != 0 {
		t.Errorf("scrub after the confirmation was sent: %d pending; want 0", n)
	}

	all := strings.Join(everything(t, db), "\n")
	for _, secret := range append(ann.secrets, "ann-ref", "ann-photo") {
		if strings.Contains(all, secret) {
			for _, line := range strings.Split(all, "\n") {
				if strings.Contains(line, secret) {
					t.Errorf("after forget, %q remains: %s", secret, line)
				}
			}
		}
	}
	for _, secret := range append(ben.secrets, "ben-ref", "ben-photo") {
		if !strings.Contains(all, secret) {
			t.Errorf("forgetting ann erased ben's %q", secret)
		}
	}

	// Aggregates hold: the ticket still counts, the points are still owed.
	after, err := db.Read().PointsLiability(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if after.Outstanding != before.Outstanding || after.Customers != before.Customers {
		t.Errorf("liability %+v after forget; want %+v", after, before)
	}
	since, err := db.Read().TicketsSince(ctx, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(since) != 2 {
		t.Errorf("%d tickets after forget; want both kept", len(since))
	}

	// The chat starts over as a new customer.
	err = db.Write(ctx, func(s *Store) error {
		c, _, created, err := s.ResolveIdentity(ctx, Contact{Channel: "console", ExternalID: "ann-platform-id", Name: "Ann"})
		if err != nil {
			return err
		}
		if !created || c.ID == ann.cust {
			t.Errorf("after forget the platform id resolves to customer %d (created %v); want a new one", c.ID, created)
		}
		conv, err := s.Conversation(ctx, "console", "chat-ann-platform-id", KindCustomer, &c.ID)
		if err != nil {
			return err
		}
		if conv.CustomerID == nil || *conv.CustomerID != c.ID {
			t.Errorf("the chat's conversation belongs to %v; want the new customer %d", conv.CustomerID, c.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPurgeExpired(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	db := openPrivacy(t, &now)
	write := func(text string, pending bool) uint64 {
		t.Helper()
		var id uint64
		err := db.Write(ctx, func(s *Store) error {
			conv, err := s.Conversation(ctx, "console", "c1", KindCustomer, nil)
			if err != nil {
				return err
			}
			m := &Message{ConversationID: conv.ID, Channel: "console", ChatID: "c1", Text: text, CreatedAt: now,
				Payload: Payload{Attachments: []Attachment{{Kind: "photo", FileID: text + "-file"}}}}
			if pending {
				err = s.QueueOutbound(ctx, []*Message{m})
			} else {
				ext := fmt.Sprint("x", now.UnixNano())
				m.ExternalID = &ext
				_, err = s.InsertInbound(ctx, m)
			}
			id = m.ID
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	old1 := write("old one", false)
	old2 := write("old stuck reply", true)
	now = now.AddDate(0, 0, 200)
	mid := write("half a year", false)
	now = now.AddDate(0, 0, 200)
	fresh := write("fresh", false)

	purge := func(r Retention, limit int) (int64, bool) {
		t.Helper()
		var n int64
		var more bool
		if err := db.Write(ctx, func(s *Store) error {
			var err error
			n, more, err = s.PurgeExpired(ctx, r, limit)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n, more
	}
	get := func(id uint64) *Message {
		m, err := db.Read().Message(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Texts after 365 days, attachments after 180, in batches of 1.
	r := Retention{Texts: 365 * 24 * time.Hour, Attachments: 180 * 24 * time.Hour}
	if n, more := purge(r, 1); n != 2 || !more {
		t.Errorf("first batch purged %d (more %v); want 2 (one per kind), more", n, more)
	}
	for range 5 {
		purge(r, 1)
	}
	if n, more := purge(r, 1); n != 0 || more {
		t.Errorf("a settled purge changed %d rows (more %v); want nothing", n, more)
	}
	for _, tc := range []struct {
		id        uint64
		text      string
		files     int
		status    string
		statusErr string
	}{
		{old1, "", 0, StatusReceived, ""},
		{old2, "", 0, StatusFailed, "expired by retention"},
		{mid, "half a year", 0, StatusReceived, ""},
		{fresh, "fresh", 1, StatusReceived, ""},
	} {
		m := get(tc.id)
		if m.Text != tc.text || len(m.Payload.Attachments) != tc.files || m.Status != tc.status || m.Error != tc.statusErr {
			t.Errorf("message %d: text %q, %d files, %s %q; want %q, %d, %s %q", tc.id, m.Text, len(m.Payload.Attachments),
				m.Status, m.Error, tc.text, tc.files, tc.status, tc.statusErr)
		}
	}
	// Zero retention keeps everything.
	now = now.AddDate(5, 0, 0)
	if n, _ := purge(Retention{}, 100); n != 0 {
		t.Errorf("zero retention purged %d", n)
	}
}
