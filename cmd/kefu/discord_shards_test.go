package main

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/kefu-bot/kefu/bot/discord/discordtest"
	"github.com/kefu-bot/kefu/models"
	"github.com/kefu-bot/kefu/models/modelstest"
)

// TestDiscordShardsOnePostgres runs two `kefu run` on one PostgreSQL
// database, Discord shard 0 and shard 1 of 2, with the guild on shard 1:
// the customer's DMs reach the first, the staff channel and the ticket
// threads the second. A ticket is opened, staff and customer talk through
// its thread, and after Discord ends both sessions while both write, each
// message is delivered once (each shard catches up only its own channels).
func TestDiscordShardsOnePostgres(t *testing.T) {
	if modelstest.Driver() != "postgres" {
		t.Skip("two kefu on one database: PostgreSQL only, in the PostgreSQL run")
	}
	f := discordtest.New(discordTestToken)
	defer f.Close()
	f.MoveGuild(1, 2)
	staff, role := f.AddChannel("staff"), f.NewID()
	base := testEnv(t)
	base["KEFU_DEMO_SEED"] = "false"
	base["KEFU_DISCORD_SHARD_COUNT"] = "2"
	var wait func(channel, contains string) discordtest.Message
	for _, id := range []string{"0", "1"} {
		e := maps.Clone(base)
		e["KEFU_DISCORD_SHARD_ID"] = id
		wait = runDiscordEnv(t, f, e, staff, role)
	}
	if !f.Wait(15*time.Second, func() bool { return slices.Equal(f.ConnectedShards(), []int{0, 1}) }) {
		t.Fatalf("connected shards %v; want [0 1]", f.ConnectedShards())
	}
	ana, mei := discordtest.User{ID: f.NewID(), Username: "ana"}, discordtest.User{ID: f.NewID(), Username: "mei"}
	f.AddMember(mei.ID, role)
	// The replica that posts the card records its thread after Discord
	// created it; a staff message in the thread on the other replica in
	// between is not yet known as the ticket's (people take longer than
	// that to answer a new card; the test waits as they would).
	ctx := context.Background()
	db, err := models.Open(ctx, dbOptions(base))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recorded := func(thread string) bool {
		_, err := db.Read().ThreadTicket(ctx, "discord", staff, thread)
		return err == nil
	}
	talkThroughTicket(t, f, wait, ana, mei, staff, "T-", recorded)
	if identifies, _ := f.Sessions(); identifies != 4 {
		t.Errorf("%d IDENTIFYs; want 4 (two shards, twice)", identifies)
	}
}
