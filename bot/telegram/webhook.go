package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// maxWebhookBody caps one webhook request's body. Telegram's updates are
// a few kilobytes; the cap keeps an authenticated but broken sender from
// making kefu buffer without bound.
const maxWebhookBody = 1 << 20

// secretHeader carries the secret_token given to setWebhook on every
// request Telegram makes to the webhook.
const secretHeader = "X-Telegram-Bot-Api-Secret-Token"

// allowedUpdates are the update kinds kefu asks for, in both modes.
var allowedUpdates = []string{"message", "callback_query"}

// SetWebhook tells Telegram to POST updates to webhookURL (an absolute
// https URL), each with secret in the X-Telegram-Bot-Api-Secret-Token
// header, and only messages and callback queries. Pending updates are
// kept. While a webhook is set, getUpdates fails with 409 Conflict: use
// DeleteWebhook to go back to Poll. Neither the token nor the secret
// appears in an error.
func (a *Adapter) SetWebhook(ctx context.Context, webhookURL, secret string) error {
	u, err := url.Parse(webhookURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("telegram setWebhook: the webhook URL must be an absolute https URL, got %q", webhookURL)
	}
	if err := checkSecret(secret); err != nil {
		return err
	}
	params := tgbotapi.Params{"url": u.String(), "secret_token": secret}
	if err := params.AddInterface("allowed_updates", allowedUpdates); err != nil {
		return fmt.Errorf("telegram setWebhook: %w", err)
	}
	if _, err := a.call(ctx).MakeRequest("setWebhook", params); err != nil {
		return a.mapError("setWebhook", err)
	}
	a.log.Info("telegram webhook set", "host", u.Host, "path", u.Path)
	return nil
}

// DeleteWebhook removes the webhook (keeping pending updates), so that
// Poll can be used again.
func (a *Adapter) DeleteWebhook(ctx context.Context) error {
	if _, err := a.call(ctx).Request(tgbotapi.DeleteWebhookConfig{}); err != nil {
		return a.mapError("deleteWebhook", err)
	}
	a.log.Info("telegram webhook deleted")
	return nil
}

// checkSecret applies Telegram's rule for secret_token: 1-256 characters
// of A-Z, a-z, 0-9, _ and -. The value is never put in the error.
func checkSecret(s string) error {
	bad := strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	})
	if s == "" || len(s) > 256 || bad >= 0 {
		return errors.New("telegram setWebhook: the webhook secret must be 1-256 characters of A-Z, a-z, 0-9, _ and - (value not shown)")
	}
	return nil
}

// WebhookHandler serves the POSTs Telegram makes to the URL given to
// SetWebhook, with the same secret.
//
// A request whose X-Telegram-Bot-Api-Secret-Token header is not secret
// (compared in constant time) gets 401 and is logged once, without the
// header's value; an empty secret rejects every request. Other methods
// than POST get 405, bodies over 1 MiB 413 and malformed JSON 400. An
// update is then mapped and handled exactly as Poll does (same ignoring
// rules, same bot.Inbound, callback queries answered after their turn)
// and the answer is 200 only once e.Handle returned nil, i.e. the turn
// committed (or the update is ignored or a duplicate). A failed turn gets
// 500, so Telegram delivers the update again later and the engine drops
// it if it did commit after all.
func (a *Adapter) WebhookHandler(e Engine, secret string) http.Handler {
	want := []byte(secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get(secretHeader)
		if len(want) == 0 || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			a.log.Warn("telegram webhook: request without the right secret token rejected",
				"ip", a.proxies.Addr(r), "header_present", got != "")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.ContentLength > maxWebhookBody {
			a.log.Warn("telegram webhook: body too large", "bytes", r.ContentLength)
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if err != nil {
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
				a.log.Warn("telegram webhook: body too large", "limit", mbe.Limit)
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read request body", http.StatusBadRequest)
			return
		}
		var u update
		if err := json.Unmarshal(body, &u); err != nil {
			a.log.Warn("telegram webhook: malformed update", "err", err)
			http.Error(w, "malformed update", http.StatusBadRequest)
			return
		}
		if !a.handleOne(r.Context(), e, &u) {
			// Logged by handleOne; Telegram will deliver it again.
			http.Error(w, "update not handled, retry", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}
