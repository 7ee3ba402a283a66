package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"relayguard/config"
	"relayguard/filter"
	"relayguard/internal/metrics"
	"relayguard/rules"
)

func runServe(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration `file` (TOML); without it the embedded defaults apply (see: relayguard config default)")
	logFormat := fs.String("log-format", "", "log format, text or json (overrides log.format)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to `file` until shutdown (performance work)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: relayguard serve -config FILE\n\nRuns the proxy: receives SMTP on server.listen, scores each message, rejects\nwith 554 5.7.1 or relays it to relay.upstream.\nIt refuses to run as root (exit 77); to bind port 25, give it\nCAP_NET_BIND_SERVICE (the systemd unit does). Under systemd (Type=notify) it\nsays READY=1 once listening. A configuration error exits 78 (EX_CONFIG).\nSIGTERM/SIGINT: stop accepting, let messages in DATA finish, close.\nSIGHUP: rebuild the scoring engine (thresholds, policy classes, allow and\nblock lists, scores, rule files, the list and aliases files) from FILE; a\nfile with an error keeps the running one. The DNS cache and the blocklist\nmonitor carry on; [server], [relay], [access], [dns] and [metrics] changes\nneed a restart (the egress watch of access.egress_ips restarts when they,\nthe lists or blocklists.egress_check_interval change).\nWith metrics.listen set: /metrics, /healthz and /readyz over HTTP.\nWith console.listen set: the operator's web console (history, why, training,\nlive view) over HTTP; [console] changes need a restart.\nThe Go collector's target is 150 unless GOGC is set in the environment\n(docs/performance.md, \"The collector's target\").\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if code := refuseRootOrExit(stderr); code != 0 {
		return code
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return exitConfig
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	log := newLogger(cfg.Log.Format, cfg.Log.Level, stderr)
	if *cpuprofile != "" {
		stop, err := startCPUProfile(*cpuprofile)
		if err != nil {
			log.Error("cannot start", "err", err)
			return 1
		}
		defer stop()
	}
	tlsCfg, err := loadTLS(cfg)
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitConfig
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if err := serve(*cfgPath, cfg, tlsCfg, log, nil); err != nil {
		log.Error("stopped", "err", err)
		return exitCodeOf(err)
	}
	return 0
}

// serveGCPercent is the daemon's GC target unless GOGC is set. Its live
// heap is small (about 3 MB between messages since the phrase automaton
// gave way to a hash table), and the collector runs each time the heap
// grows by its live size: at the default 100, about every 40 messages of
// 5 KB, at a fixed cost of ~4 ms of CPU per cycle on 2 cores, which took
// more than the smaller heap saved (docs/performance.md, "The collector").
// 150 costs less CPU than the old heap did at 100 and peaks lower at 200
// sessions (60–63 MB against 62–63 MB).
const serveGCPercent = 150

// serve runs the server until SIGTERM or SIGINT, then shuts down
// gracefully; SIGHUP reloads the scoring part of the configuration from
// cfgPath. ready, when set, is called once the listener is up (dev mode
// prints its banner there).
func serve(cfgPath string, cfg *config.Config, tlsCfg *tls.Config, log *slog.Logger, ready func(addr net.Addr)) error {
	svc, err := newServices(cfg, log, true)
	if err != nil {
		return err
	}
	defer svc.close()
	engine, p, err := engineOn(cfg, svc)
	if err != nil {
		return asConfigError(err)
	}
	svc.adopt(p)
	logRuleWarnings(p.rules, log)
	ctl, err := startControl(cfg, svc, log)
	if err != nil {
		return err
	}
	if ctl != nil {
		defer ctl.Close()
	}
	cons, err := startConsole(cfg, svc, log)
	if err != nil {
		return asConfigError(err)
	}
	defer cons.stop() // after the server: the last messages' records are written
	svc.onJudged = cons.onJudged
	srv, err := buildServer(cfg, engine, log, tlsCfg, svc)
	if err != nil {
		return asConfigError(err)
	}
	if cfg.Classifier.Enabled {
		// Read on scrape, never per message; min_learns as at start.
		minLearns := cfg.Classifier.MinLearns
		metrics.SetClassifierState(func(ctx context.Context) (int64, int64, bool, error) {
			spam, ham, err := svc.store.Totals(ctx)
			return spam, ham, spam >= minLearns && ham >= minLearns, err
		})
	}
	rd := newReadiness(cfg)
	rd.loaded.Store(true) // the engine above is built from it
	stopMetrics, err := startMetrics(cfg, rd, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	l, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	log.Info("listening", "addr", l.Addr().String(), "upstream", cfg.Relay.Upstream,
		"reject", cfg.Scoring.Reject, "add_header", cfg.Scoring.AddHeader, "mode", cfg.Scoring.Mode, "version", version)
	if ready != nil {
		ready(l.Addr())
	}
	notifyReady(log)
	reload := func() {
		notifyReloading(log)
		reloadEngine(cfgPath, srv, svc, log)
		notifyReady(log)
	}
	return runUntilSignal(srv, l, cfg.Server.ShutdownTimeout.Duration, reload, log)
}

// reloadEngine rebuilds the scoring engine (thresholds, rules, lists,
// scores) from the configuration file on the running services, and swaps
// it in. A configuration or rule file with an error keeps the running
// engine, and the log says why.
func reloadEngine(cfgPath string, srv *filter.Server, svc *services, log *slog.Logger) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		log.Error("reload failed, keeping the running rules", "err", err)
		return
	}
	engine, p, err := engineOn(cfg, svc)
	if err != nil {
		log.Error("reload failed, keeping the running rules", "err", err)
		return
	}
	srv.SetEngine(engine)
	svc.adopt(p)
	logRuleWarnings(p.rules, log)
	log.Info("reloaded scoring configuration and rules (server, relay, access and dns settings need a restart)", "config", cfgPath)
	if resolverSettings(cfg.DNS) != svc.dnsOf {
		log.Warn("the [dns] settings changed: they take effect at restart; the running resolver and its cache stay", "config", cfgPath)
	}
}

// logRuleWarnings says at start and at every reload what loaded but
// deserves a look (a meta rule naming a symbol no rule emits).
func logRuleWarnings(rs *rules.Ruleset, log *slog.Logger) {
	for _, w := range rs.Warnings() {
		log.Warn("rule file", "warning", w.String())
	}
}

func runUntilSignal(srv *filter.Server, l net.Listener, grace time.Duration, reload func(), log *slog.Logger) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sig)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
wait:
	for {
		select {
		case err := <-done:
			return err
		case s := <-sig:
			if s == syscall.SIGHUP {
				reload()
				continue
			}
			log.Info("shutting down", "signal", s.String(), "grace", grace)
			notifyStopping(log)
			break wait
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	<-done
	log.Info("stopped")
	return nil
}
