package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/bwmarrin/discordgo"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// maxUpload is the largest attachment kefu re-uploads when relaying (the
// limit of a server without boosts); larger files are relayed as a link.
const maxUpload = 10 << 20

// Send delivers m and returns the Discord message id (of the last message
// when the text had to be split).
//
// Texts over 2000 characters are split at paragraph, line or space
// boundaries; buttons go on the last part (as action rows of at most five)
// and the reply reference on the first. No mention in relayed text pings
// anyone. Edit replaces text and buttons of that message (a ticket card is
// edited in the staff channel, where it lives, even when the edit is
// addressed to its thread); a message that is gone is answered anew. The
// first message after a slash command replaces its "thinking" response.
// Attachments with a URL are downloaded and uploaded again (a link when
// that fails or the file is too big); others are named in the text.
func (a *Adapter) Send(ctx context.Context, m *bot.Outbound) (string, error) {
	if m.ChatID == "" {
		return "", &bot.PermanentError{Err: errors.New("discord: no chat id")}
	}
	target := m.ChatID
	if m.Thread != "" {
		target = m.Thread
	}
	comps, err := components(m.Buttons)
	if err != nil {
		return "", err
	}
	text := escapeMarkdown(m.Text) // shown as typed, as on Telegram
	files, notes := a.attachments(ctx, m.Attachments)
	if notes != "" {
		text = strings.TrimSpace(text + "\n" + notes)
	}
	if strings.TrimSpace(text) == "" && len(files) == 0 {
		return "", &bot.PermanentError{Err: errors.New("discord: empty message")}
	}
	parts := splitText(text)
	if m.Edit != "" && len(files) == 0 {
		in := target
		if m.Edit == m.Thread {
			in = m.ChatID // a thread started on a card has the card's id; the card lives in the parent
		}
		last := len(parts) == 1
		e := &discordgo.MessageEdit{ID: m.Edit, Channel: in, Content: &parts[0], AllowedMentions: noMentions()}
		if last {
			e.Components = &comps
		} else {
			empty := []discordgo.MessageComponent{}
			e.Components = &empty
		}
		_, err := a.s.ChannelMessageEditComplex(e, discordgo.WithContext(ctx))
		switch {
		case err == nil:
			if last {
				return m.Edit, nil
			}
			parts = parts[1:]
		case isStatus(err, http.StatusNotFound):
			// Deleted meanwhile: say it in a new message instead.
		default:
			return "", a.mapError("edit message", err)
		}
	}
	var last string
	for n, p := range parts {
		ms := &discordgo.MessageSend{Content: p, AllowedMentions: noMentions()}
		if n == 0 && m.ReplyTo != "" {
			no := false
			ms.Reference = &discordgo.MessageReference{MessageID: m.ReplyTo, ChannelID: target, FailIfNotExists: &no}
		}
		if n == len(parts)-1 {
			ms.Components = comps
			ms.Files = files
		}
		if n == 0 && m.Edit == "" && len(files) == 0 {
			if i := a.takePending(m.ChatID, m.Thread); i != nil {
				id, err := a.replaceResponse(ctx, i, ms)
				if err == nil {
					last = id
					continue
				}
				a.log.Debug("discord: could not answer in the interaction; sending a message", "err", err)
			}
		}
		sent, err := a.post(ctx, target, ms, nonce(m.ID, n))
		if err != nil {
			return "", a.mapError("send message", err)
		}
		last = sent.ID
	}
	return last, nil
}

// nonce names part n of outbox row id for Discord's duplicate check
// ("" for a message that is not an outbox row). At most 25 characters.
func nonce(id uint64, n int) string {
	if id == 0 {
		return ""
	}
	return fmt.Sprintf("k%d.%d", id, n)
}

// idempotentSend is a message with Discord's duplicate check: with
// enforce_nonce, a second message with the same nonce from the bot within a
// few minutes is not created; Discord answers with the first one. A reply
// sent just before a crash, and so sent again after the restart, is thus
// posted once. discordgo's MessageSend has no such fields.
type idempotentSend struct {
	*discordgo.MessageSend
	Nonce        string `json:"nonce,omitempty"`
	EnforceNonce bool   `json:"enforce_nonce,omitempty"`
}

