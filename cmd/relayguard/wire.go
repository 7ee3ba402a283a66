package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"relayguard/config"
	"relayguard/filter"
	"relayguard/internal/limit"
	"relayguard/internal/store"
	"relayguard/rules"
	"relayguard/rules/message"
	"relayguard/scoring"
)

// newLogger makes the process logger: text for people, JSON for machines.
func newLogger(format, level string, w io.Writer) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level)) // validated by config
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// policyOf turns the [scoring] section into the engine's policy.
func policyOf(c *config.Config) scoring.Policy {
	return scoring.Policy{
		Reject:    c.Scoring.Reject,
		AddHeader: c.Scoring.AddHeader,
		Mode:      scoring.Mode(c.Scoring.Mode),
		Explain:   scoring.Explain(c.Scoring.Explain),
		// dns.on_error = "tempfail": a verdict that lost checks to DNS
		// trouble is answered 451 4.4.3 rather than judged on what it has.
		TempfailOnError: c.DNS.OnError == "tempfail",
	}
}

// trimChecks returns the checks it is given, except in a relayguard built
// with -tags perfbare (perfbare.go), which scripts/perf.sh uses to measure
// the proxy without its checks.
var trimChecks = func(checks []scoring.Check) []scoring.Check { return checks }

// engineOn builds the engine of a configuration on running services. The
// parts come along: the rule set for its warnings, and a monitor for
// changed lists that services.adopt starts once the engine is in service.
func engineOn(c *config.Config, svc *services) (*scoring.Engine, *engineParts, error) {
	p, err := buildChecks(c, svc)
	if err != nil {
		return nil, nil, err
	}
	p.checks = trimChecks(p.checks)
	classify, err := classifierOf(c)
	if err != nil {
		return nil, nil, err
	}
	e, err := scoring.NewEngine(scoring.Options{Policy: policyOf(c), Timeout: c.Scoring.Timeout.Duration,
		Trust: c.Access.List(), Log: svc.log, Checks: p.checks, Classify: classify, RefuseRcpt: p.refuseRcpt})
	return e, p, err
}

// buildEngine builds a one-off engine with services of its own, for
// commands that judge and exit (check, config check). network is false
// for `check --local`: only what reads the message itself. The store is
// opened read-only, so a running serve keeps it.
func buildEngine(c *config.Config, log *slog.Logger, network bool) (*scoring.Engine, *rules.Ruleset, error) {
	svc, err := newServicesStore(c, log, network, true)
	if err != nil {
		return nil, nil, err
	}
	e, p, err := engineOn(c, svc)
	if err != nil {
		return nil, nil, err
	}
	return e, p.rules, nil
}

// buildServer wires the front door from the configuration.
// The limiter works on the services' store, so it outlives a reload.
func buildServer(c *config.Config, engine *scoring.Engine, log *slog.Logger, tlsCfg *tls.Config, svc *services) (*filter.Server, error) {
	up, err := buildUpstream(c)
	if err != nil {
		return nil, err
	}
	var users filter.Users
	if c.Access.UsersFile != "" {
		if users, err = filter.LoadUsers(c.Access.UsersFile); err != nil {
			return nil, err
		}
		if tlsCfg == nil {
			log.Warn("access.users_file is set but no TLS certificate: AUTH is offered only after STARTTLS, so it is off")
		}
	}
	opts := filter.Options{
		Hostname:            c.Server.Hostname,
		MaxMessageBytes:     c.Server.MaxMessageBytes,
		MaxRecipients:       c.Server.MaxRecipients,
		MaxConnections:      c.Server.MaxConnections,
		MaxConnectionsPerIP: c.Server.MaxConnectionsPerIP,
		MaxLineLength:       c.Server.MaxLineLength,
		MaxHeaderBytes:      c.Server.MaxHeaderBytes,
		IdleTimeout:         c.Server.IdleTimeout.Duration,
		DataTimeout:         c.Server.DataTimeout.Duration,
		RelayTimeout:        c.Relay.Timeout.Duration,
		SpoolMemoryBytes:    c.Server.SpoolMemoryBytes,
		SpoolDir:            c.Server.SpoolDir,
		TLS:                 tlsCfg,
		RejectEarly:         c.Scoring.RejectEarly,
		ParseOptions:        message.Options{MaxScanBytes: c.Rules.MaxScanBytes},
		Limiter:             limiterOf(c, svc.store, log),
		ProxyFrom:           c.Server.ProxyProtocolFrom,
		OnJudged:            svc.onJudged,
	}
	policy := &filter.Policy{Access: c.Access.List()}
	return filter.NewServer(opts, policy, users, engine, up, log), nil
}

func buildUpstream(c *config.Config) (filter.Upstream, error) {
	if dir, ok := strings.CutPrefix(c.Relay.Upstream, "maildir:"); ok {
		return filter.NewMaildirUpstream(dir, c.Server.Hostname)
	}
	return &filter.SMTPUpstream{
		Addr:      c.Relay.Upstream,
		Hostname:  c.Server.Hostname,
		TLS:       filter.TLSMode(c.Relay.StartTLS),
		TLSVerify: c.Relay.TLSVerify,
		Timeout:   c.Relay.Timeout.Duration,
		Username:  c.Relay.Username,
		Password:  c.Relay.Password,
	}, nil
}

// loadTLS reads the server certificate, or returns nil when none is set.
func loadTLS(c *config.Config) (*tls.Config, error) {
	if c.Server.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.Server.TLSCert, c.Server.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("server.tls_cert/tls_key: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// limiterOf builds the volume limits, the hold and the AUTH block of the
// configuration on st.
func limiterOf(c *config.Config, st store.Store, log *slog.Logger) *limit.Limiter {
	o := limit.Options{
		Hold: limit.HoldPolicy{SpamMessages: c.Hold.SpamMessages, Window: c.Hold.Window.Duration,
			Duration: c.Hold.Duration.Duration},
		Auth: limit.AuthPolicy{Failures: c.AuthFailures.Max, Window: c.AuthFailures.Window.Duration,
			Block: c.AuthFailures.Block.Duration},
		FailClosed: c.Store.OnError == "tempfail",
		Log:        log,
	}
	for _, r := range c.RateLimit {
		rule := limit.Rule{Key: limit.Key(r.Key), Window: r.Window.Duration,
			Limits: limit.Limits{Messages: r.Messages, Recipients: r.Recipients}}
		if len(r.Override) > 0 {
			rule.Overrides = map[string]limit.Limits{}
			for k, v := range r.Override {
				if r.Key == "sender" {
					k = strings.ToLower(k)
				}
				rule.Overrides[k] = limit.Limits{Messages: v.Messages, Recipients: v.Recipients}
			}
		}
		o.Rules = append(o.Rules, rule)
	}
	return limit.New(st, o)
}
