package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync/atomic"

	"relayguard/config"
	"relayguard/filter"
	"relayguard/internal/store"
	"relayguard/rules"
	"relayguard/scoring"
	"relayguard/scoring/auth"
	"relayguard/scoring/classifier"
	"relayguard/scoring/dns"
	"relayguard/scoring/dnsbl"
	"relayguard/scoring/lists"
	"relayguard/scoring/rdns"
	"relayguard/scoring/received"
)

// services are built once at start and outlive a reload: the DNS client
// and its cache, and the blocklist monitor with what it learned of each
// list. SIGHUP rebuilds only the engine (thresholds, rules, lists, scores)
// on top of them.
type services struct {
	log      *slog.Logger
	resolver *dns.Client // nil offline (check --local)
	dnsOf    string      // the settings resolver was built with

	monitor   *dnsbl.Monitor // nil without lists
	monitorOf string         // the list settings monitor was built for
	stopMon   context.CancelFunc

	// store is the state kept between messages (classifier tokens,
	// rate-limit counters, marks): the file under store.dir or Redis.
	// Never nil; a one-shot command may get an in-memory one.
	store store.Store

	// egress watches access.egress_ips on the DNSBLs; kept while the
	// lists, the IPs and the interval are unchanged.
	egress     *dnsbl.EgressWatch
	egressOf   string
	stopEgress context.CancelFunc

	// ruleset is the engine in service's; current is what the console
	// reads (console.go), set by adopt.
	ruleset *rules.Ruleset
	current atomic.Pointer[servicesInService]
	// onJudged records judged messages in the history (nil: no history).
	onJudged func(*filter.Judged)
}

// newServices builds the services a configuration asks for, for serve:
// the store opened for writing. network is false for `check --local`:
// nothing that asks the DNS.
func newServices(c *config.Config, log *slog.Logger, network bool) (*services, error) {
	return newServicesStore(c, log, network, false)
}

// newServicesStore is newServices; oneShot opens the store read-only, and
// falls back to an empty in-memory one (see openStore).
func newServicesStore(c *config.Config, log *slog.Logger, network, oneShot bool) (*services, error) {
	st, err := openStore(c, log, oneShot)
	if err != nil {
		return nil, err
	}
	s := &services{log: log, stopMon: func() {}, stopEgress: func() {}, store: st}
	if !network {
		return s, nil
	}
	if s.resolver, err = newResolver(c, log); err != nil {
		st.Close()
		return nil, err
	}
	s.dnsOf = resolverSettings(c.DNS)
	return s, nil
}

// monitorFor returns the blocklist monitor for the configuration's lists:
// the running one while the lists are unchanged (a list it switched off
// stays off), else a new one, which adopt starts once the engine that
// uses it is in service.
func (s *services) monitorFor(c *config.Config, lists dnsbl.Config) (*dnsbl.Monitor, string, error) {
	if len(lists.DNSBL)+len(lists.DNSWL)+len(lists.URIBL) == 0 {
		return nil, "", nil
	}
	key := fmt.Sprint(c.DNSBL, c.DNSWL, c.URIBL, c.Blocklists.MonitorInterval.Duration)
	if s.monitor != nil && key == s.monitorOf {
		return s.monitor, key, nil
	}
	m, err := dnsbl.NewMonitor(lists, c.Blocklists.MonitorInterval.Duration)
	return m, key, err
}

// adopt starts what a new engine brought (a monitor for changed lists)
// and stops what it replaced. A monitor nothing uses any more (the lists
// were removed) is stopped too.
func (s *services) adopt(p *engineParts) {
	s.ruleset = p.rules
	defer s.publish()
	s.adoptEgress(p)
	if p.monitor == s.monitor {
		return
	}
	s.stopMon()
	s.monitor, s.monitorOf, s.stopMon = p.monitor, p.monitorOf, func() {}
	if p.monitor != nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopMon = cancel
		go p.monitor.Run(ctx)
	}
}

// egressFor returns the egress watch for the configuration: the running
// one while its settings are unchanged (so a reload neither repeats the
// ERROR lines of a listing already reported nor queries the lists again
// early), else a new one for adopt to start. Nil: nothing to watch.
func (s *services) egressFor(c *config.Config, lists dnsbl.Config) (*dnsbl.EgressWatch, string, error) {
	key := fmt.Sprint(c.DNSBL, c.Access.EgressIPs, c.Blocklists.EgressCheckInterval.Duration, c.Blocklists.RemovalPages)
	if key == s.egressOf {
		return s.egress, key, nil
	}
	w, err := dnsbl.NewEgressWatch(lists, c.Access.EgressIPs, c.Blocklists.EgressCheckInterval.Duration, c.Blocklists.RemovalPages)
	return w, key, err
}

// adoptEgress starts the engine's egress watch when it is a new one, and
// stops the one it replaces.
func (s *services) adoptEgress(p *engineParts) {
	if p.egressOf == s.egressOf {
		return
	}
	s.stopEgress()
	s.egress, s.egressOf, s.stopEgress = p.egress, p.egressOf, func() {}
	if p.egress != nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopEgress = cancel
		go p.egress.Run(ctx)
	}
}

