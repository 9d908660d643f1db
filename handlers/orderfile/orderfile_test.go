package orderfile_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/handlers/orderfile"
	"github.com/kefu-bot/kefu/models"
)

const goodCSV = `order_id,customer_ref,name,phone,email,status,total,currency,placed_at,carrier,tracking_no,items,extra
20261101001,C1002,Alice Chen,+86 138 0013 0142,alice@example.com,shipped,256.00,CNY,2026-11-01 14:30:00,SF Express,SF1402883710277,"tea x2; mug"
20261101002,C1003,王芳,13700001234,,已签收,"1,299.5",cny,2026-11-02,,,"[{""name"":""kettle"",""qty"":1,""price"":""1299.50""}]",ignored
`

func TestParseCSV(t *testing.T) {
	rows, errs, err := orderfile.Parse(strings.NewReader(goodCSV), orderfile.CSV, time.UTC)
	if err != nil || len(errs) != 0 {
		t.Fatalf("Parse = %v, %v", errs, err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows = %d; want 2", len(rows))
	}
	a, b := rows[0], rows[1]
	if a.Line != 2 || a.Order.Ref != "20261101001" || a.Order.Status != models.OrderShipped || a.Order.Total != 25600 ||
		a.Order.Tracking != "SF1402883710277" || len(a.Order.Items) != 2 || a.Order.Items[0].Qty != 2 || a.Order.Items[1].Name != "mug" ||
		!a.Order.PlacedAt.Equal(time.Date(2026, 11, 1, 14, 30, 0, 0, time.UTC)) {
		t.Errorf("row 1 = %+v", a)
	}
	if b.Line != 3 || b.Order.Status != models.OrderDelivered || b.Order.Total != 129950 || b.Order.Currency != "CNY" ||
		len(b.Order.Items) != 1 || b.Order.Items[0].Price != 129950 {
		t.Errorf("row 2 = %+v", b)
	}
}

func TestParseBadRows(t *testing.T) {
	for _, tc := range []struct {
		name, row string
		want      string
	}{
		{"no id", `,C1,n,1234,,paid,1,CNY,,,,`, "order_id is empty"},
		{"bad status", `R1,C1,n,1234,,lost,1,CNY,,,,`, `status "lost" is not one of`},
		{"bad total", `R1,C1,n,1234,,paid,abc,CNY,,,,`, `total "abc"`},
		{"negative total", `R1,C1,n,1234,,paid,-5,CNY,,,,`, `total "-5"`},
		{"too many decimals", `R1,C1,n,1234,,paid,1.234,CNY,,,,`, `at most 2 decimals`},
		{"yen decimals", `R1,C1,n,1234,,paid,1.5,JPY,,,,`, `at most 0 decimals`},
		{"bad date", `R1,C1,n,1234,,paid,1,CNY,yesterday,,,`, `placed_at "yesterday"`},
		{"bad currency", `R1,C1,n,1234,,paid,1,yuan,,,,`, `currency "YUAN"`},
		{"bad phone", `R1,C1,n,12,,paid,1,CNY,,,,`, `fewer than 4 digits`},
		{"bad email", `R1,C1,n,1234,nope,paid,1,CNY,,,,`, `email "nope"`},
		{"bad items", `R1,C1,n,1234,,paid,1,CNY,,,,"[{""qty"":1}]"`, `item 1 has no name`},
		{"two problems", `R1,C1,n,1234,,lost,x,CNY,,,,`, `status "lost"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := "order_id,customer_ref,name,phone,email,status,total,currency,placed_at,carrier,tracking_no,items\nGOOD1,C1,n,1234,,paid,1,CNY,,,,\n" + tc.row + "\n"
			rows, errs, err := orderfile.Parse(strings.NewReader(in), orderfile.CSV, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].Order.Ref != "GOOD1" {
				t.Errorf("good rows = %+v; want GOOD1 only", rows)
			}
			if len(errs) != 1 || errs[0].Line != 3 || !strings.Contains(errs[0].Message, tc.want) {
				t.Errorf("errors = %+v; want line 3 containing %q", errs, tc.want)
			}
		})
	}
}

func TestParseDuplicateAndStructure(t *testing.T) {
	in := "order_id,status\nR1,paid\n\nR1,shipped\n"
	rows, errs, err := orderfile.Parse(strings.NewReader(in), orderfile.CSV, time.UTC)
	if err != nil || len(rows) != 1 || len(errs) != 1 || errs[0].Line != 4 || !strings.Contains(errs[0].Message, "repeats line 2") {
		t.Errorf("Parse = %+v, %+v, %v; want line 4 repeats line 2", rows, errs, err)
	}
	for name, in := range map[string]string{
		"empty":          "",
		"no status":      "order_id,name\nR1,x\n",
		"broken quote":   "order_id,status\n\"R1,paid\n",
		"not utf8":       "order_id,status\nR1,\xff\xfe\n",
		"json not array": `{"foo": 1}`,
		"json broken":    `[{"order_id": "R1",`,
	} {
		format := orderfile.Detect("", []byte(in))
		if _, _, err := orderfile.Parse(strings.NewReader(in), format, time.UTC); err == nil {
			t.Errorf("%s: Parse succeeded; want an error", name)
		}
	}
}

func TestParseJSON(t *testing.T) {
	in := `{"orders": [
  {"order_id": "R1", "customer_ref": "C1", "status": "运输中", "total": 25.6, "currency": "CNY",
   "placed_at": "2026-11-01T10:00:00+08:00", "items": [{"name": "tea", "qty": 2, "price": 12.8}]},
  {"order_id": "R2", "status": "gone"},
  7,
  {"order_id": 20261101003, "status": "paid", "phone": null}
]}`
	if f := orderfile.Detect("orders.txt", []byte(in)); f != orderfile.JSON {
		t.Fatalf("Detect = %s; want json", f)
	}
	rows, errs, err := orderfile.Parse(strings.NewReader(in), orderfile.JSON, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Line != 2 || rows[0].Order.Status != models.OrderInTransit || rows[0].Order.Total != 2560 ||
		rows[0].Order.Items[0].Price != 1280 || rows[1].Order.Ref != "20261101003" || rows[1].Line != 6 {
		t.Errorf("rows = %+v", rows)
	}
	if len(errs) != 2 || errs[0].Line != 4 || errs[1].Line != 5 {
		t.Errorf("errors = %+v; want lines 4 and 5", errs)
	}
}

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		in, cur string
		want    int64
		ok      bool
	}{
		{"256", "CNY", 25600, true}, {"256.5", "CNY", 25650, true}, {"¥1,299.00", "CNY", 129900, true},
		{"1500", "JPY", 1500, true}, {"0.01", "USD", 1, true}, {"12元", "CNY", 1200, true},
		{"1.001", "CNY", 0, false}, {"", "CNY", 0, false}, {"-1", "CNY", 0, false}, {"1e5", "CNY", 0, false},
	} {
		got, err := orderfile.Money(tc.in, tc.cur)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("Money(%q, %s) = %d, %v; want %d, ok %v", tc.in, tc.cur, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(goodCSV, false)
	f.Add(`[{"order_id":"R1","status":"paid","items":[{"name":"a"}]}]`, true)
	f.Add("order_id,status\n\"x\"\"y\",已发货\n", false)
	f.Fuzz(func(t *testing.T, in string, asJSON bool) {
		format := orderfile.CSV
		if asJSON {
			format = orderfile.JSON
		}
		rows, errs, err := orderfile.Parse(strings.NewReader(in), format, time.UTC)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Order.Ref == "" || r.Line < 1 || r.Order.Total < 0 {
				t.Fatalf("bad good row %+v", r)
			}
			if _, ok := models.ParseOrderStatus(r.Order.Status); !ok {
				t.Fatalf("row with unknown status %+v", r)
			}
		}
		for _, e := range errs {
			if e.Line < 1 || e.Message == "" {
				t.Fatalf("bad row error %+v", e)
			}
		}
	})
}

func TestParseBirthday(t *testing.T) {
	for _, tc := range []struct {
		in    string
		month int
		bad   bool
	}{
		{"05-17", 5, false}, {"1990-12-01", 12, false}, {"3", 3, false}, {"", 0, false},
		{"13", 0, true}, {"May", 0, true}, {"1990-02-30", 0, true},
	} {
		csv := "order_id,status,birthday\nR1,paid," + tc.in + "\n"
		rows, errs, err := orderfile.Parse(strings.NewReader(csv), orderfile.CSV, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if tc.bad {
			if len(errs) != 1 || !strings.Contains(errs[0].Message, "birthday") {
				t.Errorf("birthday %q: errors %+v; want one about the birthday", tc.in, errs)
			}
			continue
		}
		if len(rows) != 1 || rows[0].Order.BirthMonth != tc.month {
			t.Errorf("birthday %q: rows %+v errors %+v; want month %d", tc.in, rows, errs, tc.month)
		}
	}
	js := `[{"order_id":"R2","status":"paid","birthday":"07-04"}]`
	rows, errs, err := orderfile.Parse(strings.NewReader(js), orderfile.JSON, time.UTC)
	if err != nil || len(errs) != 0 || len(rows) != 1 || rows[0].Order.BirthMonth != 7 {
		t.Errorf("JSON birthday: %+v %+v %v; want month 7", rows, errs, err)
	}
}
