package orderfile

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kefu-bot/kefu/models"
)

// Columns of a CSV file (any order; other columns are ignored). order_id
// and status are required. birthday (the customer's, "MM-DD",
// "YYYY-MM-DD" or a month 1–12) feeds loyalty's birthday-month bonus;
// coupon (the code paid with) tells which campaign coupons were used.
var Columns = []string{"order_id", "customer_ref", "name", "phone", "email", "status", "total", "currency",
	"placed_at", "carrier", "tracking_no", "items", "birthday", "coupon"}

// MaxRows bounds one file or request.
const MaxRows = 100_000

// Row is one good order and the line (CSV) or record's first line (JSON)
// it was read from.
type Row struct {
	Line  int
	Order models.OrderInput
}

// RowError is one bad row: its line, and what is wrong, e.g. "status
// \"lost\" is not one of pending, paid…".
type RowError struct {
	Line    int    `json:"line"`
	Ref     string `json:"order_id,omitempty"`
	Message string `json:"error"`
}

func (e RowError) Error() string {
	if e.Ref != "" {
		return fmt.Sprintf("line %d (order %s): %s", e.Line, e.Ref, e.Message)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Message)
}

// Format of an input.
const (
	CSV  = "csv"
	JSON = "json"
)

// Detect guesses the format from the name's extension, else from the
// first byte that is not white space ('[' or '{' is JSON).
func Detect(name string, head []byte) string {
	switch n := strings.ToLower(name); {
	case strings.HasSuffix(n, ".json"):
		return JSON
	case strings.HasSuffix(n, ".csv"):
		return CSV
	}
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	t = bytes.TrimPrefix(t, []byte("\ufeff"))
	if len(t) > 0 && (t[0] == '[' || t[0] == '{') {
		return JSON
	}
	return CSV
}

// Parse reads every row of r in the given format. Times without a zone
// are in loc. The error is for input that cannot be read at all (no
// header, broken JSON structure); bad rows are in errs.
func Parse(r io.Reader, format string, loc *time.Location) (rows []Row, errs []RowError, err error) {
	if loc == nil {
		loc = time.UTC
	}
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("read orders: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // Excel writes a BOM
	if !utf8.Valid(data) {
		return nil, nil, errors.New("read orders: the file is not UTF-8 text (save it as CSV UTF-8)")
	}
	var raw []record
	switch format {
	case JSON:
		raw, err = readJSON(data)
	default:
		raw, err = readCSV(data)
	}
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]int{}
	for _, rec := range raw {
		o, msgs := rec.order(loc)
		if prev, dup := seen[o.Ref]; dup && o.Ref != "" {
			msgs = append(msgs, fmt.Sprintf("order_id %s repeats line %d", o.Ref, prev))
		}
		if len(msgs) > 0 {
			errs = append(errs, RowError{Line: rec.line, Ref: o.Ref, Message: strings.Join(msgs, "; ")})
			continue
		}
		seen[o.Ref] = rec.line
		rows = append(rows, Row{Line: rec.line, Order: o})
	}
	return rows, errs, nil
}

// record is one row's fields as text (JSON values already turned to text,
// items kept as JSON).
type record struct {
	line   int
	fields map[string]string
	items  json.RawMessage
}

