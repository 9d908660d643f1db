package models

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// rowCache keeps in memory the rows every turn reads — its identity and
// customer, its conversation, the order asked about and the verification
// lock — so that a turn reads them from SQLite only when they changed.
//
// It mirrors what the SQLite writer connection sees, uncommitted writes
// included, and is used only by Stores inside the writer's transactions
// (never by the read pool, which sees only committed rows). It stays true
// because every way a row can change is seen:
//   - this connection's writes, by SQLite's update hook (onUpdate), which
//     drops the row (or, for the verification and order tables, the whole
//     table) whatever statement wrote it — GORM, plain SQL, a foreign-key
//     cascade;
//   - writes undone by ROLLBACK or ROLLBACK TO, a failed statement or a
//     failed commit: everything is dropped (stmtCache calls clear);
//   - the two ways SQLite changes rows without calling the update hook,
//     DELETE without WHERE (the truncate optimisation) and REPLACE: every
//     such statement clears everything;
//   - other connections' commits (kefu import or kefu forget in another
//     process): PRAGMA data_version, read at each BEGIN, says so, and
//     everything is dropped.
//
// Only the writer's goroutine touches it (the update hook runs inside the
// writer's statements), so it has no lock.
type rowCache struct {
	idents    *simplelru.LRU[chatKey, Identity] // Customer left zero
	identRows map[int64]chatKey
	custs     *simplelru.LRU[uint64, Customer]
	convs     *simplelru.LRU[chatKey, Conversation] // Customer left nil
	convRows  map[int64]chatKey
	orders    *simplelru.LRU[string, Order]
	verify    map[verifyKey]verifyEntry

	version    int64 // PRAGMA data_version at the last BEGIN
	hasVersion bool
}

// chatKey is a platform account or chat: channel and its id there.
type chatKey struct{ channel, id string }

// verifyKey is one failedAttempts question: who (a column) and value.
type verifyKey struct {
	who   string
	arg   any
	limit int
}

// verifyEntry is what failedAttempts answered for attempts after since.
type verifyEntry struct {
	since time.Time
	list  []VerifyAttempt
}

// rowCacheSize bounds each kind of row kept. At about a kilobyte for a
// customer's identity, record and conversation together, 10,000 active
// chats cost some 10 MB; a shop with more chats at once reads the rest.
const rowCacheSize = 10000

func newRowCache(size int) *rowCache {
	rc := &rowCache{identRows: map[int64]chatKey{}, convRows: map[int64]chatKey{}, verify: map[verifyKey]verifyEntry{}}
	rc.idents, _ = simplelru.NewLRU(size, func(_ chatKey, id Identity) { delete(rc.identRows, int64(id.ID)) })
	rc.custs, _ = simplelru.NewLRU[uint64, Customer](size, nil)
	rc.convs, _ = simplelru.NewLRU(size, func(_ chatKey, c Conversation) { delete(rc.convRows, int64(c.ID)) })
	rc.orders, _ = simplelru.NewLRU[string, Order](size, nil)
	return rc
}

// clear forgets everything.
func (rc *rowCache) clear() {
	rc.idents.Purge()
	rc.custs.Purge()
	rc.convs.Purge()
	rc.orders.Purge()
	clear(rc.verify)
	clear(rc.identRows)
	clear(rc.convRows)
}

// reset forgets everything and the last data_version: the connection is
// new, or what it holds is unknown.
func (rc *rowCache) reset() {
	rc.clear()
	rc.hasVersion = false
}

// onUpdate is SQLite's update hook: a row of table changed (inserted,
// updated or deleted).
func (rc *rowCache) onUpdate(_ int, db, table string, rowid int64) {
	if db != "main" {
		return
	}
	switch table {
	case "identities":
		if k, ok := rc.identRows[rowid]; ok {
			rc.idents.Remove(k)
		}
	case "customers":
		rc.custs.Remove(uint64(rowid))
	case "conversations":
		if k, ok := rc.convRows[rowid]; ok {
			rc.convs.Remove(k)
		}
	case "orders":
		// Keyed by ref, and rare to change: drop them all.
		rc.orders.Purge()
	case "verify_attempts":
		clear(rc.verify)
	}
}

// checkVersion drops everything if another connection committed since
// the last call; version is PRAGMA data_version read now.
func (rc *rowCache) checkVersion(version int64) {
	if !rc.hasVersion || version != rc.version {
		rc.clear()
	}
	rc.version, rc.hasVersion = version, true
}

// afterStatement clears the cache after a statement that may have changed
// rows without the update hook seeing it, or undone changes it saw.
func (rc *rowCache) afterStatement(query string, err error) {
	if err != nil || unseenWrite(query) {
		rc.clear()
	}
}

// unseenWrite reports a statement whose effect the update hook may not
// show in full: a rollback, DELETE without WHERE, or REPLACE. It runs on
// every statement of the writer, so it allocates nothing.
func unseenWrite(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n")
	switch {
	case hasPrefixFold(q, "ROLLBACK"), hasPrefixFold(q, "REPLACE"), hasPrefixFold(q, "INSERT OR REPLACE"):
		return true
	case hasPrefixFold(q, "DELETE"):
		for i := 0; i+5 <= len(q); i++ {
			if strings.EqualFold(q[i:i+5], "WHERE") {
				return false
			}
		}
		return true
	}
	return false
}

