package discord

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// discordgo builds every REST URL from package constants at init
// (https://discord.com/api/v9/…), so the only place to point it at another
// base (a proxy, a local fake Discord) is the HTTP client. rebase rewrites
// requests for discord.com to the configured base, keeping the path; any
// other host (attachment CDN downloads) passes through untouched.
type rebase struct {
	base *url.URL
	next http.RoundTripper
}

// discordHost is the host of discordgo's EndpointDiscord.
const discordHost = "discord.com"

func newRebase(base string, next http.RoundTripper) (http.RoundTripper, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discord: api base %q is not an absolute http(s) URL", base)
	}
	if next == nil {
		next = http.DefaultTransport
	}
	if u.Host == discordHost && u.Scheme == "https" && u.Path == "" {
		return next, nil // the real Discord: nothing to rewrite
	}
	return &rebase{base: u, next: next}, nil
}

func (t *rebase) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != discordHost {
		return t.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = t.base.Scheme, t.base.Host
	r.URL.Path = t.base.Path + r.URL.Path
	if r.URL.RawPath != "" {
		r.URL.RawPath = t.base.EscapedPath() + r.URL.RawPath
	}
	r.Host = ""
	return t.next.RoundTrip(r)
}
