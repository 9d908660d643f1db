package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kefu-bot/kefu/models"
)

// NewRewardsHandler serves the rewards catalogue, mounted with its prefix
// stripped (it sees "" or "/{id}"):
//
//	GET    /        every reward (?active=true: active ones only)
//	GET    /{id}    one reward
//	POST   /        create: {"code","name_en","name_zh","cost","kind","stock","active"}
//	PUT    /{id}    replace every field
//	PATCH  /{id}    change the fields given
//	DELETE /{id}    deactivate (rewards are never deleted: redemptions name them)
//
// Bodies and answers are JSON. Invalid input is 400 with {"errors": [...]},
// an unknown id 404, a duplicate code 409. Every change is audited as
// actor "admin-api".
func NewRewardsHandler(db *models.DB, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &rewards{db: db, log: log}
}

type rewards struct {
	db  *models.DB
	log *slog.Logger
}

// rewardInput is a create, replace or patch body; nil fields are absent.
type rewardInput struct {
	Code   *string `json:"code"`
	NameEN *string `json:"name_en"`
	NameZH *string `json:"name_zh"`
	Cost   *int64  `json:"cost"`
	Kind   *string `json:"kind"`
	Stock  *int64  `json:"stock"`
	Active *bool   `json:"active"`
}

var rewardCode = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{1,31}$`)

func (h *rewards) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.Trim(r.URL.Path, "/")
	if rest == "" {
		switch r.Method {
		case http.MethodGet:
			h.list(w, r)
		case http.MethodPost:
			h.create(w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			writeErrors(w, http.StatusMethodNotAllowed, "method not allowed")
		}
		return
	}
	id, err := strconv.ParseUint(rest, 10, 64)
	if err != nil || id == 0 {
		writeErrors(w, http.StatusNotFound, "no such reward")
		return
	}
	switch r.Method {
	case http.MethodGet:
		rw, err := h.db.Read().Reward(r.Context(), id)
		if err != nil {
			h.fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, rw)
	case http.MethodPut, http.MethodPatch:
		h.update(w, r, id, r.Method == http.MethodPatch)
	case http.MethodDelete:
		h.change(w, r, id, func(rw *models.Reward) { rw.Active = false }, "reward.deactivate")
	default:
		w.Header().Set("Allow", "GET, PUT, PATCH, DELETE")
		writeErrors(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (h *rewards) list(w http.ResponseWriter, r *http.Request) {
	all := r.URL.Query().Get("active") != "true"
	rs, err := h.db.Read().Rewards(r.Context(), all)
	if err != nil {
		h.fail(w, err)
		return
	}
	if rs == nil {
		rs = []models.Reward{}
	}
	writeJSON(w, http.StatusOK, rs)
}

func (h *rewards) create(w http.ResponseWriter, r *http.Request) {
	in, ok := decode(w, r)
	if !ok {
		return
	}
	rw := models.Reward{Stock: -1, Active: true}
	if msgs := apply(&rw, in, false); len(msgs) > 0 {
		writeErrors(w, http.StatusBadRequest, msgs...)
		return
	}
	err := h.db.Write(r.Context(), func(s *models.Store) error {
		if err := s.CreateReward(r.Context(), &rw); err != nil {
			return err
		}
		return s.Audit(r.Context(), "admin-api", "reward.create", rw.Code, fmt.Sprintf("cost %d", rw.Cost))
	})
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, rw)
}

func (h *rewards) update(w http.ResponseWriter, r *http.Request, id uint64, patch bool) {
	in, ok := decode(w, r)
	if !ok {
		return
	}
	var msgs []string
	h.change(w, r, id, func(rw *models.Reward) { msgs = apply(rw, in, patch) }, "reward.update", &msgs)
}

// change loads a reward, lets edit change it, and saves it, in one
// transaction. Validation messages from edit (via msgs) make it a 400.
func (h *rewards) change(w http.ResponseWriter, r *http.Request, id uint64, edit func(*models.Reward), action string, msgs ...*[]string) {
	errInvalid := errors.New("invalid")
	var rw *models.Reward
	err := h.db.Write(r.Context(), func(s *models.Store) error {
		var err error
		if rw, err = s.Reward(r.Context(), id); err != nil {
			return err
		}
		edit(rw)
		if len(msgs) > 0 && len(*msgs[0]) > 0 {
			return errInvalid
		}
		if err := s.SaveReward(r.Context(), rw); err != nil {
			return err
		}
		return s.Audit(r.Context(), "admin-api", action, rw.Code, fmt.Sprintf("cost %d, stock %d, active %t", rw.Cost, rw.Stock, rw.Active))
	})
	if errors.Is(err, errInvalid) {
		writeErrors(w, http.StatusBadRequest, *msgs[0]...)
		return
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rw)
}

// apply copies the given fields onto rw and validates the result; unless
// patch, every field but stock and active is required.
func apply(rw *models.Reward, in rewardInput, patch bool) []string {
	var msgs []string
	if !patch {
		for name, missing := range map[string]bool{"code": in.Code == nil, "name_en": in.NameEN == nil,
			"name_zh": in.NameZH == nil, "cost": in.Cost == nil, "kind": in.Kind == nil} {
			if missing {
				msgs = append(msgs, name+" is required")
			}
		}
	}
	if in.Code != nil {
		rw.Code = strings.TrimSpace(*in.Code)
	}
	if in.NameEN != nil {
		rw.NameEN = strings.TrimSpace(*in.NameEN)
	}
	if in.NameZH != nil {
		rw.NameZH = strings.TrimSpace(*in.NameZH)
	}
	if in.Cost != nil {
		rw.Cost = *in.Cost
	}
	if in.Kind != nil {
		rw.Kind = *in.Kind
	}
	if in.Stock != nil {
		rw.Stock = *in.Stock
	}
	if in.Active != nil {
		rw.Active = *in.Active
	}
	if len(msgs) > 0 {
		slices.Sort(msgs) // map order is random; answers should not be
		return msgs
	}
	if !rewardCode.MatchString(rw.Code) {
		msgs = append(msgs, "code must be 2–32 upper-case letters, digits, - or _")
	}
	for name, v := range map[string]string{"name_en": rw.NameEN, "name_zh": rw.NameZH} {
		if v == "" || utf8.RuneCountInString(v) > 128 {
			msgs = append(msgs, name+" must be 1–128 characters")
		}
	}
	if rw.Cost <= 0 {
		msgs = append(msgs, "cost must be > 0")
	}
	switch rw.Kind {
	case models.RewardCoupon, models.RewardGoods, models.RewardService:
	default:
		msgs = append(msgs, "kind must be coupon, goods or service")
	}
	if rw.Stock < -1 {
		msgs = append(msgs, "stock must be >= 0, or -1 for unlimited")
	}
	slices.Sort(msgs) // map order is random; answers should not be
	return msgs
}

func decode(w http.ResponseWriter, r *http.Request) (rewardInput, bool) {
	var in rewardInput
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeErrors(w, http.StatusBadRequest, "body is not a valid reward: "+err.Error())
		return in, false
	}
	return in, true
}

func (h *rewards) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, models.ErrNotFound):
		writeErrors(w, http.StatusNotFound, "no such reward")
	case errors.Is(err, models.ErrConflict):
		writeErrors(w, http.StatusConflict, "a reward with this code exists")
	case errors.Is(err, context.Canceled):
	default:
		h.log.Error("rewards api", "err", err)
		writeErrors(w, http.StatusInternalServerError, "internal error")
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErrors(w http.ResponseWriter, code int, msgs ...string) {
	writeJSON(w, code, map[string][]string{"errors": msgs})
}
