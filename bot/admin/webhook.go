package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/bot/clientip"
	"github.com/kefu-bot/kefu/models"
)

// Webhook signing. The shop platform sends the same body as POST
// /api/orders to POST /webhooks/orders with two headers:
//
//	X-Kefu-Timestamp: 1762999200                      (Unix seconds, when it was signed)
//	X-Kefu-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// kefu recomputes the HMAC over the raw body and compares in constant
// time (bad → 401), refuses timestamps further than the tolerance from
// its clock (401: an old capture cannot be replayed later), and remembers
// every accepted signature for twice the tolerance, so the same delivery
// sent again inside the window is refused (409) instead of imported twice.
// The signature is recorded in the transaction that imports the orders:
// a delivery that failed to import may be retried as it is.
const (
	HeaderTimestamp = "X-Kefu-Timestamp"
	HeaderSignature = "X-Kefu-Signature"
)

// Sign returns the X-Kefu-Signature value of body signed at ts, for shop
// platforms written in Go and for tests.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// WebhookOptions configure the orders webhook.
type WebhookOptions struct {
	Secret    []byte
	Tolerance time.Duration // default 5 minutes
	Location  *time.Location
	Now       func() time.Time
	Log       *slog.Logger
	// Proxies finds the sender's address behind trusted proxies for the
	// log of refused deliveries; the zero value trusts none.
	Proxies clientip.Resolver
}

// NewOrderWebhook serves the shop platform's signed order updates. It
// answers like POST /api/orders once the signature checks out.
func NewOrderWebhook(db *models.DB, opt WebhookOptions) http.Handler {
	if opt.Tolerance <= 0 {
		opt.Tolerance = 5 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &webhook{db: db, opt: opt}
}

type webhook struct {
	db  *models.DB
	opt WebhookOptions
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeErrors(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOrderBody))
	if err != nil {
		writeErrors(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxOrderBody))
		return
	}
	now := h.opt.Now()
	ts, err := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		h.refuse(w, r, http.StatusUnauthorized, "missing or invalid "+HeaderTimestamp)
		return
	}
	if d := now.Sub(time.Unix(ts, 0)); d > h.opt.Tolerance || d < -h.opt.Tolerance {
		h.refuse(w, r, http.StatusUnauthorized, "timestamp outside the allowed window")
		return
	}
	got := r.Header.Get(HeaderSignature)
	want := Sign(h.opt.Secret, ts, body)
	if !hmac.Equal([]byte(strings.ToLower(got)), []byte(want)) {
		h.refuse(w, r, http.StatusUnauthorized, "bad signature")
		return
	}
	replay := errors.New("replayed delivery")
	res, code, msg := importOrders(r.Context(), h.db, body, h.opt.Location, "webhook", false, func(s *models.Store) error {
		err := s.AcceptWebhook(r.Context(), want, now.Add(-2*h.opt.Tolerance))
		if errors.Is(err, models.ErrConflict) {
			return replay
		}
		return err
	})
	switch {
	case msg == replay.Error():
		h.refuse(w, r, http.StatusConflict, "this delivery was already accepted")
		return
	case code == 0:
		code = http.StatusInternalServerError
		fallthrough
	case code >= 500:
		h.opt.Log.Error("orders webhook", "err", msg)
		writeErrors(w, code, "internal error")
		return
	case msg != "":
		writeJSON(w, code, map[string]any{"errors": []string{msg}, "rows": res.Errors})
		return
	}
	h.opt.Log.Info("orders webhook", "created", res.Created, "updated", res.Updated, "changes", res.Changes, "skipped", res.Skipped)
	writeJSON(w, http.StatusOK, res)
}

// refuse answers a request that failed authentication or was replayed and
// logs it without the body or signature.
func (h *webhook) refuse(w http.ResponseWriter, r *http.Request, code int, why string) {
	h.opt.Log.Warn("orders webhook refused", "reason", why, "ip", h.opt.Proxies.Addr(r))
	writeErrors(w, code, why)
}
