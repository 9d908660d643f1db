// Package admin serves kefu's admin HTTP API: JSON endpoints for shop
// staff tools. Handlers carry no authentication; cmd/kefu wraps them with
// the bearer-token check and mounts them on the web server.
//
// It may import bot, bot/config, models and handlers/orderfile (the order
// parser shared with `kefu import orders`) only.
package admin