func readCSV(data []byte) ([]record, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("read orders: the file is empty")
	}
	if err != nil {
		return nil, fmt.Errorf("read orders: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, req := range []string{"order_id", "status"} {
		if _, ok := col[req]; !ok {
			return nil, fmt.Errorf("read orders: the header has no %s column (columns: %s)", req, strings.Join(Columns, ","))
		}
	}
	var out []record
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if len(out) >= MaxRows {
			return nil, fmt.Errorf("read orders: more than %d rows; split the file", MaxRows)
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// A broken quote spoils the rest of the file's structure.
			return nil, fmt.Errorf("read orders: line %d: %v", pe.Line, pe.Err)
		}
		if err != nil {
			return nil, fmt.Errorf("read orders: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		r := record{line: line, fields: map[string]string{}}
		for _, name := range Columns {
			if i, ok := col[name]; ok && i < len(rec) {
				r.fields[name] = strings.TrimSpace(rec[i])
			}
		}
		if it := r.fields["items"]; strings.HasPrefix(it, "[") {
			r.items = json.RawMessage(it)
		}
		out = append(out, r)
	}
}

func readJSON(data []byte) ([]record, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("read orders: %w", jsonErr(data, dec, err))
	}
	if tok == json.Delim('{') {
		// {"orders": [...]}
		key, err := dec.Token()
		if err != nil || key != "orders" {
			return nil, errors.New(`read orders: expected a JSON array of orders or {"orders": [...]}`)
		}
		if tok, err = dec.Token(); err != nil {
			return nil, fmt.Errorf("read orders: %w", jsonErr(data, dec, err))
		}
	}
	if tok != json.Delim('[') {
		return nil, errors.New(`read orders: expected a JSON array of orders or {"orders": [...]}`)
	}
	var out []record
	for dec.More() {
		if len(out) >= MaxRows {
			return nil, fmt.Errorf("read orders: more than %d orders; split the file", MaxRows)
		}
		line := lineAt(data, dec.InputOffset())
		var obj map[string]json.RawMessage
		if err := dec.Decode(&obj); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				out = append(out, record{line: line, fields: map[string]string{"_error": "an order must be a JSON object"}})
				continue
			}
			return nil, fmt.Errorf("read orders: %w", jsonErr(data, dec, err))
		}
		r := record{line: line, fields: map[string]string{}}
		for k, v := range obj {
			k = strings.ToLower(k)
			if k == "items" {
				r.items = v
				continue
			}
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				r.fields[k] = strings.TrimSpace(s)
				continue
			}
			var n json.Number
			if err := json.Unmarshal(v, &n); err == nil {
				r.fields[k] = n.String()
				continue
			}
			if string(v) != "null" {
				r.fields["_error"] = fmt.Sprintf("%s must be a string or number", k)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// lineAt is the line of the first non-space byte at or after off.
func lineAt(data []byte, off int64) int {
	off = max(0, min(off, int64(len(data))))
	for int(off) < len(data) && strings.ContainsRune(" \t\r\n,", rune(data[off])) {
		off++
	}
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

func jsonErr(data []byte, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: %v", lineAt(data, se.Offset-1), se)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("the JSON ends too early")
	}
	return err
}

// order turns a record into an order, with every problem found.
func (r record) order(loc *time.Location) (models.OrderInput, []string) {
	f := r.fields
	var msgs []string
	if e := f["_error"]; e != "" {
		msgs = append(msgs, e)
	}
	o := models.OrderInput{Ref: f["order_id"], CustomerRef: f["customer_ref"], Name: f["name"], Phone: f["phone"],
		Email: f["email"], Currency: strings.ToUpper(f["currency"]), Carrier: f["carrier"], Tracking: f["tracking_no"],
		Coupon: strings.ToUpper(strings.TrimSpace(f["coupon"]))}
	switch {
	case o.Ref == "":
		msgs = append(msgs, "order_id is empty")
	case len(o.Ref) > 32 || strings.ContainsAny(o.Ref, " \t/\\"):
		msgs = append(msgs, fmt.Sprintf("order_id %q must be at most 32 characters without spaces or slashes", clip(o.Ref)))
	}
	if len(o.CustomerRef) > 64 {
		msgs = append(msgs, "customer_ref is longer than 64 characters")
	}
	if st, ok := models.ParseOrderStatus(f["status"]); ok {
		o.Status = st
	} else {
		msgs = append(msgs, fmt.Sprintf("status %q is not one of %s (or 待付款, 已付款, 已发货, 运输中, 已签收, 已取消, 已退货, 已退款)",
			clip(f["status"]), strings.Join(models.OrderStatuses, ", ")))
	}
	if o.Currency == "" {
		o.Currency = "CNY"
	}
	if len(o.Currency) != 3 || strings.ToUpper(o.Currency) != strings.Map(upperOnly, o.Currency) {
		msgs = append(msgs, fmt.Sprintf("currency %q is not a 3-letter code like CNY", clip(o.Currency)))
	}
	if t := f["total"]; t != "" {
		v, err := Money(t, o.Currency)
		if err != nil {
			msgs = append(msgs, err.Error())
		}
		o.Total = v
	}
	if p := f["placed_at"]; p != "" {
		t, err := parseTime(p, loc)
		if err != nil {
			msgs = append(msgs, err.Error())
		}
		o.PlacedAt = t
	}
	if e := o.Email; e != "" && (!strings.Contains(e, "@") || len(e) > 128) {
		msgs = append(msgs, fmt.Sprintf("email %q is not an address", clip(e)))
	}
	if p := o.Phone; p != "" && digits(p) < 4 {
		msgs = append(msgs, fmt.Sprintf("phone %q has fewer than 4 digits", clip(p)))
	}
	for name, v := range map[string]string{"name": o.Name, "carrier": o.Carrier, "tracking_no": o.Tracking, "phone": o.Phone, "coupon": o.Coupon} {
		if utf8.RuneCountInString(v) > 64 && name != "name" || utf8.RuneCountInString(v) > 128 {
			msgs = append(msgs, name+" is too long")
		}
	}
	items, err := parseItems(f["items"], r.items, o.Currency)
	if err != nil {
		msgs = append(msgs, err.Error())
	}
	o.Items = items
	if b := strings.TrimSpace(f["birthday"]); b != "" {
		m, ok := birthMonth(b)
		if !ok {
			msgs = append(msgs, fmt.Sprintf("birthday %q is not MM-DD, YYYY-MM-DD or a month 1-12", clip(b)))
		}
		o.BirthMonth = m
	}
	return o, msgs
}

// birthMonth reads "05-17", "1990-05-17" or "5" as month 5.
func birthMonth(s string) (int, bool) {
	for _, layout := range []string{"2006-01-02", "01-02", "1-2"} {
		if t, err := time.Parse(layout, s); err == nil {
			return int(t.Month()), true
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= 12 {
		return n, true
	}
	return 0, false
}

func upperOnly(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r
	}
	return -1
}

func digits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "…"
}

// minorDigits is how many decimals a currency's minor unit has.
func minorDigits(currency string) int {
	switch currency {
	case "JPY", "KRW", "VND", "CLP", "ISK":
		return 0
	}
	return 2
}

// Money parses an amount in major units ("256", "1,299.00", "¥25.6") into
// minor units of currency.
func Money(s, currency string) (int64, error) {
	t := strings.NewReplacer(",", "", "¥", "", "￥", "", "$", "", "€", "", " ", "").Replace(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "元"), strings.ToUpper(currency))
	d := minorDigits(currency)
	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" || len(frac) > d || strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("total %q is not an amount like 256.00 (at most %d decimals, not negative)", clip(s), d)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > math.MaxInt64/1000 {
		return 0, fmt.Errorf("total %q is not an amount like 256.00", clip(s))
	}
	frac += strings.Repeat("0", d-len(frac))
	var fv int64
	if frac != "" {
		if fv, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return 0, fmt.Errorf("total %q is not an amount like 256.00", clip(s))
		}
	}
	return w*pow10(d) + fv, nil
}

