package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/kefu-bot/kefu/handlers/orderfile"
	"github.com/kefu-bot/kefu/models"
)

// maxOrderBody bounds an orders request (about 10,000 orders).
const maxOrderBody = 8 << 20

// NewOrdersHandler serves POST /api/orders: a JSON array of orders, or
// {"orders": [...]}, with the fields of the CSV import (order_id,
// customer_ref, name, phone, email, status, total, currency, placed_at,
// carrier, tracking_no, items). Known orders are updated in place and each
// status change is recorded and notified once, as with `kefu import orders`.
//
// Bad orders are skipped and listed in "errors" (with the line of the
// body they start on); with ?strict=true any bad order rejects the whole
// request (422). No good order at all is 400. The answer:
// {"created","updated","unchanged","changes","skipped","errors"}.
func NewOrdersHandler(db *models.DB, loc *time.Location, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &orders{db: db, loc: loc, log: log}
}

type orders struct {
	db  *models.DB
	loc *time.Location
	log *slog.Logger
}

// ImportResult is the answer to an orders request.
type ImportResult struct {
	Created   int                  `json:"created"`
	Updated   int                  `json:"updated"`
	Unchanged int                  `json:"unchanged"`
	Changes   int                  `json:"changes"` // status changes recorded
	Skipped   int                  `json:"skipped"`
	Errors    []orderfile.RowError `json:"errors"`
}

func (h *orders) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	res, code, msg := importOrders(r.Context(), h.db, body, h.loc, "api", r.URL.Query().Get("strict") == "true", nil)
	if msg != "" {
		if code >= 500 {
			h.log.Error("orders api", "err", msg)
			msg = "internal error"
		}
		writeJSON(w, code, map[string]any{"errors": []string{msg}, "rows": res.Errors})
		return
	}
	if err := h.db.Write(r.Context(), func(s *models.Store) error {
		return s.Audit(r.Context(), "admin-api", "orders.import", "api", fmt.Sprintf("%d created, %d updated, %d skipped", res.Created, res.Updated, res.Skipped))
	}); err != nil {
		h.log.Error("orders api: audit", "err", err)
	}
	writeJSON(w, code, res)
}

// importOrders parses a JSON body and upserts its good orders in one
// transaction; before runs first in that transaction (the webhook records
// the delivery there, so a failed import does not use up its signature).
// A non-empty msg is the error to answer with code.
func importOrders(ctx context.Context, db *models.DB, body []byte, loc *time.Location, source string, strict bool,
	before func(*models.Store) error) (res ImportResult, code int, msg string) {
	res.Errors = []orderfile.RowError{}
	rows, bad, err := orderfile.Parse(bytes.NewReader(body), orderfile.JSON, loc)
	if err != nil {
		return res, http.StatusBadRequest, err.Error()
	}
	if bad != nil {
		res.Errors = bad
	}
	res.Skipped = len(bad)
	switch {
	case strict && len(bad) > 0:
		return res, http.StatusUnprocessableEntity, fmt.Sprintf("%d bad order(s); strict: nothing imported", len(bad))
	case len(rows) == 0:
		return res, http.StatusBadRequest, "no valid order in the body; nothing imported"
	}
	in := make([]models.OrderInput, len(rows))
	for i, r := range rows {
		in[i] = r.Order
	}
	errBefore := errors.New("before")
	var beforeErr error
	var out []models.UpsertResult
	err = db.Write(ctx, func(s *models.Store) (err error) {
		if before != nil {
			if beforeErr = before(s); beforeErr != nil {
				return errBefore
			}
		}
		out, err = s.UpsertOrders(ctx, in, source)
		return err
	})
	if errors.Is(err, errBefore) {
		return res, 0, beforeErr.Error()
	}
	if err != nil {
		return res, http.StatusInternalServerError, err.Error()
	}
	for _, r := range out {
		switch r.Outcome {
		case models.OrderCreated:
			res.Created++
		case models.OrderUpdated:
			res.Updated++
		default:
			res.Unchanged++
		}
		if r.Event != nil && r.Event.From != "" {
			res.Changes++
		}
	}
	return res, http.StatusOK, ""
}