// post creates ms in channel, as ChannelMessageSendComplex does, with the
// nonce when there is one.
func (a *Adapter) post(ctx context.Context, channel string, ms *discordgo.MessageSend, nonce string) (*discordgo.Message, error) {
	if nonce == "" {
		return a.s.ChannelMessageSendComplex(channel, ms, discordgo.WithContext(ctx))
	}
	body := idempotentSend{MessageSend: ms, Nonce: nonce, EnforceNonce: true}
	endpoint := discordgo.EndpointChannelMessages(channel)
	var (
		resp []byte
		err  error
	)
	if len(ms.Files) > 0 {
		ct, data, encErr := discordgo.MultipartBodyWithJSON(body, ms.Files)
		if encErr != nil {
			return nil, encErr
		}
		resp, err = a.s.RequestRaw(http.MethodPost, endpoint, ct, data, endpoint, 0, discordgo.WithContext(ctx))
	} else {
		resp, err = a.s.RequestWithBucketID(http.MethodPost, endpoint, body, endpoint, discordgo.WithContext(ctx))
	}
	if err != nil {
		return nil, err
	}
	var m discordgo.Message
	if err := json.Unmarshal(resp, &m); err != nil {
		return nil, fmt.Errorf("discord: decode sent message: %w", err)
	}
	return &m, nil
}

// replaceResponse puts ms in place of a slash command's "thinking" response.
func (a *Adapter) replaceResponse(ctx context.Context, i *discordgo.Interaction, ms *discordgo.MessageSend) (string, error) {
	comps := ms.Components
	if comps == nil {
		comps = []discordgo.MessageComponent{}
	}
	msg, err := a.s.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &ms.Content, Components: &comps,
		AllowedMentions: ms.AllowedMentions}, discordgo.WithContext(ctx))
	if err != nil {
		return "", a.mapError("edit response", err)
	}
	return msg.ID, nil
}

// noMentions keeps relayed text from pinging users, roles or @everyone.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// components turns kefu's button rows into action rows of at most five
// buttons. Discord allows five rows: when the buttons need more, each row
// of more than five becomes a select menu instead (up to 25 choices, one
// row); the choice arrives as the button's data. Data over 100 bytes, or
// a menu that still does not fit, is a permanent error (Discord would
// refuse the whole message).
func components(rows [][]models.Button) ([]discordgo.MessageComponent, error) {
	for _, row := range rows {
		for _, b := range row {
			if b.Data == "" || len(b.Data) > maxCustomID {
				return nil, &bot.PermanentError{Err: fmt.Errorf("discord: button %q: custom id must be 1-%d bytes, is %d",
					b.Label, maxCustomID, len(b.Data))}
			}
		}
	}
	out := buttonRows(rows, false)
	if len(out) > maxRows {
		out = buttonRows(rows, true)
	}
	if len(out) > maxRows {
		return nil, &bot.PermanentError{Err: fmt.Errorf("discord: %d rows of buttons and menus, at most %d fit", len(out), maxRows)}
	}
	for _, r := range out {
		if sm, ok := r.(discordgo.ActionsRow).Components[0].(discordgo.SelectMenu); ok && len(sm.Options) > maxOptions {
			return nil, &bot.PermanentError{Err: fmt.Errorf("discord: a menu of %d choices, at most %d fit", len(sm.Options), maxOptions)}
		}
	}
	return out, nil
}

// maxOptions is the most choices a select menu holds.
const maxOptions = 25

// selectPrefix marks a select menu's custom id; the choice is its value.
const selectPrefix = "kefu-menu:"

func buttonRows(rows [][]models.Button, menus bool) []discordgo.MessageComponent {
	out := []discordgo.MessageComponent{}
	for n, row := range rows {
		if menus && len(row) > maxRowButtons {
			sm := discordgo.SelectMenu{MenuType: discordgo.StringSelectMenu, CustomID: fmt.Sprintf("%s%d", selectPrefix, n),
				Placeholder: "…"}
			for _, b := range row {
				sm.Options = append(sm.Options, discordgo.SelectMenuOption{Label: clip(orDot(b.Label), 100), Value: b.Data})
			}
			out = append(out, discordgo.ActionsRow{Components: []discordgo.MessageComponent{sm}})
			continue
		}
		for len(row) > 0 {
			k := min(len(row), maxRowButtons)
			var r discordgo.ActionsRow
			for _, b := range row[:k] {
				r.Components = append(r.Components, discordgo.Button{Label: clip(orDot(b.Label), maxLabel), CustomID: b.Data,
					Style: discordgo.SecondaryButton})
			}
			out = append(out, r)
			row = row[k:]
		}
	}
	return out
}

