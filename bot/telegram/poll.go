package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// maxParallelChats bounds how many chats of one batch are handled at once.
const maxParallelChats = 16

// Poll long-polls getUpdates until ctx ends, handing each update to e.
//
// An update is acknowledged (the offset moves past it) only after
// e.Handle returned nil, i.e. after its turn committed: a crash loses
// nothing, and the engine drops the redelivered updates it already has
// (MessageID is "u"+update_id). Updates of one chat are handled in order,
// different chats of a batch concurrently; the offset becomes the highest
// contiguous committed update + 1. When an update fails the rest of its
// chat's batch waits, Poll backs off and asks again from that update.
// 409 Conflict (another instance polling the same bot) is logged once per
// streak and backed off from 5s doubling to a minute; network errors and
// 5xx back off from 1s to 30s. Poll returns nil when ctx ends.
func (a *Adapter) Poll(ctx context.Context, e Engine) error {
	var conflictWait, errWait time.Duration
	for ctx.Err() == nil {
		a.mu.Lock()
		offset := a.offset
		a.mu.Unlock()
		ups, err := a.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if te, ok := apiError(err); ok && te.Code == http.StatusConflict {
				if conflictWait == 0 {
					conflictWait = a.conflictMin
					a.log.Warn("telegram: another instance is polling this bot (409 Conflict: stop the other kefu or delete its webhook); backing off",
						"retry_in", conflictWait)
				} else {
					conflictWait = min(2*conflictWait, a.conflictMax)
				}
				sleep(ctx, conflictWait)
				continue
			}
			errWait = backoff(errWait, a.errorMin, a.errorMax)
			a.log.Warn("telegram: getUpdates failed", "err", a.mapError("getUpdates", err), "retry_in", errWait)
			sleep(ctx, errWait)
			continue
		}
		if conflictWait != 0 {
			a.log.Info("telegram: polling resumed")
			conflictWait = 0
		}
		next, failed := a.handleBatch(ctx, e, ups)
		a.mu.Lock()
		if next > a.offset {
			a.offset = next
		}
		a.mu.Unlock()
		if failed {
			errWait = backoff(errWait, a.errorMin, a.errorMax)
			sleep(ctx, errWait)
		} else {
			errWait = 0
		}
	}
	return nil
}

// getUpdates is tgbotapi's GetUpdates decoding forum topics too.
func (a *Adapter) getUpdates(ctx context.Context, offset int) ([]update, error) {
	p := tgbotapi.Params{}
	p.AddNonZero("offset", offset)
	p.AddNonZero("timeout", int(a.timeout/time.Second))
	if err := p.AddInterface("allowed_updates", allowedUpdates); err != nil {
		return nil, err
	}
	resp, err := a.call(ctx).MakeRequest("getUpdates", p)
	if err != nil {
		return nil, err
	}
	var ups []update
	if err := json.Unmarshal(resp.Result, &ups); err != nil {
		return nil, fmt.Errorf("decode updates: %w", err)
	}
	return ups, nil
}

// handleBatch handles ups (in update_id order) and returns the offset past
// the contiguous committed prefix (0 if none) and whether any failed.
func (a *Adapter) handleBatch(ctx context.Context, e Engine, ups []update) (next int, failed bool) {
	done := make([]bool, len(ups))
	byChat := map[string][]int{}
	var order []string
	for i := range ups {
		k := chatKey(&ups[i])
		if _, ok := byChat[k]; !ok {
			order = append(order, k)
		}
		byChat[k] = append(byChat[k], i)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelChats)
	for _, k := range order {
		idx := byChat[k]
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			for _, i := range idx {
				if ctx.Err() != nil || !a.handleOne(ctx, e, &ups[i]) {
					return // the chat's later updates wait for this one
				}
				done[i] = true
			}
		})
	}
	wg.Wait()
	for i := range ups {
		if !done[i] {
			return next, true
		}
		next = ups[i].UpdateID + 1
	}
	return next, false
}

// handleOne hands one update to the engine and reports whether it is
// committed (or ignored). A callback query is answered once its turn is.
func (a *Adapter) handleOne(ctx context.Context, e Engine, u *update) bool {
	if in, ok := a.inbound(ctx, u); ok {
		if _, err := e.Handle(ctx, in); err != nil {
			if ctx.Err() == nil {
				a.log.Error("telegram: handling update failed; it will be retried",
					"update", u.UpdateID, "chat", in.ChatID, "err", err)
			}
			return false
		}
	}
	if cq := u.CallbackQuery; cq != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := a.call(actx).Request(tgbotapi.NewCallback(cq.ID, "")); err != nil {
			// Too old or already answered (a redelivery): nothing to do.
			a.log.Debug("telegram: answerCallbackQuery failed", "update", u.UpdateID, "err", a.mapError("answerCallbackQuery", err))
		}
	}
	return true
}

// chatKey groups updates that must be handled in order.
func chatKey(u *update) string {
	switch {
	case u.Message != nil && u.Message.Chat != nil:
		return strconv.FormatInt(u.Message.Chat.ID, 10)
	case u.CallbackQuery != nil && u.CallbackQuery.Message != nil && u.CallbackQuery.Message.Chat != nil:
		return strconv.FormatInt(u.CallbackQuery.Message.Chat.ID, 10)
	}
	return "u" + strconv.Itoa(u.UpdateID)
}

func backoff(cur, lo, hi time.Duration) time.Duration {
	if cur == 0 {
		return lo
	}
	return min(2*cur, hi)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
