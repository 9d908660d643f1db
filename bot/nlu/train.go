package nlu

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// example is one labelled message.
type example struct {
	label int
	lang  string // only in test data
	text  string
}

// parseExamples reads "intent<TAB>text" lines, or "lang<TAB>intent<TAB>text"
// when withLang is set. Blank lines and lines starting with '#' are skipped.
func parseExamples(data []byte, withLang bool) ([]example, error) {
	var exs []example
	for n, line := range bytes.Split(data, []byte("\n")) {
		s := strings.TrimRight(string(line), "\r")
		if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if !utf8.ValidString(s) {
			return nil, fmt.Errorf("line %d: invalid UTF-8", n+1)
		}
		var ex example
		if withLang {
			var ok bool
			ex.lang, s, ok = strings.Cut(s, "\t")
			if !ok {
				return nil, fmt.Errorf("line %d: want lang<TAB>intent<TAB>text", n+1)
			}
		}
		label, text, ok := strings.Cut(s, "\t")
		if !ok || strings.TrimSpace(text) == "" {
			return nil, fmt.Errorf("line %d: want intent<TAB>text", n+1)
		}
		if ex.label = intentIndex(label); ex.label < 0 {
			return nil, fmt.Errorf("line %d: unknown intent %q", n+1, label)
		}
		ex.text = text
		exs = append(exs, ex)
	}
	if len(exs) == 0 {
		return nil, fmt.Errorf("no examples")
	}
	return exs, nil
}

// trainConfig holds the optimiser's settings.
type trainConfig struct {
	epochs  int
	lr      float64 // initial learning rate
	decay   float64 // lr_t = lr / (1 + decay*epoch)
	l2      float64 // weight decay per epoch, relative to the learning rate
	avgFrom int     // first epoch whose weights enter the average
	seed    uint64
}

// defaultTrainConfig was chosen by cross-validation on train.tsv (see
// TestCrossValidation), not on the held-out test set.
func defaultTrainConfig() trainConfig {
	return trainConfig{epochs: 12, lr: 4, decay: 0.1, l2: 0, avgFrom: 6, seed: 0x6b656675}
}

// vectorized is an example as feature rows plus its L2 scale.
type vectorized struct {
	rows  []int32
	scale float32
	label int
}

// trainClassifier fits a multinomial logistic regression with SGD,
// averaging the weights of the later epochs.
// Everything is in data order or a fixed-seed shuffle, so training is
// deterministic.
func trainClassifier(exs []example, cfg trainConfig) (*Classifier, error) {
	c := &Classifier{index: make(map[uint64]int32, 1<<16)}
	copy(c.labels[:], Intents())

	// Featurise every example once; rows are assigned in data order.
	vecs := make([]vectorized, len(exs))
	var (
		rbuf []rune
		hbuf []uint64
		tbuf []token
		nbuf []bool
	)
	rowsPool := make([]int32, 0, len(exs)*96)
	for i, ex := range exs {
		rbuf = normalizeRunes(rbuf[:0], truncate(ex.text, maxInputBytes))
		if len(rbuf) == 0 {
			return nil, fmt.Errorf("nlu: training example %q has no features", ex.text)
		}
		if cap(nbuf) < len(rbuf) {
			nbuf = make([]bool, len(rbuf))
		}
		hbuf, tbuf = features(hbuf[:0], rbuf, tbuf[:0], nbuf[:len(rbuf)])
		if len(hbuf) == 0 {
			return nil, fmt.Errorf("nlu: training example %q has no features", ex.text)
		}
		start := len(rowsPool)
		for _, h := range hbuf {
			row, ok := c.index[h]
			if !ok {
				row = int32(len(c.index))
				c.index[h] = row
			}
			rowsPool = append(rowsPool, row)
		}
		vecs[i] = vectorized{
			rows:  rowsPool[start:len(rowsPool):len(rowsPool)],
			scale: float32(1 / math.Sqrt(float64(len(hbuf)))),
			label: ex.label,
		}
	}

	const K = numIntents
	nRows := len(c.index)
	w := make([]float32, nRows*K)
	// Averaging the weights of the last epochs smooths SGD's noise; it is
	// done per epoch (one pass over w) rather than per step to keep the
	// inner loop to a single write per weight.
	avg := make([]float32, nRows*K)
	var bias, avgBias [K]float64
	averaged := 0

	order := make([]int, len(vecs))
	for i := range order {
		order[i] = i
	}
	rng := cfg.seed
	for epoch := 0; epoch < cfg.epochs; epoch++ {
		for i := len(order) - 1; i > 0; i-- { // Fisher–Yates, fixed seed
			j := int(splitmix(&rng) % uint64(i+1))
			order[i], order[j] = order[j], order[i]
		}
		lr := cfg.lr / (1 + cfg.decay*float64(epoch))
		for _, ei := range order {
			v := &vecs[ei]
			var sum [K]float32
			for _, r := range v.rows {
				ws := w[int(r)*K : int(r)*K+K]
				for k := range sum {
					sum[k] += ws[k]
				}
			}
			var p [K]float64
			for k := range p {
				p[k] = bias[k] + float64(v.scale)*float64(sum[k])
			}
			softmax(&p)
			var g [K]float32
			active := false
			for k := range p {
				gk := p[k]
				if k == v.label {
					gk--
				}
				if math.Abs(gk) < 1e-3 {
					continue // negligible: skipping keeps late epochs cheap
				}
				active = true
				g[k] = float32(lr*gk) * v.scale
				bias[k] -= lr * gk
			}
			if !active {
				continue
			}
			for _, r := range v.rows {
				ws := w[int(r)*K : int(r)*K+K]
				for k := range g {
					ws[k] -= g[k]
				}
			}
		}
		if cfg.l2 > 0 {
			shrink := float32(1 - lr*cfg.l2)
			for i := range w {
				w[i] *= shrink
			}
		}
		if epoch >= cfg.avgFrom {
			averaged++
			for i := range w {
				avg[i] += w[i]
			}
			for k := range bias {
				avgBias[k] += bias[k]
			}
		}
	}
	inv := 1 / float32(averaged)
	for i := range avg {
		avg[i] *= inv
	}
	c.w = avg
	for k := range bias {
		c.bias[k] = avgBias[k] / float64(averaged)
	}
	return c, nil
}

// splitmix is a tiny deterministic PRNG for the training shuffle.
func splitmix(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
