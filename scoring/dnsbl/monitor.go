package dnsbl

import (
	"context"
	"fmt"
	"sync"
	"time"

	"relayguard/scoring/dns"
)

// DefaultMonitorInterval is how often the lists are tested.
const DefaultMonitorInterval = 10 * time.Minute

// Monitor tests every configured list the way RFC 5782 §5 allows: each
// IPv4 list must list 127.0.0.2 and must not list 127.0.0.1; each domain
// list must list "test" and must not list "invalid". A list that fails
// (a dead list whose zone now answers everything, or one that refuses our
// resolver) is switched off until it answers right again, and says so in
// the log at Error level every round it stays off: a silent list is
// evidence lost, a list that lists everything rejects all mail.
//
// A list whose test could not be run (timeout) keeps its state. Lists are
// on until their first test says otherwise.
type Monitor struct {
	c        *compiled
	interval time.Duration
	timeout  time.Duration

	mu  sync.RWMutex
	off map[string]string // zone → why it is off

	tested     chan struct{} // closed once every list was tested once
	testedOnce sync.Once
}

// ListStatus is the state of one list as the Monitor sees it.
type ListStatus struct {
	Kind    string
	Zone    string // as shown (no DQS key)
	Enabled bool
	Reason  string // why it is off
}

// NewMonitor makes a monitor for every list of cfg. interval zero means
// DefaultMonitorInterval. Set the result as cfg.Monitor of the checks.
func NewMonitor(cfg Config, interval time.Duration) (*Monitor, error) {
	c, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	if interval < 0 {
		return nil, fmt.Errorf("dnsbl monitor: interval %v is negative", interval)
	}
	if interval == 0 {
		interval = DefaultMonitorInterval
	}
	return &Monitor{c: c, interval: interval, timeout: 10 * time.Second, off: make(map[string]string),
		tested: make(chan struct{})}, nil
}

// Tested is closed once every list has been tested once, so that what
// trusts a list's answers (the egress watch) can wait for the first
// verdict on the lists (nil Monitor: closed at once).
func (m *Monitor) Tested() <-chan struct{} {
	if m == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return m.tested
}

// Run tests the lists now and then every interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		m.CheckNow(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckNow tests every list once, in parallel, and updates their state.
func (m *Monitor) CheckNow(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range m.uniqueLists() {
		wg.Go(func() { m.test(ctx, l) })
	}
	wg.Wait()
	m.testedOnce.Do(func() { close(m.tested) })
}

// uniqueLists lists each zone once (a zone may be configured as several
// kinds; the first kind is tested).
func (m *Monitor) uniqueLists() []*list {
	seen := make(map[string]bool)
	var out []*list
	for _, l := range m.c.all() {
		if !seen[l.zone] {
			seen[l.zone] = true
			out = append(out, l)
		}
	}
	return out
}

// test runs the two RFC 5782 §5 tests on l and records the outcome.
func (m *Monitor) test(ctx context.Context, l *list) {
	why, err := selfTest(ctx, m.c.cfg.Resolver, l)
	if err != nil {
		// The resolver or the list is unreachable: no news about the
		// list's answers, keep the state it had.
		m.c.log.Warn("dnsbl list could not be tested", "kind", l.kind.String(), "zone", l.display, "err", err)
		return
	}
	m.set(l, why)
}

// selfTest runs the two RFC 5782 §5 tests on l: why is empty when the list
// passes and says in plain words why it is broken otherwise; err is set
// when the test could not be run (no answer), and then why says nothing.
// The monitor and `relayguard lookup` share it, so a list the proxy
// switches off is the list the command calls broken.
func selfTest(ctx context.Context, r dns.Resolver, l *list) (why string, err error) {
	must := l.lookup(ctx, r, l.testEntry())
	mustNot := l.lookup(ctx, r, l.absentEntry())
	switch {
	case must.bad:
		return fmt.Sprintf("its test entry %s got a bad answer: %v", l.testEntry(), must.err), nil
	case mustNot.bad:
		return fmt.Sprintf("%s got a bad answer: %v", l.absentEntry(), mustNot.err), nil
	case must.err != nil || mustNot.err != nil:
		return "", firstErr(must.err, mustNot.err)
	case mustNot.listed():
		return fmt.Sprintf("it lists %s, which RFC 5782 §5 says no list may list: the list answers everything (dead or taken over)", l.absentEntry()), nil
	case !must.listed():
		return fmt.Sprintf("it does not list its test entry %s (RFC 5782 §5): the list is empty, gone or not answering us", l.testEntry()), nil
	}
	return "", nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// set records l as on (why empty) or off, logging every change, and every
// round a list stays off.
func (m *Monitor) set(l *list, why string) {
	m.mu.Lock()
	was, wasOff := m.off[l.zone]
	if why == "" {
		delete(m.off, l.zone)
	} else {
		m.off[l.zone] = why
	}
	m.mu.Unlock()
	switch {
	case why != "":
		m.c.log.Error("dnsbl list DISABLED: it fails its RFC 5782 self-test; its answers are ignored until it passes",
			"kind", l.kind.String(), "zone", l.display, "reason", why, "since_before", wasOff)
	case wasOff:
		m.c.log.Warn("dnsbl list enabled again: it passes its RFC 5782 self-test",
			"kind", l.kind.String(), "zone", l.display, "was", was)
	}
}

// enabled tells whether l may be asked. A nil Monitor enables everything.
func (m *Monitor) enabled(l *list) bool {
	if m == nil {
		return true
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, off := m.off[l.zone]
	return !off
}

// enabledOf filters ls down to the enabled lists.
func (m *Monitor) enabledOf(ls []*list) []*list {
	if m == nil {
		return ls
	}
	out := make([]*list, 0, len(ls))
	for _, l := range ls {
		if m.enabled(l) {
			out = append(out, l)
		}
	}
	return out
}

// Status reports every list's state (nothing for a nil Monitor).
func (m *Monitor) Status() []ListStatus {
	if m == nil {
		return nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []ListStatus
	for _, l := range m.uniqueLists() {
		why, off := m.off[l.zone]
		out = append(out, ListStatus{Kind: l.kind.String(), Zone: l.display, Enabled: !off, Reason: why})
	}
	return out
}