// hookBlind reports a statement (trimmed) that may change rows without
// the update hook seeing them: DELETE without WHERE, and schema changes.
func hookBlind(q string) bool {
	switch {
	case hasPrefixFold(q, "DELETE"):
		return unseenWrite(q)
	case hasPrefixFold(q, "CREATE"), hasPrefixFold(q, "DROP"), hasPrefixFold(q, "ALTER"):
		return true
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func (rc *rowCache) identity(channel, externalID string) (*Identity, bool) {
	id, ok := rc.idents.Get(chatKey{channel, externalID})
	if !ok {
		return nil, false
	}
	c, ok := rc.custs.Get(id.CustomerID)
	if !ok {
		return nil, false
	}
	id.Customer = c
	id.Customer.Ref = clonePtr(c.Ref)
	return &id, true
}

func (rc *rowCache) putIdentity(id *Identity) {
	v := *id
	v.Customer = Customer{}
	k := chatKey{v.Channel, v.ExternalID}
	rc.idents.Add(k, v)
	rc.identRows[int64(v.ID)] = k
	c := id.Customer
	c.Ref = clonePtr(c.Ref)
	rc.custs.Add(c.ID, c)
}

func (rc *rowCache) conversation(channel, chatID string) (*Conversation, bool) {
	c, ok := rc.convs.Get(chatKey{channel, chatID})
	if !ok {
		return nil, false
	}
	return cloneConversation(&c), true
}

func (rc *rowCache) putConversation(c *Conversation) {
	v := cloneConversation(c)
	v.Customer = nil
	k := chatKey{v.Channel, v.ChatID}
	rc.convs.Add(k, *v)
	rc.convRows[int64(v.ID)] = k
}

// savedConversation records c's state columns, just written by
// SaveConversation, onto the conversation as the cache had it before the
// write. If the cache did not have it, nothing is kept: the other columns
// are then not known to be current.
func (rc *rowCache) savedConversation(before *Conversation, c *Conversation) {
	if before == nil || !slotsRoundTrip(c.Slots) || !isUTC(c.LastActivityAt) || !isUTC(c.UpdatedAt) {
		return
	}
	v := *before
	v.Mode, v.Flow, v.Step, v.Slots, v.TicketID = c.Mode, c.Flow, c.Step, c.Slots, c.TicketID
	v.LastActivityAt, v.UpdatedAt = c.LastActivityAt.Round(0), c.UpdatedAt.Round(0)
	rc.putConversation(&v)
}

// peekConversation returns the cached row by id without copying it, nil if
// it is not cached.
func (rc *rowCache) peekConversation(id uint64) *Conversation {
	k, ok := rc.convRows[int64(id)]
	if !ok {
		return nil
	}
	c, ok := rc.convs.Peek(k)
	if !ok {
		return nil
	}
	return &c
}

// order returns the cached order ref; a nil order with ok means the
// order is known not to exist (customers ask about mistyped numbers).
func (rc *rowCache) order(ref string) (o *Order, ok bool) {
	v, ok := rc.orders.Get(ref)
	if !ok || v.ID == 0 {
		return nil, ok
	}
	return cloneOrder(&v), true
}

// putOrder caches o as order ref, or that there is none (o nil).
func (rc *rowCache) putOrder(ref string, o *Order) {
	if o == nil {
		rc.orders.Add(ref, Order{})
		return
	}
	rc.orders.Add(ref, *cloneOrder(o))
}

// failedAttempts answers from an earlier answer for the same question
// whose window began no later than since: the attempts after since are
// those of that answer after since (it held the latest limit of them).
func (rc *rowCache) failedAttempts(k verifyKey, since time.Time) ([]VerifyAttempt, bool) {
	e, ok := rc.verify[k]
	if !ok || since.Before(e.since) {
		return nil, false
	}
	var out []VerifyAttempt
	for _, a := range e.list {
		if a.At.After(since) {
			out = append(out, a)
		}
	}
	return out, true
}

func (rc *rowCache) putFailedAttempts(k verifyKey, since time.Time, list []VerifyAttempt) {
	if len(rc.verify) >= rowCacheSize {
		clear(rc.verify)
	}
	rc.verify[k] = verifyEntry{since: since, list: slices.Clone(list)}
}

func cloneConversation(c *Conversation) *Conversation {
	v := *c
	v.CustomerID, v.TicketID = clonePtr(c.CustomerID), clonePtr(c.TicketID)
	if c.Slots != nil {
		v.Slots = make(Slots, len(c.Slots))
		for k, s := range c.Slots {
			v.Slots[k] = s
		}
	}
	return &v
}

func cloneOrder(o *Order) *Order {
	v := *o
	v.Items = slices.Clone(o.Items)
	v.DeliveredAt = clonePtr(o.DeliveredAt)
	v.Customer.Ref = clonePtr(o.Customer.Ref)
	return &v
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// slotsRoundTrip reports whether slots read back from their JSON as they
// are: JSON replaces invalid UTF-8.
func slotsRoundTrip(s Slots) bool {
	for k, v := range s {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// isUTC reports a time that reads back from SQLite as it is (the driver
// reads times as UTC).
func isUTC(t time.Time) bool { return t.Location() == time.UTC }
