package clientip

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAddr(t *testing.T) {
	nginx := []string{"10.0.0.0/8", "fd00::/8"}
	for _, tc := range []struct {
		name    string
		trusted []string
		remote  string
		xff     []string // one X-Forwarded-For header each
		want    string
	}{
		{"no proxies trusted: the peer, header ignored", nil, "203.0.113.9:5555", []string{"198.51.100.1"}, "203.0.113.9"},
		{"untrusted peer spoofing the header", nginx, "203.0.113.9:5555", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted peer, one hop", nginx, "10.1.2.3:5555", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed leftmost entry is skipped", nginx, "10.1.2.3:5555", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"spoofed trusted-looking leftmost entry", nginx, "10.1.2.3:5555", []string{"10.9.9.9, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted hops", nginx, "10.1.2.3:5555", []string{"1.1.1.1, 198.51.100.1, 10.0.0.7,10.0.0.8"}, "198.51.100.1"},
		{"several headers read as one list", nginx, "10.1.2.3:5555", []string{"1.1.1.1, 198.51.100.1", "10.0.0.7"}, "198.51.100.1"},
		{"trusted peer without header", nginx, "10.1.2.3:5555", nil, "10.1.2.3"},
		{"every hop trusted: the leftmost", nginx, "10.1.2.3:5555", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"malformed rightmost entry: the peer", nginx, "10.1.2.3:5555", []string{"198.51.100.1, nonsense"}, "10.1.2.3"},
		{"empty entry: the peer", nginx, "10.1.2.3:5555", []string{"198.51.100.1,,10.0.0.7"}, "10.1.2.3"},
		{"empty header: the peer", nginx, "10.1.2.3:5555", []string{""}, "10.1.2.3"},
		{"garbage left of the client is never read", nginx, "10.1.2.3:5555", []string{"<script>, 198.51.100.1"}, "198.51.100.1"},
		{"entry with a port", nginx, "10.1.2.3:5555", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"IPv6 client", nginx, "[fd00::1]:5555", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv6 client with port", nginx, "10.1.2.3:5555", []string{"[2001:db8::7]:80"}, "2001:db8::7"},
		{"IPv4-mapped peer matches an IPv4 CIDR", nginx, "[::ffff:10.1.2.3]:5555", []string{"198.51.100.1"}, "198.51.100.1"},
		{"single trusted address", []string{"192.0.2.7"}, "192.0.2.7:1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"single address trusts no neighbour", []string{"192.0.2.7"}, "192.0.2.8:1", []string{"198.51.100.1"}, "192.0.2.8"},
		{"peer without port", nginx, "203.0.113.9", nil, "203.0.113.9"},
		{"peer that is no address", nginx, "pipe", []string{"198.51.100.1"}, "pipe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tc.remote
			for _, h := range tc.xff {
				req.Header.Add("X-Forwarded-For", h)
			}
			if got := r.Addr(req); got != tc.want {
				t.Errorf("Addr = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseTrusted(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"10.0.0.0/8", "10.0.0.0/8", ""},
		{" 10.1.2.3/8 ", "10.0.0.0/8", ""},
		{"192.0.2.7", "192.0.2.7/32", ""},
		{"fd00::/8", "fd00::/8", ""},
		{"2001:db8::1", "2001:db8::1/128", ""},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", ""},
		{"10.0.0.0/33", "", "want a CIDR"},
		{"nginx", "", "want a CIDR"},
		{"", "", "want a CIDR"},
		{"fe80::1%eth0", "", "want a CIDR"},
	} {
		p, err := ParseTrusted(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseTrusted(%q) error = %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("ParseTrusted(%q): %v", tc.in, err)
		case tc.err == "" && p.String() != tc.want:
			t.Errorf("ParseTrusted(%q) = %s, want %s", tc.in, p, tc.want)
		}
	}
	if _, err := New([]string{"10.0.0.0/8", "bad"}); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("New with a bad entry: %v, want an error naming it", err)
	}
}
