package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kefu-bot/kefu/bot/nlu"
)

// cmdIntent is `kefu intent`: one JSON object per text, from the arguments
// or, with none, from stdin lines in order.
func cmdIntent(args []string, stdin io.Reader, stdout io.Writer) error {
	c, err := nlu.New()
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	emit := func(text string) error {
		r := c.Classify(text)
		return enc.Encode(struct {
			Text string `json:"text"`
			nlu.Result
		}{text, r})
	}
	if len(args) > 0 {
		for _, t := range args {
			if err := emit(t); err != nil {
				return err
			}
		}
		return nil
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		if err := emit(strings.TrimSuffix(sc.Text(), "\r")); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	return nil
}
