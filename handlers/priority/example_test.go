package priority_test

import (
	"fmt"

	"github.com/kefu-bot/kefu/handlers/priority"
)

func ExampleRules_Grade() {
	r := priority.DefaultRules()
	g := r.Grade(priority.Input{
		Category: priority.ProductCounterfeit,
		Text:     "收到的是假货！！！骗子，我要打12315投诉",
	})
	fmt.Println(g.Priority, g.Score, g.Severity)
	for _, s := range g.Signals {
		fmt.Printf("%s %q %+d\n", s.Kind, s.Match, s.Points)
	}
	// Output:
	// P1 120 critical
	// category "product.counterfeit" +40
	// threat "骗子, 12315" +55
	// anger "投诉" +15
	// anger "!!!" +10
}

func ExampleRules_Validate() {
	r := priority.DefaultRules()
	r.Thresholds = [3]int{50, 50, 10}
	r.CategoryPoints["logistic.delay"] = 10 // a typo
	fmt.Println(r.Validate())
	// Output:
	// thresholds [50 50 10]: must descend, P1 > P2 > P3 > 0
	// category points: unknown category "logistic.delay"
}
