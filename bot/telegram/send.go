package telegram

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/models"
)

// Send delivers m and returns the Telegram message id (of the last message
// when the text had to be split).
//
// Texts go as plain text, without parse_mode: customer and staff text is
// relayed verbatim and needs no escaping, and a stray "*" or "<" can never
// make Telegram refuse a message. Texts over 4096 UTF-16 code units (what
// Telegram counts) are split at paragraph, line or space boundaries; the
// keyboard goes on the last part and ReplyTo on the first. Edit replaces
// the text and keyboard of that message; if Telegram says it can no longer
// be edited the text is sent as a new message. Attachments with a FileID
// (a relayed customer photo or document) are sent by file id, captioned
// with the text when it fits in a caption.
func (a *Adapter) Send(ctx context.Context, m *bot.Outbound) (string, error) {
	chat, err := strconv.ParseInt(m.ChatID, 10, 64)
	if err != nil {
		return "", &bot.PermanentError{Err: fmt.Errorf("telegram: bad chat id %q", m.ChatID)}
	}
	kb, err := keyboard(m.Buttons)
	if err != nil {
		return "", err
	}
	replyTo := 0
	if m.ReplyTo != "" {
		if replyTo, err = strconv.Atoi(m.ReplyTo); err != nil {
			return "", &bot.PermanentError{Err: fmt.Errorf("telegram: bad reply-to id %q", m.ReplyTo)}
		}
	}
	topic := 0
	if m.Thread != "" {
		if topic, err = strconv.Atoi(m.Thread); err != nil {
			return "", &bot.PermanentError{Err: fmt.Errorf("telegram: bad topic id %q", m.Thread)}
		}
	}
	api := a.callIn(ctx, topic)
	if len(m.Attachments) > 0 {
		return a.sendAttachments(api, chat, replyTo, m, kb)
	}
	if strings.TrimSpace(m.Text) == "" {
		return "", &bot.PermanentError{Err: errors.New("telegram: empty message")}
	}
	parts := splitText(m.Text, maxText)
	if m.Edit != "" {
		id, err := strconv.Atoi(m.Edit)
		if err != nil {
			return "", &bot.PermanentError{Err: fmt.Errorf("telegram: bad message id %q to edit", m.Edit)}
		}
		edit := tgbotapi.NewEditMessageText(chat, id, parts[0])
		if len(parts) == 1 {
			edit.ReplyMarkup = kb
		}
		_, err = api.Send(edit)
		switch {
		case err == nil || isAPIError(err, "message is not modified"):
			parts = parts[1:]
			if len(parts) == 0 {
				return m.Edit, nil
			}
		case isAPIError(err, "message to edit not found") || isAPIError(err, "message can't be edited"):
			// Gone or too old: say it in a new message instead.
		default:
			return "", a.mapError("editMessageText", err)
		}
	}
	return a.sendText(api, chat, replyTo, parts, kb)
}

func (a *Adapter) sendAttachments(api *tgbotapi.BotAPI, chat int64, replyTo int, m *bot.Outbound,
	kb *tgbotapi.InlineKeyboardMarkup) (string, error) {
	caption := ""
	if t := strings.TrimSpace(m.Text); t != "" {
		if len(m.Attachments) == 1 && utf16Len(m.Text) <= maxCaption {
			caption = m.Text
		} else {
			// Too long for a caption: the text first, then the files.
			if _, err := a.sendText(api, chat, replyTo, splitText(m.Text, maxText), nil); err != nil {
				return "", err
			}
			replyTo = 0
		}
	}
	var last string
	for i, at := range m.Attachments {
		var file tgbotapi.RequestFileData
		switch {
		case at.FileID != "":
			file = tgbotapi.FileID(at.FileID)
		case at.URL != "":
			file = tgbotapi.FileURL(at.URL)
		case len(at.Data) > 0:
			file = tgbotapi.FileBytes{Name: at.Name, Bytes: at.Data} // uploaded as multipart
		default:
			return "", &bot.PermanentError{Err: fmt.Errorf("telegram: %s attachment has neither file id, URL nor data", at.Kind)}
		}
		base := tgbotapi.BaseChat{ChatID: chat}
		if i == 0 && replyTo != 0 {
			base.ReplyToMessageID, base.AllowSendingWithoutReply = replyTo, true
		}
		if i == len(m.Attachments)-1 && kb != nil {
			base.ReplyMarkup = kb
		}
		var c tgbotapi.Chattable
		method := "sendDocument"
		if at.Kind == "photo" {
			p := tgbotapi.NewPhoto(chat, file)
			p.BaseChat, p.Caption, method = base, caption, "sendPhoto"
			c = p
		} else {
			d := tgbotapi.NewDocument(chat, file)
			d.BaseChat, d.Caption = base, caption
			c = d
		}
		sent, err := api.Send(c)
		if err != nil {
			return "", a.mapError(method, err)
		}
		last = strconv.Itoa(sent.MessageID)
	}
	return last, nil
}

// sendText sends parts as messages: ReplyTo on the first, the keyboard on
// the last, whose id it returns.
func (a *Adapter) sendText(api *tgbotapi.BotAPI, chat int64, replyTo int, parts []string,
	kb *tgbotapi.InlineKeyboardMarkup) (string, error) {
	var last string
	for i, p := range parts {
		msg := tgbotapi.NewMessage(chat, p)
		if i == 0 && replyTo != 0 {
			msg.ReplyToMessageID, msg.AllowSendingWithoutReply = replyTo, true
		}
		if i == len(parts)-1 && kb != nil {
			msg.ReplyMarkup = kb
		}
		sent, err := api.Send(msg)
		if err != nil {
			return "", a.mapError("sendMessage", err)
		}
		last = strconv.Itoa(sent.MessageID)
	}
	return last, nil
}

// keyboard builds the inline keyboard; callback_data over 64 bytes is a
// permanent error (Telegram would refuse the whole message).
func keyboard(rows [][]models.Button) (*tgbotapi.InlineKeyboardMarkup, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	kb := tgbotapi.InlineKeyboardMarkup{InlineKeyboard: [][]tgbotapi.InlineKeyboardButton{}}
	for _, row := range rows {
		var r []tgbotapi.InlineKeyboardButton
		for _, b := range row {
			if len(b.Data) > maxCallbackData || b.Data == "" {
				return nil, &bot.PermanentError{Err: fmt.Errorf("telegram: button %q: callback data must be 1-%d bytes, is %d",
					b.Label, maxCallbackData, len(b.Data))}
			}
			r = append(r, tgbotapi.NewInlineKeyboardButtonData(b.Label, b.Data))
		}
		if len(r) > 0 {
			kb.InlineKeyboard = append(kb.InlineKeyboard, r)
		}
	}
	if len(kb.InlineKeyboard) == 0 {
		return nil, nil
	}
	return &kb, nil
}

func isAPIError(err error, substr string) bool {
	te, ok := apiError(err)
	return ok && strings.Contains(strings.ToLower(te.Message), substr)
}

// utf16Len is the length Telegram measures: UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// splitText cuts s into parts of at most limit UTF-16 code units, the
// length Telegram measures.
func splitText(s string, limit int) []string { return bot.SplitText(s, limit, utf16.RuneLen) }
