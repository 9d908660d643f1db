// Package discordtest is an in-process fake Discord for tests: a REST API
// (the calls kefu's adapter makes) and a gateway websocket (HELLO,
// IDENTIFY, READY, heartbeats, RESUME with replay or INVALID_SESSION,
// MESSAGE_CREATE, INTERACTION_CREATE), with helpers to make users write,
// press buttons and run slash commands, to cut the gateway, and to read
// what the bot posted.
//
// It speaks Discord's JSON itself and does not import discordgo (only
// bot/discord may), so it also checks that the adapter's requests have the
// shape Discord documents. Tests of cmd/kefu reuse it.
package discordtest
