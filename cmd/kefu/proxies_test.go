package main

import (
	"testing"

	"github.com/kefu-bot/kefu/bot/clientip"
	"github.com/kefu-bot/kefu/bot/config"
)

// TestTrustedProxiesAgree: config validation and clientip accept the same
// entries, so a list kefu starts with is the list it trusts.
func TestTrustedProxiesAgree(t *testing.T) {
	for _, in := range []string{"10.0.0.0/8", " 172.16.0.0/12 ", "192.0.2.7", "fd00::/8", "::1", "::ffff:10.0.0.0/104",
		"::ffff:0.0.0.0/95", "10.0.0.0/33", "10.0.0.1/8", "nginx", "", "fe80::1%eth0", "10.0.0.0/-1", "1.2.3.4:80"} {
		cfg := config.Default()
		cfg.HTTP.TrustedProxies = []string{in}
		_, perr := clientip.ParseTrusted(in)
		if verr := cfg.Validate(); (verr == nil) != (perr == nil) {
			t.Errorf("%q: config says %v, clientip says %v", in, verr, perr)
		}
	}
	cfg := config.Default()
	cfg.HTTP.TrustedProxies = []string{"10.0.0.0/8"}
	if !trustedProxies(cfg).Trusts() {
		t.Error("trustedProxies dropped a valid list")
	}
}
