package discord

import (
	"context"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/kefu-bot/kefu/bot"
)

// Interactions (button presses, slash commands) must be answered within
// three seconds, long before a turn is sure to have committed behind other
// turns. So each is acknowledged at once with a deferred response —
// DEFERRED_UPDATE_MESSAGE (6) for a button, DEFERRED_CHANNEL_MESSAGE (5,
// "thinking…") for a command — and the turn runs in the channel's queue.
// The first reply to a slash command then replaces the "thinking" message
// (the interaction's original response); a command whose turn says
// nothing has its "thinking" message deleted.

// pendingTTL is how long an interaction token may still edit its original
// response (Discord allows 15 minutes).
const pendingTTL = 14 * time.Minute

func (a *Adapter) onInteraction(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
	i := ic.Interaction
	if i == nil || (i.Type != discordgo.InteractionMessageComponent && i.Type != discordgo.InteractionApplicationCommand) {
		return
	}
	if i.GuildID != "" && a.o.GuildID != "" && i.GuildID != a.o.GuildID {
		return
	}
	user := i.User
	if i.Member != nil && i.Member.User != nil {
		user = i.Member.User
	}
	if user == nil {
		return
	}
	if i.GuildID == "" {
		a.mu.Lock()
		a.parents[i.ChannelID] = dmParent
		a.mu.Unlock()
	}
	kind := discordgo.InteractionResponseDeferredMessageUpdate
	if i.Type == discordgo.InteractionApplicationCommand {
		kind = discordgo.InteractionResponseDeferredChannelMessageWithSource
	}
	resp := &discordgo.InteractionResponse{Type: kind}
	if kind == discordgo.InteractionResponseDeferredChannelMessageWithSource && i.GuildID != "" {
		// In a guild channel only the user sees the answer ("answered in
		// DM", "write to me in DM"); customers' answers go to their DMs.
		resp.Data = &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}
	}
	acked := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		acked <- a.s.InteractionRespond(i, resp, discordgo.WithContext(ctx))
	}()
	a.enqueue(i.ChannelID, func(ctx context.Context) {
		if err := <-acked; err != nil {
			a.log.Warn("discord: acknowledging an interaction failed", "interaction", i.ID, "err", a.mapError("interaction response", err))
		}
		a.handleInteraction(ctx, i, user)
	})
}

func (a *Adapter) handleInteraction(ctx context.Context, i *discordgo.Interaction, user *discordgo.User) {
	p := a.placeOf(ctx, i.ChannelID, user.ID)
	if !p.ok {
		// A channel kefu does not serve: say where to write, to this user only.
		a.followUpOnly(ctx, i, a.text(a.lang(i), "discord.dm_only"))
		return
	}
	in := bot.Inbound{Channel: Name, ChatID: p.chat, Thread: p.thread, Room: p.room, MessageID: "i" + i.ID,
		UserID: user.ID, UserName: displayName(user), Locale: string(i.Locale), Time: time.Now()}
	if p.room {
		in.Staff = a.isStaff(ctx, i.Member, user.ID)
	}
	command := i.Type == discordgo.InteractionApplicationCommand
	if command {
		d := i.ApplicationCommandData()
		in.Text = "/" + d.Name
		for _, o := range d.Options {
			if o.Type == discordgo.ApplicationCommandOptionString {
				in.Text += " " + o.StringValue()
			}
		}
	} else {
		d := i.MessageComponentData()
		in.Data = d.CustomID
		if d.ComponentType == discordgo.SelectMenuComponent && len(d.Values) > 0 {
			in.Data = d.Values[0] // the chosen option carries the button's data
		}
		if i.Message != nil {
			in.PressedID = i.Message.ID
		}
	}
	// The reply may be sent the moment the turn commits: register the
	// interaction first, so Send finds it.
	key := p.chat + "/" + p.thread
	if command && !p.viaSupport {
		a.mu.Lock()
		a.pending[key] = &pendingReply{i: i, at: time.Now()}
		a.mu.Unlock()
	}
	res, ok := a.handle(ctx, in)
	if !command {
		return
	}
	answered := ok && !res.Duplicate && res.Replies > 0
	if p.viaSupport {
		if answered {
			a.followUpOnly(ctx, i, a.text(a.lang(i), "discord.answered_in_dm"))
		} else {
			a.deleteResponse(ctx, i)
		}
		return
	}
	if answered {
		// Send replaces the "thinking" message with the first reply — when
		// this process sends it. Among replicas another one may (it holds
		// the chat's outbox lease) and post the reply as a plain message:
		// then the "thinking" message is deleted after a grace period
		// instead of turning into "the application did not respond".
		a.wg.Add(1) // the queue's drainer holds the group: Run still waits
		go func() {
			defer a.wg.Done()
			if sleep(ctx, a.pendingGrace) && a.dropPending(key, i) {
				a.deleteResponse(ctx, i)
			}
		}()
		return
	}
	if a.dropPending(key, i) {
		a.deleteResponse(ctx, i)
	}
}

// dropPending forgets interaction i as the one the next message to key
// replaces, and reports whether it still was (Send did not take it).
func (a *Adapter) dropPending(key string, i *discordgo.Interaction) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	pr := a.pending[key]
	mine := pr != nil && pr.i == i
	if mine {
		delete(a.pending, key)
	}
	return mine
}

func (a *Adapter) deleteResponse(ctx context.Context, i *discordgo.Interaction) {
	if err := a.s.InteractionResponseDelete(i, discordgo.WithContext(ctx)); err != nil {
		a.log.Debug("discord: delete a deferred response", "err", a.mapError("delete response", err))
	}
}

// followUpOnly replaces the interaction's deferred response with text.
func (a *Adapter) followUpOnly(ctx context.Context, i *discordgo.Interaction, text string) {
	if i.Type != discordgo.InteractionApplicationCommand {
		return // a button press: nothing is shown
	}
	if _, err := a.s.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &text,
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}},
		discordgo.WithContext(ctx)); err != nil {
		a.log.Debug("discord: edit a deferred response", "err", a.mapError("edit response", err))
	}
}

func (a *Adapter) lang(i *discordgo.Interaction) string {
	if a.catalog != nil {
		return a.catalog.Match(string(i.Locale))
	}
	if strings.HasPrefix(string(i.Locale), "zh") {
		return bot.LangZH
	}
	return bot.LangEN
}

// pendingReply is a slash command waiting for its first reply.
type pendingReply struct {
	i  *discordgo.Interaction
	at time.Time
}

// takePending returns the interaction whose deferred response the next
// message to chat (and thread) should replace, if any.
func (a *Adapter) takePending(chat, thread string) *discordgo.Interaction {
	key := chat + "/" + thread
	a.mu.Lock()
	defer a.mu.Unlock()
	pr := a.pending[key]
	if pr == nil {
		return nil
	}
	delete(a.pending, key)
	if time.Since(pr.at) > pendingTTL {
		return nil
	}
	return pr.i
}
