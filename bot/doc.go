// Package bot is kefu's platform-neutral engine: inbound messages, routing,
// conversation state, the outbox and its dispatcher, rate limits, the
// scheduler for timed work, metrics and the message catalogue.
//
// bot may import models and bot/nlu, never handlers or an adapter
// (bot/telegram, bot/discord, bot/console, bot/web). Adapters implement
// Channel and call Engine.Handle; handlers register on a Router. Only
// cmd/kefu wires them together.
//
// One turn is one transaction: the inbound message, the customer's state
// and every reply (rows in the outbox) commit together or not at all. Turns
// from different conversations share transactions (group commit) through
// one Writer, so throughput is bound by SQLite's commits, not by
// statements.
package bot
