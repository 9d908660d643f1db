// Package clientip finds the address of the client behind a request when
// kefu runs behind reverse proxies or load balancers (nginx, a cloud
// balancer) that append the address they saw to X-Forwarded-For.
//
// Only the proxies named in http.trusted_proxies are believed. The header
// is read from the right, where each trusted proxy appended the address of
// whoever connected to it, skipping trusted hops: the first untrusted
// address is the client. Entries further left were written by the client
// itself and may say anything, so they are never used. With no trusted
// proxies the connecting address is the client, whatever the headers say.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver knows which peers are trusted proxies. The zero Resolver
// trusts nobody: the connecting address is the client.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that trusts the proxies in list: CIDRs
// ("10.0.0.0/8", "fd00::/8") or single addresses ("192.0.2.7").
func New(list []string) (Resolver, error) {
	var r Resolver
	for _, s := range list {
		p, err := ParseTrusted(s)
		if err != nil {
			return Resolver{}, err
		}
		r.trusted = append(r.trusted, p)
	}
	return r, nil
}

// ParseTrusted parses one entry of a trusted proxy list: a CIDR or a
// single address (taken as a /32 or /128).
func ParseTrusted(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %q: want a CIDR such as 10.0.0.0/8 or an address", s)
		}
		if p.Addr().Is4In6() {
			// ::ffff:10.0.0.0/104 means 10.0.0.0/8; addresses are unmapped before matching.
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("trusted proxy %q: an IPv4-mapped prefix needs at least 96 bits", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %q: want a CIDR such as 10.0.0.0/8 or an address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Trusts reports whether the proxy list has any entry.
func (r Resolver) Trusts() bool { return len(r.trusted) > 0 }

func (r Resolver) trustedAddr(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Addr returns the client address of req, without a port: the connecting
// address unless that is a trusted proxy, then the rightmost untrusted
// address of X-Forwarded-For (all of its headers, in order). A header that
// does not parse, or is missing, gives the connecting address; if every
// hop is trusted, the leftmost is the client (a request from inside).
func (r Resolver) Addr(req *http.Request) string {
	peer, ok := parseHost(req.RemoteAddr)
	if !ok {
		return remoteHost(req.RemoteAddr)
	}
	if !r.trustedAddr(peer) {
		return peer.String()
	}
	hops := req.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, ok := parseHop(parts[j])
			if !ok {
				return peer.String()
			}
			if !r.trustedAddr(a) {
				return a.String()
			}
			client = a
		}
	}
	return client.String()
}

// parseHop parses one X-Forwarded-For entry: an address, optionally with
// a port ("192.0.2.1:4711", "[2001:db8::1]:4711"), as some proxies write.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// parseHost parses the host of a RemoteAddr ("192.0.2.1:4711").
func parseHost(remote string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(remoteHost(remote))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

func remoteHost(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}
