package nlu

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// testClassifier trains once per test binary; training is deterministic so
// sharing it between tests changes nothing.
var testClassifier = sync.OnceValues(New)

func classifier(tb testing.TB) *Classifier {
	tb.Helper()
	c, err := testClassifier()
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

func loadTestSet(tb testing.TB) []example {
	tb.Helper()
	data, err := os.ReadFile("data/test.tsv")
	if err != nil {
		tb.Fatalf("reading test set: %v", err)
	}
	exs, err := parseExamples(data, true)
	if err != nil {
		tb.Fatalf("parsing data/test.tsv: %v", err)
	}
	return exs
}

func loadTrainSet(tb testing.TB) []example {
	tb.Helper()
	data, err := trainingData.ReadFile("data/train.tsv")
	if err != nil {
		tb.Fatalf("reading train set: %v", err)
	}
	exs, err := parseExamples(data, false)
	if err != nil {
		tb.Fatalf("parsing data/train.tsv: %v", err)
	}
	return exs
}

// tally counts correct answers per group.
type tally map[string]*[2]int

func (t tally) add(key string, ok bool) {
	c := t[key]
	if c == nil {
		c = new([2]int)
		t[key] = c
	}
	c[1]++
	if ok {
		c[0]++
	}
}

func (t tally) acc(key string) float64 {
	c := t[key]
	return float64(c[0]) / float64(c[1])
}

// TestAccuracy evaluates the held-out test set. Print the report with
//
//	go test ./bot/nlu -run TestAccuracy -v
func TestAccuracy(t *testing.T) {
	c := classifier(t)
	exs := loadTestSet(t)
	labels := Intents()
	byLang, byIntent, all := tally{}, tally{}, tally{}
	var errs []string
	for _, ex := range exs {
		want := labels[ex.label]
		got := c.Classify(ex.text)
		ok := got.Intent == want
		byLang.add(ex.lang, ok)
		byIntent.add(string(want), ok)
		all.add("all", ok)
		if !ok {
			errs = append(errs, fmt.Sprintf("  [%s] %-14s → %-14s %.2f  %q", ex.lang, want, got.Intent, got.Confidence, ex.text))
		}
	}
	t.Logf("test examples: %d, training examples: %d", len(exs), len(loadTrainSet(t)))
	t.Logf("overall accuracy: %.3f (%d/%d)", all.acc("all"), all["all"][0], all["all"][1])
	for _, lang := range []string{"en", "zh-Hans", "zh-Hant", "mixed"} {
		if byLang[lang] == nil {
			t.Errorf("no test examples for language %s", lang)
			continue
		}
		t.Logf("  lang %-8s %.3f (%d/%d)", lang, byLang.acc(lang), byLang[lang][0], byLang[lang][1])
	}
	for _, in := range labels {
		if byIntent[string(in)] == nil {
			t.Errorf("no test examples for intent %s", in)
			continue
		}
		c := byIntent[string(in)]
		t.Logf("  intent %-15s %.3f (%d/%d)", in, byIntent.acc(string(in)), c[0], c[1])
	}
	t.Logf("errors (%d):\n%s", len(errs), strings.Join(errs, "\n"))

	if a := all.acc("all"); a < 0.90 {
		t.Errorf("overall accuracy %.3f < 0.90", a)
	}
	for lang := range byLang {
		if a := byLang.acc(lang); a < 0.85 {
			t.Errorf("accuracy for %s %.3f < 0.85", lang, a)
		}
	}
}

// TestDataSets checks the size and balance of the data and that the test
// set is held out: no test message normalises to a training message.
func TestDataSets(t *testing.T) {
	train, test := loadTrainSet(t), loadTestSet(t)
	if len(train) < 2000 {
		t.Errorf("train.tsv has %d examples, want ≥ 2000", len(train))
	}
	seen := map[string]bool{}
	perTrain, perTest := map[int]int{}, map[int]int{}
	for _, ex := range train {
		seen[Normalize(ex.text)] = true
		perTrain[ex.label]++
	}
	for _, ex := range test {
		perTest[ex.label]++
		if seen[Normalize(ex.text)] {
			t.Errorf("test example %q also appears in train.tsv", ex.text)
		}
		if !slices.Contains([]string{"en", "zh-Hans", "zh-Hant", "mixed"}, ex.lang) {
			t.Errorf("test example %q: bad lang %q", ex.text, ex.lang)
		}
	}
	for i, in := range Intents() {
		if perTrain[i] < 110 {
			t.Errorf("intent %s: %d training examples, want ≥ 110", in, perTrain[i])
		}
		if perTest[i] < 40 {
			t.Errorf("intent %s: %d test examples, want ≥ 40", in, perTest[i])
		}
	}
}

func TestTricky(t *testing.T) {
	c := classifier(t)
	cases := []struct {
		text string
		want Intent
	}{
		{"我的order到哪了", OrderStatus},
		{"refund 怎么弄", ReturnRefund},
		{"wher is my oder", OrderStatus},
		{"refnd", ReturnRefund},
		{"亲 在吗 我的快递到哪了", OrderStatus},
		{"亲 在吗", Greeting},
		{"I don't want a refund, just tell me where it is", OrderStatus},
		{"不要退款，我只想知道快递到哪了", OrderStatus},
		{"不要退款，我只想知道快遞到哪了", OrderStatus},
		{"hello", Greeting},
		{"你好", Greeting},
		{"在嗎", Greeting},
		{"thanks", Feedback},
		{"谢谢", Feedback},
		{"转人工", HumanAgent},
		{"I want to talk to a real person", HumanAgent},
		{"how many points do i have", PointsBalance},
		{"积分怎么兑换", PointsRedeem},
		{"我要注销账号", PrivacyDelete},
		{"導出我的個人資料", PrivacyExport},
		{"stop sending me promotional emails", Unsubscribe},
		{"退订", Unsubscribe},
		{"你能做什么", Help},
		{"今天天气怎么样", Unknown},
		{"收到的东西是坏的，客服还不理人", Complaint},
		{"you charged me twice", Complaint},
		{"我要退货 订单号 123456789", ReturnRefund},
		{"hi, where is order 20240105778899?", OrderStatus},
	}
	for _, tc := range cases {
		got := c.Classify(tc.text)
		if got.Intent != tc.want {
			t.Errorf("Classify(%q) = %s (%.2f), want %s", tc.text, got.Intent, got.Confidence, tc.want)
		}
	}
}

func TestClassifyResult(t *testing.T) {
	c := classifier(t)
	r := c.Classify("订单号：20240105778899 什么时候发货")
	if r.Intent != OrderStatus || r.Entities["order_id"] != "20240105778899" {
		t.Errorf("got %+v, want order_status with order_id", r)
	}
	for _, s := range []string{"", "   ", "!!!", "\x00\x01", "\xff\xfe"} {
		r := c.Classify(s)
		if r.Intent != Unknown || r.Entities == nil || len(r.Entities) != 0 {
			t.Errorf("Classify(%q) = %+v, want unknown with empty entities", s, r)
		}
	}
	// Confidence is rounded to two decimals, and JSON has an empty object.
	r = c.Classify("where is my package")
	if r.Confidence != math.Round(r.Confidence*100)/100 || r.Confidence < minConfidence {
		t.Errorf("confidence %v not rounded or too low", r.Confidence)
	}
	b, err := json.Marshal(c.Classify("hi"))
	if err != nil || !strings.Contains(string(b), `"entities":{}`) {
		t.Errorf("json = %s, %v", b, err)
	}
}

func TestIntents(t *testing.T) {
	got := Intents()
	if len(got) != numIntents {
		t.Fatalf("Intents() has %d labels, want %d", len(got), numIntents)
	}
	got[0] = "changed" // the caller owns the slice
	if Intents()[0] != Greeting || Intents()[numIntents-1] != Unknown {
		t.Errorf("Intents() order changed: %v", Intents())
	}
}

// TestDeterministic trains twice and compares every probability.
func TestDeterministic(t *testing.T) {
	a := classifier(t)
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range loadTestSet(t) {
		var pa, pb [numIntents]float64
		a.probabilities(ex.text, &pa)
		b.probabilities(ex.text, &pb)
		if pa != pb {
			t.Fatalf("two trainings disagree on %q: %v vs %v", ex.text, pa, pb)
		}
	}
}

func TestConcurrentClassify(t *testing.T) {
	c := classifier(t)
	exs := loadTestSet(t)
	want := make([]Result, len(exs))
	for i, ex := range exs {
		want[i] = c.Classify(ex.text)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, ex := range exs {
				if got := c.Classify(ex.text); got.Intent != want[i].Intent || got.Confidence != want[i].Confidence {
					t.Errorf("concurrent Classify(%q) = %+v, want %+v", ex.text, got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestNewDuration(t *testing.T) {
	start := time.Now()
	if _, err := New(); err != nil {
		t.Fatal(err)
	}
	t.Logf("New took %v (budget 150ms on 2 cores without -race)", time.Since(start))
}

// TestCrossValidation is a development aid for choosing the training
// settings without looking at the test set: NLU_CV=1 go test -run
// CrossValidation -v ./bot/nlu
func TestCrossValidation(t *testing.T) {
	if os.Getenv("NLU_CV") == "" {
		t.Skip("set NLU_CV=1 to run 5-fold cross-validation on train.tsv")
	}
	exs := loadTrainSet(t)
	cfgs := []trainConfig{defaultTrainConfig()}
	if os.Getenv("NLU_CV") == "sweep" {
		for _, ep := range []int{10, 16, 24} {
			for _, lr := range []float64{2, 4, 8} {
				for _, decay := range []float64{0, 0.1, 0.3} {
					cfg := defaultTrainConfig()
					cfg.epochs, cfg.lr, cfg.decay, cfg.avgFrom = ep, lr, decay, ep/2
					cfgs = append(cfgs, cfg)
				}
			}
		}
	}
	for _, cfg := range cfgs {
		correct, raw, total := 0, 0, 0
		for fold := 0; fold < 5; fold++ {
			var tr, te []example
			for i, ex := range exs {
				if i%5 == fold {
					te = append(te, ex)
				} else {
					tr = append(tr, ex)
				}
			}
			c, err := trainClassifier(tr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, ex := range te {
				total++
				if c.Classify(ex.text).Intent == Intents()[ex.label] {
					correct++
				}
				var p [numIntents]float64
				c.probabilities(ex.text, &p)
				if slices.Index(p[:], slices.Max(p[:])) == ex.label {
					raw++
				}
			}
		}
		t.Logf("%+v: CV accuracy %.3f (%.3f without the unknown threshold)", cfg,
			float64(correct)/float64(total), float64(raw)/float64(total))
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"", "hello", "我的order到哪了", "订单号：１２３４５６７８", "\xff\xfe\x00",
		strings.Repeat("退款", 800), "\u200b\u202e\ufeff", "+86 138-1234-5678", "#########", "a\x00b\x07c"} {
		f.Add(s)
	}
	c := classifier(f)
	f.Fuzz(func(t *testing.T, s string) {
		r := c.Classify(s)
		if !slices.Contains(Intents(), r.Intent) {
			t.Fatalf("Classify(%q) intent %q not a label", s, r.Intent)
		}
		if r.Confidence < 0 || r.Confidence > 1 || math.IsNaN(r.Confidence) {
			t.Fatalf("Classify(%q) confidence %v", s, r.Confidence)
		}
		if r.Entities == nil || len(r.Entities) > 1 {
			t.Fatalf("Classify(%q) entities %v", s, r.Entities)
		}
		if id, ok := r.Entities["order_id"]; ok {
			if len(id) < minOrderDigits || len(id) > maxOrderDigits || strings.Trim(id, "0123456789") != "" {
				t.Fatalf("Classify(%q) order_id %q", s, id)
			}
		}
		if n := Normalize(s); !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q is not valid UTF-8", s, n)
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	c := classifier(b)
	for _, bc := range []struct{ name, text string }{
		{"zh30", "亲 在吗 我的快递到哪了，订单号123456789 麻烦帮我查一下"}, // 30 characters
		{"en", "I don't want a refund, just tell me where it is"},
		{"mixed", "refund 怎么弄"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Classify(bc.text)
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(); err != nil {
			b.Fatal(err)
		}
	}
}
