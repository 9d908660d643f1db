package main

import (
	"github.com/kefu-bot/kefu/bot/clientip"
	"github.com/kefu-bot/kefu/bot/config"
)

// trustedProxies is http.trusted_proxies for the HTTP adapters: the web
// sign-in throttle and the logs of the web inbox and the webhooks.
// config.Load has refused every entry clientip would refuse
// (TestTrustedProxiesAgree); if one slipped through anyway, kefu trusts
// no proxy rather than some, the safe side.
func trustedProxies(cfg config.Config) clientip.Resolver {
	r, err := clientip.New(cfg.HTTP.TrustedProxies)
	if err != nil {
		return clientip.Resolver{}
	}
	return r
}
