package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"relayguard/config"
	"relayguard/internal/metrics"
)

// probeEvery is how long an upstream probe's answer is kept: /readyz may
// be asked every second by several probers, the MTA should not see a
// connection per ask.
const probeEvery = 10 * time.Second

// probeTimeout bounds one probe: a TCP connect and the 220 greeting.
const probeTimeout = 3 * time.Second

// readiness answers /readyz: the configuration is loaded (an engine is
// in service) and the upstream answered a recent probe.
type readiness struct {
	loaded atomic.Bool
	probe  func(context.Context) error

	mu      sync.Mutex
	at      time.Time
	lastErr error
}

func newReadiness(c *config.Config) *readiness {
	r := &readiness{}
	if dir, ok := strings.CutPrefix(c.Relay.Upstream, "maildir:"); ok {
		r.probe = func(context.Context) error { return probeMaildir(dir) }
	} else {
		addr := c.Relay.Upstream
		r.probe = func(ctx context.Context) error { return probeSMTP(ctx, addr) }
	}
	return r
}

func (r *readiness) check(ctx context.Context) error {
	if !r.loaded.Load() {
		return errors.New("configuration not loaded yet")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.at) < probeEvery && !r.at.IsZero() {
		return r.lastErr
	}
	r.lastErr, r.at = r.probe(ctx), time.Now()
	return r.lastErr
}

// probeSMTP connects to the upstream and waits for its 220 greeting.
func probeSMTP(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("upstream %s does not accept connections", addr)
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	// A multi-line greeting (220-...) ends with "220 ".
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("upstream %s sent no greeting in %v", addr, probeTimeout)
		}
		if !strings.HasPrefix(line, "220") {
			return fmt.Errorf("upstream %s greets with %q, not 220", addr, strings.TrimSpace(line))
		}
		if len(line) < 4 || line[3] != '-' {
			break
		}
	}
	c.Write([]byte("QUIT\r\n"))
	return nil
}

// probeMaildir makes sure the dev upstream's folder exists (it is created
// on start, so missing means it was removed under us).
func probeMaildir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return fmt.Errorf("upstream maildir %s does not exist", dir)
	}
	return nil
}

// startMetrics serves /metrics, /healthz and /readyz on metrics.listen,
// when set. The returned stop closes the listener.
func startMetrics(c *config.Config, ready *readiness, log *slog.Logger) (stop func(), err error) {
	if c.Metrics.Listen == "" {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", c.Metrics.Listen)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen: %w", err)
	}
	srv := &http.Server{Handler: metrics.Handler(ready.check, c.Metrics.Profiling), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	paths := "/metrics /healthz /readyz"
	if c.Metrics.Profiling {
		paths += " /debug/pprof/"
	}
	log.Info("metrics listening", "addr", l.Addr().String(), "paths", paths)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
