// Package telegram is kefu's Telegram channel: it long-polls the Bot API
// for updates (or receives them on a webhook), turns them into
// bot.Inbound turns for the engine, and delivers the dispatcher's
// bot.Outbound messages (texts, inline keyboards, edits, replies and
// relayed photos and documents).
//
// It is the only package of kefu that imports
// github.com/go-telegram-bot-api/telegram-bot-api/v5, and it may import
// bot, bot/config and models, nothing else of kefu.
//
// # Delivery guarantees
//
// Poll calls getUpdates itself and moves the offset past an update only
// after Engine.Handle returned nil, that is after the turn committed; an
// update whose turn failed is asked for again after a backoff, and the
// engine drops what it has already seen (Inbound.MessageID is "u" plus
// the update_id). Updates of one chat are handled in order, chats of one
// batch in parallel. Callback queries are answered once their turn is.
//
// # Webhook mode
//
// Instead of Poll, SetWebhook(ctx, url, secret) has Telegram POST each
// update to url and WebhookHandler(e, secret) serves those requests: it
// refuses any request without the secret in the
// X-Telegram-Bot-Api-Secret-Token header (401), bodies over 1 MiB (413)
// and malformed JSON (400), maps and handles the update exactly as Poll
// does, and answers 200 only after the turn committed; a failed turn is
// answered 500 and Telegram delivers the update again, the engine
// dropping it if it had committed after all. The two modes exclude each
// other (getUpdates answers 409 while a webhook is set): DeleteWebhook
// goes back to polling.
//
// # Sending
//
// Messages go as plain text (no parse_mode), so relayed user text needs no
// escaping. Texts longer than Telegram's 4096 UTF-16 code units are split
// at paragraph, line or space boundaries. Errors are classified for the
// dispatcher: 429 is a bot.RetryAfterError with Telegram's retry_after,
// 403 and "chat not found" wrap bot.ErrUnreachable, other 400s are
// bot.PermanentError, the rest is retried. The bot token never appears in
// an error or a log line.
//
// Not implemented: forum topics (message_thread_id).
package telegram
