package dns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"relayguard/scoring/dns/dnstest"
)

// syncBuffer is a log sink the probe goroutine and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), substr)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// healthClient is a test client with short attempts, one retry, a log and
// a channel that receives once per finished health probe.
func healthClient(t *testing.T, srv ...*dnstest.Server) (*Client, *fakeClock, *syncBuffer, chan struct{}) {
	t.Helper()
	logs := &syncBuffer{}
	c, clock := newTestClient(t, Options{Timeout: 50 * time.Millisecond, Retries: 1, CacheSize: -1,
		Log: slog.New(slog.NewTextHandler(logs, nil))}, srv...)
	probed := make(chan struct{}, 16)
	c.probed = func() { probed <- struct{}{} }
	return c, clock, logs, probed
}

// lookupUntilDown asks distinct names until the client reports the
// resolver down, and fails the test if it never does.
func lookupUntilDown(t *testing.T, c *Client) {
	t.Helper()
	for i := range 10 {
		_, err := c.LookupA(context.Background(), fmt.Sprintf("n%d.test", i))
		if errors.Is(err, ErrResolverDown) {
			return
		}
		if err == nil || isNotFound(err) {
			t.Fatalf("lookup %d against a black hole: got %v, want a failure", i, err)
		}
	}
	t.Fatal("ten lookups timed out against a black-holed resolver and it was never reported down")
}

func waitProbe(t *testing.T, probed chan struct{}) {
	t.Helper()
	select {
	case <-probed:
	case <-time.After(10 * time.Second): // a guard against a hang, not a timing assertion
		t.Fatal("no health probe ran")
	}
}

func TestBlackholedResolverFailsFastWithoutSendingQueries(t *testing.T) {
	hole := dnstest.NewServer(t)
	hole.Blackhole(true)
	c, _, logs, _ := healthClient(t, hole)

	lookupUntilDown(t, c)
	sent := hole.Queries()
	for i := range 20 {
		_, err := c.LookupA(context.Background(), fmt.Sprintf("down%d.test", i))
		if !errors.Is(err, ErrResolverDown) {
			t.Fatalf("lookup while down: got %v, want ErrResolverDown", err)
		}
		var de *net.DNSError
		if !errors.As(err, &de) || de.IsNotFound || !de.IsTemporary {
			t.Errorf("error %#v: want a temporary *net.DNSError, not a not-found one", err)
		}
		if !strings.Contains(err.Error(), "DNS unavailable") {
			t.Errorf("error %q does not say DNS is unavailable", err)
		}
	}
	if got := hole.Queries(); got != sent {
		t.Errorf("the black hole received %d more queries while the resolver was down, want 0", got-sent)
	}
	if n := logs.count("level=ERROR"); n != 1 {
		t.Errorf("%d Error lines for one outage, want 1:\n%s", n, logs)
	}
	if n := logs.count("DNS resolver down"); n != 1 {
		t.Errorf("%d \"DNS resolver down\" lines, want 1:\n%s", n, logs)
	}
}

func TestBlackholedResolverResumesWhenProbeAnswers(t *testing.T) {
	hole := dnstest.NewServer(t)
	hole.Add(t, "back.test. 300 IN A 192.0.2.1")
	hole.Blackhole(true)
	c, clock, logs, probed := healthClient(t, hole)
	lookupUntilDown(t, c)

	// Before the backoff has passed, nothing is sent, not even a probe.
	sent := hole.Queries()
	if _, err := c.LookupA(context.Background(), "back.test"); !errors.Is(err, ErrResolverDown) {
		t.Fatalf("got %v, want ErrResolverDown", err)
	}
	if hole.Queries() != sent {
		t.Fatalf("a query was sent before the probe was due")
	}

	// Probe due, still dead: one probe packet, the lookup fails fast, no
	// new log line.
	clock.advance(time.Hour)
	if _, err := c.LookupA(context.Background(), "back.test"); !errors.Is(err, ErrResolverDown) {
		t.Fatalf("got %v, want ErrResolverDown", err)
	}
	waitProbe(t, probed)
	if got := hole.Queries() - sent; got != 1 {
		t.Errorf("%d queries for one probe, want 1", got)
	}
	if _, err := c.LookupA(context.Background(), "back.test"); !errors.Is(err, ErrResolverDown) {
		t.Fatalf("after a failed probe: got %v, want ErrResolverDown", err)
	}

	// The resolver comes back: the next due probe finds it, lookups resume.
	hole.Blackhole(false)
	clock.advance(time.Hour)
	c.LookupA(context.Background(), "back.test") // starts the probe
	waitProbe(t, probed)
	ips, err := c.LookupA(context.Background(), "back.test")
	if err != nil || len(ips) != 1 {
		t.Fatalf("after recovery: got %v, %v", ips, err)
	}
	if n := logs.count("DNS resolver down"); n != 1 {
		t.Errorf("%d \"DNS resolver down\" lines for one outage, want 1:\n%s", n, logs)
	}
	if n := logs.count("DNS resolver answering again"); n != 1 {
		t.Errorf("%d recovery lines, want 1:\n%s", n, logs)
	}
	if logs.count("level=WARN") != 1 {
		t.Errorf("want the recovery logged once at Warn:\n%s", logs)
	}
}

func TestLiveServerKeepsServingWhileOtherIsDown(t *testing.T) {
	hole, live := dnstest.NewServer(t), dnstest.NewServer(t)
	hole.Blackhole(true)
	for i := range 20 {
		live.Add(t, fmt.Sprintf("n%d.test. 300 IN A 192.0.2.1", i))
	}
	c, _, logs, _ := healthClient(t, hole, live)

	for i := range 20 {
		if _, err := c.LookupA(context.Background(), fmt.Sprintf("n%d.test", i)); err != nil {
			t.Fatalf("lookup %d with one live server: %v", i, err)
		}
	}
	if live.Queries() != 20 {
		t.Errorf("live server saw %d queries, want 20", live.Queries())
	}
	// The dead one was tried until it was known down, then left alone:
	// far fewer than one query per lookup.
	if n := hole.Queries(); n == 0 || n >= 10 {
		t.Errorf("dead server saw %d queries for 20 lookups, want a few, then none", n)
	}
	if n := logs.count("DNS resolver down"); n != 1 {
		t.Errorf("%d \"DNS resolver down\" lines, want 1:\n%s", n, logs)
	}
}