func orDot(s string) string {
	if s == "" {
		return "·"
	}
	return s
}

// attachments fetches the attachments that have a URL, to upload them
// again, and uploads the ones kefu made (Data); the rest, and any that cannot be fetched, become lines of text.
func (a *Adapter) attachments(ctx context.Context, ats []models.Attachment) ([]*discordgo.File, string) {
	var files []*discordgo.File
	var notes []string
	for _, at := range ats {
		name := at.Name
		if name == "" {
			name = at.Kind
		}
		if len(at.Data) > 0 { // a file kefu made (a data export): upload it as is
			mime := at.MIME
			if mime == "" {
				mime = "application/octet-stream"
			}
			files = append(files, &discordgo.File{Name: name, ContentType: mime, Reader: bytes.NewReader(at.Data)})
			continue
		}
		if at.URL == "" {
			notes = append(notes, fmt.Sprintf("[%s: %s]", at.Kind, name))
			continue
		}
		body, err := a.download(ctx, at.URL)
		if err != nil {
			a.log.Warn("discord: cannot fetch an attachment to relay; sending its link", "name", name, "err", err)
			notes = append(notes, at.URL)
			continue
		}
		if at.Name == "" {
			name += ".bin"
		}
		mime := at.MIME
		if mime == "" {
			mime = "application/octet-stream"
		}
		files = append(files, &discordgo.File{Name: name, ContentType: mime, Reader: strings.NewReader(string(body))})
	}
	return files, strings.Join(notes, "\n")
}

func (a *Adapter) download(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.s.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUpload+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxUpload {
		return nil, fmt.Errorf("larger than %d bytes", maxUpload)
	}
	return body, nil
}

// splitText cuts s into parts of at most 2000 characters. Discord counts
// UTF-16 code units, as JavaScript does.
func splitText(s string) []string { return bot.SplitText(s, maxText, utf16.RuneLen) }

// ThreadsIn reports whether chatID is the staff channel: each ticket gets
// a thread there, started on its card.
func (a *Adapter) ThreadsIn(chatID string) bool {
	return a.o.StaffChannelID != "" && chatID == a.o.StaffChannelID
}

// OpenThread posts m (the ticket's card) in the staff channel and starts a
// thread named title on it; the thread has the card's id. If the card went
// out but the thread could not be started, the retry starts the thread on
// that same card rather than posting another.
func (a *Adapter) OpenThread(ctx context.Context, chatID, title string, m *bot.Outbound) (string, string, error) {
	a.mu.Lock()
	card := a.cards[m.ID]
	a.mu.Unlock()
	if card == "" || m.ID == 0 {
		first := *m
		first.Thread = ""
		id, err := a.Send(ctx, &first)
		if err != nil {
			return "", "", err
		}
		card = id
		if m.ID != 0 {
			a.mu.Lock()
			a.cards[m.ID] = card
			a.mu.Unlock()
		}
	}
	th, err := a.s.MessageThreadStartComplex(chatID, card, &discordgo.ThreadStart{Name: clip(title, 100),
		AutoArchiveDuration: 10080}, discordgo.WithContext(ctx))
	if err != nil {
		if isStatus(err, http.StatusForbidden) {
			// Not the chat's fault: the bot lacks a permission. This row
			// fails; the staff channel stays usable.
			return "", "", &bot.PermanentError{Err: fmt.Errorf("discord start thread in %s: 403: the bot needs the Create Public Threads and Send Messages in Threads permissions", chatID)}
		}
		return "", "", a.mapError("start thread", err)
	}
	a.mu.Lock()
	delete(a.cards, m.ID)
	a.parents[th.ID] = chatID
	if _, ok := a.cursors[th.ID]; !ok {
		// Follow the thread from its start, so staff answers written
		// during an outage are fetched too.
		a.cursors[th.ID], a.dirty[th.ID], a.movedAt[th.ID] = th.ID, th.ID, time.Now()
	}
	a.mu.Unlock()
	return th.ID, card, nil
}
