package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/kefu-bot/kefu/bot/web"
	"github.com/kefu-bot/kefu/models"
)

const (
	// cookieSecretKey keeps the generated cookie secret, so visitors keep
	// their chats and staff their sessions' signatures across restarts.
	cookieSecretKey = "web.cookie_secret"
	// demoStaffSeededKey marks that the demo staff account was made once;
	// renaming or re-passwording it is then the owner's business.
	demoStaffSeededKey = "demo_staff_seeded"
	// demoPassword is the demo staff account's password, printed at start
	// for as long as the account still has it.
	demoPassword = "kefu-demo"
)

// newWebSite builds the web chat and inbox on the app's engine and
// database. The caller adds its Channel to the dispatcher and mounts it.
func newWebSite(ctx context.Context, a *app, log *slog.Logger) (*web.Site, error) {
	secret, err := cookieSecret(ctx, a)
	if err != nil {
		return nil, err
	}
	dash := newDashboard(a.db, a.deps, time.Now)
	return web.NewSite(web.SiteOptions{Engine: a.engine, DB: a.db, CookieSecret: secret, PublicURL: a.cfg.Web.PublicURL,
		ShopName: a.cfg.Shop.Name, DefaultLang: a.cfg.Shop.DefaultLanguage, Location: a.cfg.Location(),
		Log: log.With("channel", models.ChannelWeb), Dashboard: dash.view, DashboardChart: dash.chart,
		Proxies: trustedProxies(a.cfg)})
}

// cookieSecret is web.cookie_secret, else the one kept in the database,
// made on first use.
func cookieSecret(ctx context.Context, a *app) ([]byte, error) {
	if s := a.cfg.Web.CookieSecret.Reveal(); s != "" {
		return []byte(s), nil
	}
	var secret string
	err := a.db.Write(ctx, func(s *models.Store) error {
		v, err := s.Setting(ctx, cookieSecretKey)
		if err == nil {
			secret = v
			return nil
		}
		if !errors.Is(err, models.ErrNotFound) {
			return err
		}
		b := make([]byte, 32)
		rand.Read(b)
		secret = hex.EncodeToString(b)
		return s.SetSetting(ctx, cookieSecretKey, secret)
	})
	if err != nil {
		return nil, fmt.Errorf("web cookie secret: %w", err)
	}
	return []byte(secret), nil
}

// seedDemoStaff makes the demo staff account once, alongside the demo shop.
// The hash it made is kept, so later starts can tell the account still has
// the demo password without paying for a bcrypt check.
func seedDemoStaff(ctx context.Context, db *models.DB, name string) error {
	if _, err := db.Read().Setting(ctx, demoStaffSeededKey); err == nil {
		return nil
	}
	hash, err := web.HashPassword(demoPassword)
	if err != nil {
		return err
	}
	return db.Write(ctx, func(s *models.Store) error {
		if _, err := s.Setting(ctx, demoStaffSeededKey); err == nil {
			return nil
		} else if !errors.Is(err, models.ErrNotFound) {
			return err
		}
		if _, err := s.CreateStaff(ctx, name, hash); err != nil {
			if errors.Is(err, models.ErrConflict) {
				return s.SetSetting(ctx, demoStaffSeededKey, "") // the owner made it: not ours to print
			}
			return err
		}
		return s.SetSetting(ctx, demoStaffSeededKey, string(hash))
	})
}

// demoLogin is "NAME / PASSWORD" while the demo account still has the demo
// password (its hash is the one seeded), else "".
func demoLogin(ctx context.Context, db *models.DB, name string) string {
	seeded, err := db.Read().Setting(ctx, demoStaffSeededKey)
	if err != nil || seeded == "" {
		return ""
	}
	a, err := db.Read().StaffByName(ctx, name)
	if err != nil || subtle.ConstantTimeCompare(a.PasswordHash, []byte(seeded)) != 1 {
		return ""
	}
	return name + " / " + demoPassword
}

// baseURL is where people open kefu: web.public_url, else the listening
// address (a wildcard host shown as 127.0.0.1).
func baseURL(public string, addr net.Addr) string {
	if public != "" {
		return strings.TrimRight(public, "/")
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
