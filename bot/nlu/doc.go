// Package nlu classifies what a shop customer wants from one chat message:
// where an order is, a return or refund, a complaint, points, a human
// agent, privacy requests, unsubscribing, a greeting, help, feedback or
// something off-topic (see Intents). It understands English, Simplified
// and Traditional Chinese and code-switched messages such as
// "我的order到哪了", and extracts order numbers (ExtractOrderID).
//
// The package imports no other kefu package; it depends only on the
// standard library and golang.org/x/text.
//
// # How it works
//
// New trains a model from the labelled examples in data/train.tsv, which
// are embedded in the binary, so nothing is downloaded at run time and
// training takes a few tens of milliseconds:
//
//   - Normalize folds the text: NFKC and full-width forms, lower case,
//     Traditional to Simplified Chinese (a character table generated from
//     OpenCC), apostrophes dropped, digit runs replaced by a placeholder.
//   - Features are character 1–3-grams of Chinese runs (no word
//     segmentation needed), words, word pairs and character 2–4-grams of
//     Latin words (which makes typos such as "refnd" land near "refund"),
//     number placeholders, ? and !, and a message-length bucket. Words
//     after a volitional negation ("don't want", "no need", 不要, 不用, 别,
//     不+退/换/兑/删…) get separate features, so "I don't want a refund,
//     where is it" is not read as a refund request.
//   - A multinomial logistic regression over hashed features is trained
//     by SGD with a fixed-seed shuffle and averaged weights, so training
//     is deterministic. The softmax probability of the best intent is the
//     confidence; below 0.4 the answer is Unknown.
//
// TestAccuracy reports accuracy on the separate held-out set in
// data/test.tsv:
//
//	go test ./bot/nlu -run TestAccuracy -v
//
// A Classifier is immutable and safe for concurrent use; the package has
// no mutable global state.
package nlu
