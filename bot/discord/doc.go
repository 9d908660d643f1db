// Package discord is kefu's Discord channel, built on
// github.com/bwmarrin/discordgo: customers write to the bot in direct
// messages (or in an optional public support channel, answered in DMs),
// press buttons and use slash commands; staff work in a staff channel
// where each ticket has a card and a thread.
//
// It is the only package of kefu that imports discordgo, and it may import
// bot, bot/config, bot/nlu and models, nothing else of kefu.
// discordtest is a fake Discord (REST and gateway) for tests.
//
// # Connection
//
// discordgo builds its URLs from constants at init; Options.APIBase
// reaches it through the session's HTTP client, whose transport rewrites
// discord.com to that base with the same paths, so the gateway URL is the
// one the base answers to /gateway. New checks the token with GET
// /users/@me and /gateway/bot: a rejected token is one clear error, and
// the token never appears in an error or a log line. Only the intents kefu
// uses are requested (Intents): guilds, guild messages, direct messages
// and the privileged message content.
//
// # Turns and ordering
//
// Gateway events are read in order (SyncEvents) and queued per Discord
// channel; each channel's queue is drained by one goroutine, so a chat's
// messages become turns in order while chats proceed in parallel.
// Inbound.MessageID is the Discord message id ("i" + id for interactions),
// so the engine stores and answers each message once whichever way it
// arrives. A turn that fails (the database refuses) is retried with
// backoff and the channel waits.
//
// # Interactions
//
// Buttons and slash commands are acknowledged at once with a deferred
// response (type 6 for a button, type 5 for a command — ephemeral outside
// DMs), well within Discord's three seconds, and then run as turns. A
// command's first reply replaces its "thinking" response; a button's reply
// usually edits the pressed message. RegisterCommands publishes the
// customer commands globally with Simplified Chinese descriptions.
//
// # Staff
//
// Members of the guild with the staff role are staff (Inbound.Staff);
// messages in the staff channel and its threads are Room messages (the
// thread is Inbound.Thread, the chat the staff channel). OpenThread posts a
// ticket's card and starts a thread on it (same id as the card).
//
// # Reconnects
//
// discordgo reconnects and resumes by itself; a resumed session gets what
// it missed replayed by Discord. After every READY (a new session: Discord
// refused the resume, or kefu started) the
// adapter fetches, per channel it follows (DMs, ticket threads, staff and
// support channels active within CatchUpWindow), the messages after the
// last one whose turn committed (GET /channels/{id}/messages?after=),
// oldest first, ahead of any newer live message of that channel. Cursors
// are kept in memory and saved every few seconds and at shutdown
// (models.Cursor), so a restart catches up too. Discord cannot list DM
// channels with new messages: a first-time customer whose first message
// falls into an outage Discord does not replay is not seen.
//
// # Sending
//
// Texts over 2000 characters are split at paragraph, line or space
// boundaries; buttons become action rows of at most five (select menus
// when more than five rows would be needed), on the last
// part. Mentions in relayed text never ping. Errors are classified for the
// dispatcher: 429 is a bot.RetryAfterError with Discord's retry_after
// (discordgo does not retry it: ShouldRetryOnRateLimit is off, and a 502
// is retried once), 403/404 wrap bot.ErrUnreachable, other 4xx are
// bot.PermanentError, the rest is retried by the dispatcher.
package discord
