package dns

import (
	"context"
	"net"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
)

// Server health, as mature stub resolvers keep it (c-ares' server retry
// delay, unbound's infra cache): a server that swallows queries would
// otherwise cost every lookup of every message timeout × attempts, seconds
// per message, for as long as the outage lasts. After downAfter
// consecutive unanswered queries a server is down: lookups skip it, and
// when every server is down they fail at once with ErrResolverDown, so a
// check fails as fast as on NXDOMAIN and dns.on_error decides. A single
// probe at a growing interval, started by a lookup that finds it due, tells
// when the server answers again. Any response counts as an answer, SERVFAIL
// included: the server is there, only that name is in trouble.
const (
	// downAfter consecutive timeouts mark a server down. More than one,
	// so one name whose authoritative servers are dead does not take the
	// resolver with it; any answer in between resets the count.
	downAfter = 3
	// probeBackoffMin and probeBackoffMax bound the interval between
	// probes of a down server; it doubles after each failed probe.
	probeBackoffMin = 2 * time.Second
	probeBackoffMax = time.Minute
)

// serverHealth is what the client knows of one server.
type serverHealth struct {
	addr string

	mu        sync.Mutex
	fails     int // consecutive queries without an answer
	down      bool
	downSince time.Time
	backoff   time.Duration
	nextProbe time.Time
	probing   bool
}

// usable tells whether a query may be sent to h now. For a down server it
// starts the probe when one is due and none runs, and answers false: the
// caller does not wait on the probe.
func (c *Client) usable(h *serverHealth) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		return true
	}
	if !h.probing && !c.now().Before(h.nextProbe) {
		h.probing = true
		go c.probe(h)
	}
	return false
}

// answered records that h sent a response.
func (c *Client) answered(h *serverHealth) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.answeredLocked(h)
}

func (c *Client) answeredLocked(h *serverHealth) {
	h.fails = 0
	if h.down {
		h.down = false
		c.log.Warn("DNS resolver answering again; lookups resume", "server", h.addr,
			"down_for", c.now().Sub(h.downSince).Round(time.Second).String())
	}
}

// failed records that a query to h got no response (timeout, network
// error), and marks h down on the downAfter-th in a row. Failures of
// queries sent before h went down add nothing.
func (c *Client) failed(h *serverHealth, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		return
	}
	h.fails++
	if h.fails < downAfter {
		return
	}
	now := c.now()
	h.down, h.downSince = true, now
	h.backoff = probeBackoffMin
	h.nextProbe = now.Add(h.backoff)
	c.log.Error("DNS resolver down: it did not answer; lookups skip it (and fail at once if no server is left) until a probe gets an answer",
		"server", h.addr, "unanswered", h.fails, "err", err.Error())
}

// probe sends one question any recursive resolver answers from memory
// (the root's NS records) and records the outcome.
func (c *Client) probe(h *serverHealth) {
	defer func() {
		if c.probed != nil {
			c.probed()
		}
	}()
	m := new(mdns.Msg)
	m.SetQuestion(".", mdns.TypeNS)
	m.RecursionDesired = true
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	c.queries.Add(1)
	_, _, err := c.udp.ExchangeContext(ctx, m, h.addr)
	// One critical section, so no second probe starts in between.
	h.mu.Lock()
	defer h.mu.Unlock()
	h.probing = false
	if err == nil {
		c.answeredLocked(h)
		return
	}
	h.backoff = min(2*h.backoff, probeBackoffMax)
	h.nextProbe = c.now().Add(h.backoff)
}

// resolverDown is the error of a lookup that no server could be asked.
func resolverDown(fq string) *net.DNSError {
	return &net.DNSError{
		Err:         ErrResolverDown.Error(),
		Name:        trimDot(fq),
		IsTemporary: true,
		UnwrapErr:   ErrResolverDown,
	}
}
