package dnsbl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"relayguard/internal/metrics"
)

// The egress watch: our own sending addresses (access.egress_ips) looked
// up on every configured DNSBL, at start and every interval. A listing of
// our IP is the one thing a hosting company must hear about at once: every
// customer's mail starts bouncing with it.

// EgressResult is one list's answer about one egress IP.
type EgressResult struct {
	IP     netip.Addr
	Zone   string // as shown (no DQS key)
	Listed bool
	Codes  []string
	TXT    string
	// RemovalPage is where the list explains a listing and takes removal
	// requests, when known (blocklists.removal_pages).
	RemovalPage string
	Err         error
	// Disabled: not asked, because the list fails its RFC 5782 self-test
	// (a list that answers "listed" for every address would report our
	// IP; the Monitor already logs the list switched off).
	Disabled bool
}

// RemovalPage returns the page of pages (zone suffix → URL) for zone: the
// longest suffix that matches on a label boundary, or "".
func RemovalPage(pages map[string]string, zone string) string {
	zone = strings.ToLower(strings.TrimSuffix(zone, "."))
	best, url := -1, ""
	for suffix, u := range pages {
		s := strings.ToLower(strings.Trim(suffix, "."))
		if s == "" || len(s) <= best {
			continue
		}
		if zone == s || strings.HasSuffix(zone, "."+s) {
			best, url = len(s), u
		}
	}
	return url
}

// CheckEgress asks every DNSBL of cfg about each of ips, in parallel: one
// query per list per IP (and the TXT record of a listing).
func CheckEgress(ctx context.Context, cfg Config, ips []netip.Addr, pages map[string]string) ([]EgressResult, error) {
	c, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	return checkEgress(ctx, c, ips, pages), nil
}

func checkEgress(ctx context.Context, c *compiled, ips []netip.Addr, pages map[string]string) []EgressResult {
	out := make([]EgressResult, len(ips)*len(c.bl))
	var wg sync.WaitGroup
	for i, ip := range ips {
		for j, l := range c.bl {
			if !c.cfg.Monitor.enabled(l) {
				out[i*len(c.bl)+j] = EgressResult{IP: ip, Zone: l.display, Disabled: true}
				continue
			}
			wg.Go(func() {
				g := l.lookup(ctx, c.cfg.Resolver, ip.Unmap().String())
				r := EgressResult{IP: ip, Zone: l.display, Listed: g.listed(), TXT: g.txt, Err: g.err,
					RemovalPage: RemovalPage(pages, l.display)}
				for _, code := range g.codes {
					r.Codes = append(r.Codes, code.String())
				}
				out[i*len(c.bl)+j] = r
			})
		}
	}
	wg.Wait()
	return out
}

