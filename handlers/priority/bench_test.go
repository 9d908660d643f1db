package priority

import (
	"strings"
	"testing"
)

func BenchmarkGrade(b *testing.B) {
	r := DefaultRules()
	for _, bc := range []struct{ name, text string }{
		{"short", "收到的是假货！！！骗子，我要打12315投诉"},
		{"calm", "Hi, the parcel is a bit late. Could you check where it is? Thanks."},
		{"long-repeats", strings.Repeat("不坑", 40000)},
		{"long-caps", strings.Repeat("LOUD ", 20000)},
		{"long-mixed", strings.Repeat("not angry 垃圾袋 !!! ", 5000)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := Input{Category: ProductQuality, Text: bc.text}
			for b.Loop() {
				r.Grade(in)
			}
		})
	}
}
