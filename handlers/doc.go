// Package handlers is what kefu does: greeting and help, language, the
// fallback, handoff to staff, the staff desk, loyalty points, orders and
// returns, surveys, customer insight and care campaigns — one file per
// topic, all
// mapped in routes.go.
//
// handlers may import bot, bot/nlu, models and its own pure subpackages
// (priority, sla, loyalty, survey, insight, campaign); never an adapter. Handlers
// change state only through c.Store() and talk only through c.Reply and
// friends, so everything they do commits with the turn.
package handlers