// WriteEgressText writes results for a terminal, one IP and list per line.
func WriteEgressText(w io.Writer, results []EgressResult) error {
	var b strings.Builder
	var last netip.Addr
	for _, r := range results {
		if r.IP != last {
			fmt.Fprintf(&b, "egress IP %s\n", r.IP)
			last = r.IP
		}
		fmt.Fprintf(&b, "  dnsbl %-28s ", r.Zone)
		switch {
		case r.Disabled:
			b.WriteString("not asked: the list fails its RFC 5782 self-test")
		case r.Err != nil:
			fmt.Fprintf(&b, "ERROR    %v", r.Err)
		case r.Listed:
			fmt.Fprintf(&b, "LISTED   %s", strings.Join(r.Codes, ","))
			if r.TXT != "" {
				fmt.Fprintf(&b, "  %q", r.TXT)
			}
			if r.RemovalPage != "" {
				fmt.Fprintf(&b, "  removal: %s", r.RemovalPage)
			}
		default:
			b.WriteString("not listed")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// EgressWatch looks our egress IPs up on every DNSBL every interval and
// says so once per change: an ERROR line when one is listed, a WARN line
// when it is delisted, and the relayguard_egress_listed gauge per zone.
type EgressWatch struct {
	c        *compiled
	ips      []netip.Addr
	interval time.Duration
	pages    map[string]string
	log      *slog.Logger

	listed map[egressKey]bool // what the last answer said; absent: not yet known

	// last is the last round's answers, for the console's live view.
	mu   sync.Mutex
	last []EgressResult
}

// Status is the last round's answers (nil before the first round, and
// for a nil watch).
func (w *EgressWatch) Status() []EgressResult {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.last)
}

type egressKey struct {
	ip   netip.Addr
	zone string
}

// NewEgressWatch makes a watch of ips on the DNSBLs of cfg. It returns nil
// when there is nothing to watch (no IPs or no DNSBL).
func NewEgressWatch(cfg Config, ips []netip.Addr, interval time.Duration, pages map[string]string) (*EgressWatch, error) {
	if len(ips) == 0 || len(cfg.DNSBL) == 0 {
		return nil, nil
	}
	if interval <= 0 {
		return nil, fmt.Errorf("egress watch: interval %v is not positive", interval)
	}
	c, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &EgressWatch{c: c, ips: ips, interval: interval, pages: pages, log: log,
		listed: make(map[egressKey]bool)}, nil
}

// Run checks now, then every interval plus up to a tenth of it at random
// (instances started together must not query the lists in step), until
// ctx ends. Never more often than interval: lists limit their queries.
func (w *EgressWatch) Run(ctx context.Context) {
	metrics.EgressReset()
	// A list that died answers "listed" for everything: wait for the
	// Monitor's first test of the lists before believing any of them.
	select {
	case <-w.c.cfg.Monitor.Tested():
	case <-ctx.Done():
		return
	}
	for {
		w.CheckNow(ctx)
		jitter := time.Duration(rand.Int64N(int64(w.interval)/10 + 1))
		t := time.NewTimer(w.interval + jitter)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// CheckNow asks every list about every egress IP once and reports what
// changed since the last round. Run calls it; it is not safe to call
// concurrently.
func (w *EgressWatch) CheckNow(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	results := checkEgress(ctx, w.c, w.ips, w.pages)
	w.mu.Lock()
	w.last = results
	w.mu.Unlock()
	zoneListed := map[string]bool{}
	zoneKnown := map[string]bool{}
	for _, r := range results {
		k := egressKey{r.IP, r.Zone}
		switch {
		case r.Disabled:
			// No news either, and nothing to say: the Monitor said it.
			if w.listed[k] {
				zoneListed[r.Zone] = true
			}
			continue
		case r.Err != nil:
			// No news: keep what we knew, say it at Warn (a list that
			// cannot answer is not a delisting).
			metrics.EgressCheck(metrics.Error)
			w.log.Warn("egress IP could not be checked", "ip", r.IP, "list", r.Zone, "err", r.Err)
			if w.listed[k] {
				zoneListed[r.Zone] = true
			}
			continue
		case r.Listed:
			metrics.EgressCheck(metrics.Listed)
			if !w.listed[k] {
				w.log.Error("our egress IP is listed", "ip", r.IP, "list", r.Zone, "code", strings.Join(r.Codes, ","),
					"txt", r.TXT, "removal", orUnknown(r.RemovalPage))
			}
			zoneListed[r.Zone] = true
		default:
			metrics.EgressCheck(metrics.Clean)
			if was, known := w.listed[k]; known && was {
				w.log.Warn("our egress IP is no longer listed", "ip", r.IP, "list", r.Zone)
			}
		}
		w.listed[k] = r.Listed
		zoneKnown[r.Zone] = true
	}
	zones := make([]string, 0, len(zoneKnown))
	for z := range zoneKnown {
		zones = append(zones, z)
	}
	for z := range zoneListed {
		if !zoneKnown[z] {
			zones = append(zones, z)
		}
	}
	sort.Strings(zones)
	for _, z := range zones {
		metrics.EgressListed(z, zoneListed[z])
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown (see the list's web site)"
	}
	return s
}