// resolverSettings are the [dns] settings the resolver is built from
// (on_error is the engine's, and reloads).
func resolverSettings(d config.DNS) string {
	return fmt.Sprint(d.Servers, d.Timeout.Duration, d.Retries, d.CacheSize)
}

// close stops what the services run and closes the store.
func (s *services) close() {
	s.stopMon()
	s.stopEgress()
	if err := s.store.Close(); err != nil {
		s.log.Error("closing the state store", "err", err)
	}
}

// engineParts is what one build of the engine holds besides the checks.
type engineParts struct {
	checks    []scoring.Check
	rules     *rules.Ruleset
	monitor   *dnsbl.Monitor // the lists' monitor, running or to be started
	monitorOf string
	egress    *dnsbl.EgressWatch // the egress watch, running or to be started
	egressOf  string
	// refuseRcpt refuses a blocked recipient alone, at RCPT.
	refuseRcpt func(rcpt string) (scoring.Symbol, bool)
}

// buildChecks builds every check the configuration asks for, on svc.
func buildChecks(c *config.Config, svc *services) (*engineParts, error) {
	rs, err := rules.Load(c.Rules.Files, rules.Options{MaxScanBytes: c.Rules.MaxScanBytes, KnownSymbols: senderSymbols()})
	if err != nil {
		return nil, err
	}
	p := &engineParts{rules: rs, checks: []scoring.Check{scoring.GTUBE{}}}
	p.checks = append(p.checks, scoring.ContentChecks(rs)...)
	if svc.store != nil && c.Classifier.Enabled {
		cl, err := newClassifier(c, svc)
		if err != nil {
			return nil, err
		}
		p.checks = append(p.checks, cl.Checks()...)
	}
	// The lists are read here, so SIGHUP reads their files again; a bad
	// file fails the build and the running engine stays.
	ls, err := lists.New(c.Lists.Options(listScores(c.Scores)))
	if err != nil {
		return nil, err
	}
	p.checks = append(p.checks, ls.Checks()...)
	p.refuseRcpt = ls.RefuseRcpt
	if svc.resolver == nil {
		return p, nil
	}
	res := svc.resolver
	lists := listConfig(c, res, svc.log)
	if p.monitor, p.monitorOf, err = svc.monitorFor(c, lists); err != nil {
		return nil, err
	}
	lists.Monitor = p.monitor
	if p.egress, p.egressOf, err = svc.egressFor(c, lists); err != nil {
		return nil, err
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
	ropts := rdns.Options{Resolver: res, MaxNames: c.RDNS.MaxNames,
		OurNames: append([]string{c.Server.Hostname}, c.HELO.OurNames...), OurIPs: ourIPs(c), Scores: rdnsScores}
	hop := received.HopOptions{DNSBL: ipCheck}
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
	p.checks = append(p.checks, received.NewHopCheck(hop))
	authChecks, err := auth.New(auth.Options{Resolver: res, EgressIPs: c.Access.EgressIPs, Scores: authScores})
	if err != nil {
		return nil, err
	}
	p.checks = append(p.checks, authChecks...)
	return p, nil
}

func newResolver(c *config.Config, log *slog.Logger) (*dns.Client, error) {
	cl, err := dns.New(dns.Options{Servers: c.DNS.Servers, Timeout: c.DNS.Timeout.Duration, Retries: c.DNS.Retries, CacheSize: c.DNS.CacheSize, Log: log})
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
		MaxLookups: c.Blocklists.URIBLMaxLookups, Log: log,
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
	bayesKnown := classifier.DefaultScores()
	for name, v := range scores {
		if _, ok := bayesKnown[name]; ok {
			continue // newClassifier takes these
		}
		if _, ok := lists.DefaultScores()[name]; ok {
			continue // listScores takes these
		}
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
	for name := range classifier.DefaultScores() {
		names = append(names, name)
	}
	for name := range auth.DefaultScores() {
		names = append(names, name)
	}
	for name := range lists.DefaultScores() {
		names = append(names, name)
	}
	// The rDNS and HELO symbols, their zero-score _TEMPFAIL ones, and all
	// of them again on a forwarded message's original hop (RCVD_).
	rd := []string{rdns.SymRDNSTempfail, rdns.SymHeloTempfail}
	for name := range rdns.DefaultScores() {
		rd = append(rd, name)
	}
	for _, name := range rd {
		names = append(names, name, rdns.HopPrefix+name)
	}
	slices.Sort(names)
	return names
}

// newClassifier builds the classifier on the services' store, with the
// BAYES_ scores of [scores].
func newClassifier(c *config.Config, svc *services) (*classifier.Classifier, error) {
	scores := map[string]float64{}
	for name := range classifier.DefaultScores() {
		if v, ok := c.Scores[name]; ok {
			scores[name] = v
		}
	}
	return classifier.New(classifier.Options{Store: svc.store, MinLearns: c.Classifier.MinLearns, Scores: scores,
		Autolearn: c.Classifier.Autolearn, AutolearnSpam: c.Classifier.AutolearnSpam,
		AutolearnHam: c.Classifier.AutolearnHam, Log: svc.log})
}

// listScores are the [scores] entries of the list symbols.
func listScores(scores map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for name := range lists.DefaultScores() {
		if v, ok := scores[name]; ok {
			out[name] = v
		}
	}
	return out
}
