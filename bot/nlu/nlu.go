package nlu

import (
	"embed"
	"fmt"
	"math"
)

// Intent is what a customer wants.
type Intent string

// The intent labels. Their order in Intents is fixed.
const (
	Greeting      Intent = "greeting"
	Help          Intent = "help"
	OrderStatus   Intent = "order_status"
	ReturnRefund  Intent = "return_refund"
	Complaint     Intent = "complaint"
	PointsBalance Intent = "points_balance"
	PointsRedeem  Intent = "points_redeem"
	Feedback      Intent = "feedback"
	HumanAgent    Intent = "human_agent"
	PrivacyExport Intent = "privacy_export"
	PrivacyDelete Intent = "privacy_delete"
	Unsubscribe   Intent = "unsubscribe"
	Unknown       Intent = "unknown"
)

// numIntents is the number of labels; it sizes the per-feature weight rows.
const numIntents = 13

// Intents returns all labels in a fixed order; the caller owns the slice.
func Intents() []Intent {
	return []Intent{Greeting, Help, OrderStatus, ReturnRefund, Complaint, PointsBalance,
		PointsRedeem, Feedback, HumanAgent, PrivacyExport, PrivacyDelete, Unsubscribe, Unknown}
}

// intentIndex returns the position of s in Intents, or -1.
func intentIndex(s string) int {
	for i, in := range Intents() {
		if string(in) == s {
			return i
		}
	}
	return -1
}

// Result is the outcome of classifying one message.
type Result struct {
	Intent     Intent            `json:"intent"`
	Confidence float64           `json:"confidence"` // 0..1, rounded to 2 decimals
	Entities   map[string]string `json:"entities"`   // at most "order_id"; never nil
}

// minConfidence is the probability below which the best intent is not
// trusted and Classify answers Unknown: asking the customer again is
// cheaper than acting on a guess.
const minConfidence = 0.40

//go:embed data/train.tsv
var trainingData embed.FS

// Classifier is a trained intent classifier. It is immutable after New and
// safe for concurrent use.
type Classifier struct {
	index  map[uint64]int32 // feature hash → row in weights
	w      []float32        // len(index) rows of numIntents weights
	bias   [numIntents]float64
	labels [numIntents]Intent // Intents(), kept to avoid allocating per call
}

// New trains a classifier on the labelled examples embedded in the package.
func New() (*Classifier, error) {
	data, err := trainingData.ReadFile("data/train.tsv")
	if err != nil {
		return nil, fmt.Errorf("nlu: reading embedded training data: %w", err)
	}
	exs, err := parseExamples(data, false)
	if err != nil {
		return nil, fmt.Errorf("nlu: parsing embedded train.tsv: %w", err)
	}
	return trainClassifier(exs, defaultTrainConfig())
}

// Classify returns the intent of text, the model's probability for it and
// the order number, if any. When no intent reaches minConfidence the
// result is Unknown and Confidence is the probability that the best guess
// is wrong; a message with no letters, characters or numbers is Unknown
// with confidence 1. Only the first 4 KB of text are read.
func (c *Classifier) Classify(text string) Result {
	res := Result{Intent: Unknown, Confidence: 1, Entities: make(map[string]string, 1)}
	if id, ok := ExtractOrderID(text); ok {
		res.Entities["order_id"] = id
	}
	var p [numIntents]float64
	if !c.probabilities(text, &p) {
		return res // nothing to go on: no letters, characters or numbers
	}
	best := 0
	for k := range p {
		if p[k] > p[best] {
			best = k
		}
	}
	res.Intent = c.labels[best]
	res.Confidence = p[best]
	if p[best] < minConfidence && res.Intent != Unknown {
		// Report how sure the model is that its best guess is wrong.
		res.Intent, res.Confidence = Unknown, 1-p[best]
	}
	res.Confidence = math.Round(res.Confidence*100) / 100
	return res
}

// probabilities fills p with the softmax over intents for text and reports
// whether text had any features. Buffers live on the stack for typical
// messages so that classification does not allocate.
func (c *Classifier) probabilities(text string, p *[numIntents]float64) bool {
	var (
		rbuf [512]rune
		hbuf [1024]uint64
		tbuf [128]token
		nbuf [512]bool
	)
	rs := normalizeRunes(rbuf[:0], truncate(text, maxInputBytes))
	if len(rs) == 0 {
		return false
	}
	neg := nbuf[:]
	if len(rs) > len(neg) {
		neg = make([]bool, len(rs))
	}
	hs, _ := features(hbuf[:0], rs, tbuf[:0], neg)
	c.scores(hs, p)
	softmax(p)
	return true
}

// scores computes the linear scores of a feature multiset. Each example is
// scaled to unit L2 norm (1/sqrt(n)) so long and short messages are
// comparable; unseen features count towards n but carry no weight.
func (c *Classifier) scores(hs []uint64, z *[numIntents]float64) {
	var sum [numIntents]float32
	for _, h := range hs {
		row, ok := c.index[h]
		if !ok {
			continue
		}
		ws := c.w[int(row)*numIntents : int(row)*numIntents+numIntents]
		for k := range sum {
			sum[k] += ws[k]
		}
	}
	scale := 1 / math.Sqrt(float64(len(hs)))
	for k := range z {
		z[k] = c.bias[k] + scale*float64(sum[k])
	}
}

func softmax(z *[numIntents]float64) {
	m := z[0]
	for _, v := range z {
		m = max(m, v)
	}
	var s float64
	for k, v := range z {
		z[k] = math.Exp(v - m)
		s += z[k]
	}
	for k := range z {
		z[k] /= s
	}
}
