package discord

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kefu-bot/kefu/bot"
)

// Sharding. A bot may open its gateway as several shards (Options.ShardID
// of ShardCount), one per process, and Discord splits the events between
// them: direct messages (and their interactions) go to shard 0 only, and
// a guild's events to shard (guild_id >> 22) % ShardCount. kefu serves one
// guild, so at most two shards receive anything — shard 0 the customers'
// DMs, the guild's shard the staff and support channels and the ticket
// threads — and when the guild's shard is 0 that one shard receives all.
//
// Live events need nothing from the adapter: Discord sends each shard
// only its own. The catch-up after a new session does: every replica
// loads every cursor from the shared database, so each shard fetches only
// the channels Discord would have sent it — otherwise two shards would
// both fetch, and both answer, a missed message.

// guildShard is the shard that receives the events of guild, of count.
func guildShard(guild string, count int) (int, error) {
	if count <= 1 {
		return 0, nil
	}
	id, err := strconv.ParseUint(guild, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("discord: %d shards need the guild id to know which shard receives the guild (got %q)", count, guild)
	}
	return int((id >> 22) % uint64(count)), nil
}

// receives says which events this shard gets: direct messages, the
// guild's, or both (one shard, or the guild's shard is 0).
func (a *Adapter) receives() (dms, guild bool) {
	return a.o.ShardID == 0, a.o.ShardID == a.guildShard
}

// receivesHere reports whether Discord sends this shard the events of
// channel ch, so that its catch-up is this shard's to do. A channel whose
// kind is unknown is looked up (once: parentOf caches it), retrying with
// backoff while the lookup fails for now; false when ctx ends first.
func (a *Adapter) receivesHere(ctx context.Context, ch string) bool {
	dms, guild := a.receives()
	if dms == guild {
		return dms // every channel, or (an idle shard) none
	}
	if ch == a.o.StaffChannelID || ch == a.o.SupportChannelID {
		return guild
	}
	var wait time.Duration
	for {
		p, err := a.parentOf(ctx, ch)
		if err == nil {
			return (p == dmParent) == dms
		}
		var pe *bot.PermanentError
		if errors.Is(err, bot.ErrUnreachable) || errors.As(err, &pe) {
			// Gone or closed to the bot: the catch-up's fetch finds that
			// out too and stops following the channel.
			return true
		}
		wait = a.backoff(err, wait)
		a.log.Warn("discord: cannot look up a channel to catch up; retrying", "discord_channel", ch, "retry_in", wait, "err", err)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// logShard tells the operator what this shard receives, and warns when it
// receives nothing (it then only sends).
func (a *Adapter) logShard() {
	if a.o.ShardCount <= 1 {
		return
	}
	dms, guild := a.receives()
	switch {
	case dms && guild:
		a.log.Info("discord shard receives direct messages and the guild", "shard", a.o.ShardID, "shards", a.o.ShardCount)
	case dms:
		a.log.Info("discord shard receives direct messages; the guild goes to another shard", "shard", a.o.ShardID,
			"shards", a.o.ShardCount, "guild_shard", a.guildShard)
	case guild:
		a.log.Info("discord shard receives the guild; direct messages go to shard 0", "shard", a.o.ShardID, "shards", a.o.ShardCount)
	default:
		a.log.Warn("discord shard receives no events: direct messages go to shard 0 and the guild to its own shard; this process only sends",
			"shard", a.o.ShardID, "shards", a.o.ShardCount, "guild_shard", a.guildShard)
	}
}

// reloadCursors merges the cursors saved since the adapter started (by
// other replicas, or this one) into its own, so that a new session catches
// up on channels another replica began following: a ticket thread another
// replica's dispatcher opened, a DM a replica on the same shard answered
// before it died. It runs on the gateway's event goroutine, before the
// catch-ups are queued, so no live message of a channel can overtake them;
// a database that does not answer within a few seconds leaves the cursors
// as they are.
func (a *Adapter) reloadCursors() {
	if a.o.Cursors == nil {
		return
	}
	a.mu.Lock()
	base := a.ctx
	a.mu.Unlock()
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithTimeout(base, 5*time.Second)
	defer cancel()
	saved, err := a.o.Cursors.LoadCursors(ctx, time.Now().Add(-a.o.CatchUpWindow))
	if err != nil {
		a.log.Warn("discord: cannot reload the cursors; catching up on the ones in memory", "err", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for ch, id := range saved {
		if later(id, a.cursors[ch]) {
			if _, ok := a.cursors[ch]; !ok {
				a.movedAt[ch] = time.Now()
			}
			a.cursors[ch] = id
		}
	}
}
