package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	"relayguard/config"
	"relayguard/internal/access"
	"relayguard/rules"
	"relayguard/scoring"
	"relayguard/scoring/auth"
	"relayguard/scoring/dns"
	"relayguard/scoring/dnsbl"
	"relayguard/scoring/rdns"
	"relayguard/scoring/received"
)

// parts is what a configuration builds: the checks, and what runs beside
// them (the blocklist monitor, the rule set for `rules` commands).
type parts struct {
	checks  []scoring.Check
	monitor *dnsbl.Monitor // nil without lists or without network
	rules   *rules.Ruleset
}

// buildParts builds every check the configuration asks for. network is
// false for `check --local`: only what reads the message itself.
func buildParts(c *config.Config, log *slog.Logger, network bool) (*parts, error) {
	rs, err := rules.Load(c.Rules.Files, rules.Options{MaxScanBytes: c.Rules.MaxScanBytes, KnownSymbols: senderSymbols()})
	if err != nil {
		return nil, err
	}
	p := &parts{rules: rs, checks: []scoring.Check{scoring.GTUBE{}}}
	p.checks = append(p.checks, scoring.ContentChecks(rs)...)
	if !network {
		return p, nil
	}
	res, err := newResolver(c)
	if err != nil {
		return nil, err
	}
	lists := listConfig(c, res, log)
	if len(lists.DNSBL)+len(lists.DNSWL)+len(lists.URIBL) > 0 {
		if p.monitor, err = dnsbl.NewMonitor(lists, c.Blocklists.MonitorInterval.Duration); err != nil {
			return nil, err
		}
		lists.Monitor = p.monitor
	}
	ipCheck, err := dnsbl.NewIPCheck(lists)
	if err != nil {
		return nil, err
	}
	uriCheck, err := dnsbl.NewURICheck(lists)
	if err != nil {
		return nil, err
	}
	authScores, rdnsScores, err := splitScores(c.Scores)
	if err != nil {
		return nil, err
	}
	ropts := rdns.Options{Resolver: res, Trusted: c.Access.TrustedRelays, MaxNames: c.RDNS.MaxNames,
		OurNames: append([]string{c.Server.Hostname}, c.HELO.OurNames...), OurIPs: ourIPs(c), Scores: rdnsScores}
	hop := received.HopOptions{Trusted: c.Access.TrustedRelays, DNSBL: ipCheck}
	p.checks = append(p.checks, ipCheck, uriCheck)
	if c.RDNS.Enabled {
		if hop.RDNS, err = rdns.NewRDNS(ropts); err != nil {
			return nil, err
		}
		p.checks = append(p.checks, hop.RDNS)
	}
	if c.HELO.Enabled {
		if hop.HELO, err = rdns.NewHELO(ropts); err != nil {
			return nil, err
		}
		p.checks = append(p.checks, hop.HELO)
	}
	hopCheck, err := received.NewHopCheck(hop)
	if err != nil {
		return nil, err
	}
	p.checks = append(p.checks, hopCheck)
	authChecks, err := auth.New(auth.Options{
		Resolver:     res,
		EgressIPs:    c.Access.EgressIPs,
		Outbound:     outbound(c),
		TrustedRelay: func(ip netip.Addr) bool { return access.Contains(c.Access.TrustedRelays, ip) },
		OriginalHop:  received.HopFunc(c.Access.TrustedRelays),
		Scores:       authScores,
	})
	if err != nil {
		return nil, err
	}
	p.checks = append(p.checks, authChecks...)
	return p, nil
}

func newResolver(c *config.Config) (*dns.Client, error) {
	cl, err := dns.New(dns.Options{Servers: c.DNS.Servers, Timeout: c.DNS.Timeout.Duration, Retries: c.DNS.Retries, CacheSize: c.DNS.CacheSize})
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	return cl, nil
}

func listConfig(c *config.Config, res dns.Resolver, log *slog.Logger) dnsbl.Config {
	conv := func(in []config.List) []dnsbl.List {
		out := make([]dnsbl.List, len(in))
		for i, l := range in {
			out[i] = dnsbl.List{Zone: l.Zone, Weight: l.Weight, Codes: l.Codes, Policy: l.Policy,
				Name: l.Name, Bitmask: l.Bitmask, Test: l.Test}
		}
		return out
	}
	return dnsbl.Config{
		Resolver: res, DNSBL: conv(c.DNSBL), DNSWL: conv(c.DNSWL), URIBL: conv(c.URIBL),
		MaxLookups: c.Blocklists.URIBLMaxLookups, Trusted: c.Access.TrustedRelays, Log: log,
	}
}

// outbound tells the sender-authentication checks which transactions are
// our own users' mail going out, whose SPF and DMARC the receiving side
// judges, not us: authenticated clients; clients on our relay networks
// that are not trusted relays (a customer's web server); and, through a
// trusted relay, mail submitted to it locally or with SMTP AUTH (Exim's
// Received says "with esmtpsa"), as opposed to mail it is forwarding.
func outbound(c *config.Config) func(*scoring.Input) bool {
	trusted := c.Access.TrustedRelays
	return func(in *scoring.Input) bool {
		if in.AuthUser != "" {
			return true
		}
		if !access.Contains(trusted, in.ClientIP) {
			return access.Contains(c.Access.RelayNetworks, in.ClientIP)
		}
		if in.Message == nil {
			return false // decided at end of DATA, from the Received fields
		}
		hop, ok := received.OriginalHop(in.Message.Header, trusted, in.ClientIP)
		return !ok || hop.Authenticated()
	}
}

// ourIPs are the addresses HELO must not claim: helo.our_ips, the one we
// listen on when it is specific, and the egress IPs.
func ourIPs(c *config.Config) []netip.Addr {
	ips := append([]netip.Addr(nil), c.HELO.OurIPs...)
	if ap, err := netip.ParseAddrPort(c.Server.Listen); err == nil && !ap.Addr().IsUnspecified() && !ap.Addr().IsLoopback() {
		ips = append(ips, ap.Addr())
	}
	return append(ips, c.Access.EgressIPs...)
}

// splitScores hands each [scores] entry to the package that owns the
// symbol. An unknown name is an error: a typo must not pass silently.
func splitScores(scores map[string]float64) (authScores, rdnsScores map[string]float64, err error) {
	authKnown, rdnsKnown := auth.DefaultScores(), rdns.DefaultScores()
	authScores, rdnsScores = map[string]float64{}, map[string]float64{}
	for name, v := range scores {
		switch _, inAuth := authKnown[name]; {
		case inAuth:
			authScores[name] = v
		default:
			if _, ok := rdnsKnown[name]; !ok {
				return nil, nil, fmt.Errorf("config: scores.%s: no sender check emits this symbol (content rule scores go in rule files)", name)
			}
			rdnsScores[name] = v
		}
	}
	return authScores, rdnsScores, nil
}

// senderSymbols are the names the sender checks emit, which meta rules may
// name besides content rules (list symbols depend on the configured zones).
func senderSymbols() []string {
	names := []string{"GTUBE"}
	for _, m := range []map[string]float64{auth.DefaultScores(), rdns.DefaultScores()} {
		for name := range m {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
