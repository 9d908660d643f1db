package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kefu-bot/kefu/models"
)

const (
	visitorCookie = "kefu_visitor"
	staffCookie   = "kefu_staff"
	// visitorTTL keeps an anonymous visitor's conversation for a year on
	// the same browser.
	visitorTTL = 365 * 24 * time.Hour
	// staffTTL: a staff session ends after a working day idle.
	staffTTL = 12 * time.Hour
	// bcryptCost is bcrypt's default: ~50–100 ms a check, slow for guessing.
	bcryptCost  = bcrypt.DefaultCost
	minPassword = 8
)

// HashPassword returns the bcrypt hash of a staff password; passwords
// shorter than 8 bytes or longer than bcrypt's 72 are refused.
func HashPassword(pw string) ([]byte, error) {
	if len(pw) < minPassword {
		return nil, fmt.Errorf("password too short: use at least %d characters", minPassword)
	}
	if len(pw) > 72 {
		return nil, errors.New("password too long: bcrypt uses at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// CheckPassword reports whether pw matches the bcrypt hash.
func CheckPassword(hash []byte, pw string) bool {
	return bcrypt.CompareHashAndPassword(hash, []byte(pw)) == nil
}

// signer signs cookie values with HMAC-SHA256, so a visitor cannot pick
// another visitor's id.
type signer struct{ key []byte }

func (s signer) sign(v string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(v))
	return v + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s signer) verify(signed string) (string, bool) {
	i := strings.LastIndexByte(signed, '.')
	if i <= 0 {
		return "", false
	}
	v := signed[:i]
	if subtle.ConstantTimeCompare([]byte(s.sign(v)), []byte(signed)) != 1 {
		return "", false
	}
	return v, true
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+).
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// staffSession is a signed-in staff member. Sessions are rows in the
// database (models.StaffSession), so every replica behind a load
// balancer knows them and a restart keeps them; logout deletes the row.
type staffSession struct {
	id      uint64
	Name    string
	CSRF    string
	Expires time.Time
	slid    bool // Expires just moved: the cookie is renewed to match
}

// staffTouch is how often, at most, a session's sliding expiry is
// written: not on every request of an active inbox.
const staffTouch = 5 * time.Minute

// sessions keeps staff sessions in the database. The cookie holds a
// random token; the table holds only its SHA-256.
type sessions struct{ db *models.DB }

func (s sessions) create(ctx context.Context, name string, now time.Time) (string, *staffSession, error) {
	tok, csrf := randomToken(32), randomToken(24)
	var row *models.StaffSession
	err := s.db.Write(ctx, func(st *models.Store) error {
		var err error
		row, err = st.CreateStaffSession(ctx, tok, name, csrf, now.Add(staffTTL))
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return tok, &staffSession{id: row.ID, Name: name, CSRF: csrf, Expires: row.ExpiresAt}, nil
}

// get returns the session of tok, or nil if there is none (unknown,
// expired or signed out). Its expiry slides forward as staff use it.
func (s sessions) get(ctx context.Context, tok string, now time.Time) (*staffSession, error) {
	if tok == "" || len(tok) > 64 {
		return nil, nil // not a token kefu made
	}
	row, err := s.db.Read().StaffSessionByToken(ctx, tok, now)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ss := &staffSession{id: row.ID, Name: row.StaffName, CSRF: row.CSRF, Expires: row.ExpiresAt}
	if ss.Expires.Sub(now) < staffTTL-staffTouch {
		ss.Expires, ss.slid = now.Add(staffTTL), true
		if err := s.db.Write(ctx, func(st *models.Store) error { return st.ExtendStaffSession(ctx, ss.id, ss.Expires) }); err != nil {
			return nil, err
		}
	}
	return ss, nil
}

func (s sessions) end(ctx context.Context, tok string) error {
	return s.db.Write(ctx, func(st *models.Store) error { return st.DeleteStaffSession(ctx, tok) })
}

// loginLimit slows password guessing: each client address and each
// account name gets 5 failed attempts, then one more a minute.
var loginLimit = models.SignInLimit{Burst: 5, Every: time.Minute}

// loginThrottle keeps the failed sign-ins in the database
// (models.SignInThrottle), so every replica behind the load balancer
// counts the same failures and a restart forgets none. An attempt is
// reserved before the password is checked, so guesses sent in parallel
// to several replicas cannot overrun the limit either; a success gives
// its attempt back.
type loginThrottle struct{ db *models.DB }

// reserve spends an attempt of every key at now, or reports false,
// spending nothing, when one of them has none left.
func (l loginThrottle) reserve(ctx context.Context, now time.Time, keys []string) (bool, error) {
	var ok bool
	err := l.db.Write(ctx, func(st *models.Store) (err error) {
		ok, err = st.ReserveSignIn(ctx, keys, now, loginLimit)
		return err
	})
	return ok, err
}

// succeeded gives back the attempts of a sign-in that succeeded.
func (l loginThrottle) succeeded(ctx context.Context, keys []string) error {
	return l.db.Write(ctx, func(st *models.Store) error { return st.ReleaseSignIn(ctx, keys, loginLimit) })
}

// failed sweeps the rows with nothing left to count, so a spray of
// addresses does not grow the table; the attempt is already spent.
func (l loginThrottle) failed(ctx context.Context, now time.Time) error {
	return l.db.Write(ctx, func(st *models.Store) error {
		_, err := st.SweepSignIns(ctx, now)
		return err
	})
}

// loginKeys are the throttle keys of a sign-in: the client's address and,
// if it could be an account's, the name (case-insensitive, as accounts
// are). A name that cannot be an account's fails without a lookup; the
// address alone counts it.
func loginKeys(ip, name string) []string {
	if len(ip) > 64 {
		ip = ip[:64] // not an IP address (a socket path?): still one key
	}
	keys := []string{"ip:" + ip}
	if validStaffName(name) {
		keys = append(keys, "name:"+strings.ToLower(name))
	}
	return keys
}