func pow10(n int) int64 {
	v := int64(1)
	for range n {
		v *= 10
	}
	return v
}

var timeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006/01/02 15:04:05", "2006/01/02 15:04", "2006-01-02", "2006/01/02"}

func parseTime(s string, loc *time.Location) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			if t.Year() < 2000 || t.Year() > 2100 {
				break
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("placed_at %q is not a date like 2026-11-01 14:30:00 or 2026-11-01T14:30:00+08:00", clip(s))
}

// jsonItem is one item in JSON; price in major units like total.
type jsonItem struct {
	SKU      string      `json:"sku"`
	Name     string      `json:"name"`
	Category string      `json:"category"`
	Qty      int         `json:"qty"`
	Price    json.Number `json:"price"`
}

// parseItems reads items as a JSON array, or as text "name x2; other x1"
// (also "name*2", "name×2"; quantity 1 if left out).
func parseItems(text string, raw json.RawMessage, currency string) ([]models.OrderItem, error) {
	if len(raw) > 0 && string(raw) != "null" {
		var in []jsonItem
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&in); err != nil {
			return nil, errors.New(`items must be a list like [{"name":"tea","qty":2,"price":"12.80"}]`)
		}
		out := make([]models.OrderItem, 0, len(in))
		for i, it := range in {
			if strings.TrimSpace(it.Name) == "" && it.SKU == "" {
				return nil, fmt.Errorf("item %d has no name or sku", i+1)
			}
			if it.Qty == 0 {
				it.Qty = 1
			}
			if it.Qty < 0 || it.Qty > 100000 {
				return nil, fmt.Errorf("item %d: qty %d is out of range", i+1, it.Qty)
			}
			var price int64
			if it.Price != "" {
				p, err := Money(it.Price.String(), currency)
				if err != nil {
					return nil, fmt.Errorf("item %d: price %s is not an amount", i+1, it.Price)
				}
				price = p
			}
			name := strings.TrimSpace(it.Name)
			if name == "" {
				name = it.SKU
			}
			out = append(out, models.OrderItem{SKU: it.SKU, Name: name, Category: it.Category, Qty: it.Qty, Price: price})
		}
		return out, nil
	}
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var out []models.OrderItem
	for _, part := range strings.FieldsFunc(text, func(r rune) bool { return r == ';' || r == '；' || r == '|' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, qty := part, 1
		for _, sep := range []string{" x", " X", "×", "*"} {
			if i := strings.LastIndex(part, sep); i > 0 {
				if n, err := strconv.Atoi(strings.TrimSpace(part[i+len(sep):])); err == nil {
					if n <= 0 || n > 100000 {
						return nil, fmt.Errorf("item %q: quantity out of range", clip(part))
					}
					name, qty = strings.TrimSpace(part[:i]), n
					break
				}
			}
		}
		out = append(out, models.OrderItem{Name: name, Qty: qty})
	}
	return out, nil
}
