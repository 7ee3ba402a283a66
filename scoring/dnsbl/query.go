package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"relayguard/internal/metrics"
	"relayguard/scoring/dns"
)

// listing is the answer of one list about one target.
type listing struct {
	l      *list
	target string       // IP or domain asked about
	codes  []netip.Addr // return codes; none when not listed
	txt    string       // the list's TXT reason, cleaned
	err    error        // the list could not tell
	// bad is set (with err) when the list did answer, but with codes
	// that are no listing (outside 127/8, refusal codes).
	bad bool
}

func (g listing) listed() bool { return len(g.codes) > 0 }

// lookup asks l about target (an IP or a domain). When listed, the TXT
// record at the same name is fetched too (RFC 5782 §2.1: it says why);
// its failure costs only the reason.
func (l *list) lookup(ctx context.Context, r dns.Resolver, target string) listing {
	g := listing{l: l, target: target}
	qname, err := l.queryName(target)
	if err != nil {
		g.err = l.errorf("%w", err)
		return g
	}
	ips, err := r.LookupA(ctx, qname)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return g // not listed
		}
		g.err = l.errorf("%s: %s", target, l.redact(err.Error()))
		return g
	}
	codes, err := parseAnswer(ips)
	if err != nil {
		g.err, g.bad = l.errorf("%s: %w", target, err), true
		return g
	}
	g.codes = codes
	if len(codes) > 0 {
		if txt, err := r.LookupTXT(ctx, qname); err == nil {
			g.txt = l.redact(cleanTXT(txt))
		}
	}
	return g
}

// errorf makes an error that names the list as shown (never its DQS key).
func (l *list) errorf(format string, args ...any) error {
	return fmt.Errorf("%s %s: "+format, append([]any{l.kind, l.display}, args...)...)
}

// redact removes the DQS key from text that may quote the query name.
func (l *list) redact(s string) string {
	if l.zone == l.display {
		return s
	}
	return strings.ReplaceAll(s, l.zone, l.display)
}

// peek answers a lookup from the resolver's cache alone, when it can
// (the A answer, and for a listing its TXT, are both cached).
func (l *list) peek(p dns.Peeker, target string) (listing, bool) {
	g := listing{l: l, target: target}
	qname, err := l.queryName(target)
	if err != nil {
		return g, false
	}
	ips, cached, err := p.PeekA(qname)
	if !cached {
		return g, false
	}
	if err != nil {
		return g, true // the cache only holds answers: this is not found
	}
	codes, err := parseAnswer(ips)
	if err != nil {
		g.err, g.bad = l.errorf("%s: %w", target, err), true
		return g, true
	}
	g.codes = codes
	if len(codes) > 0 {
		txt, cached, err := p.PeekTXT(qname)
		if !cached {
			return listing{}, false
		}
		if err == nil {
			g.txt = l.redact(cleanTXT(txt))
		}
	}
	return g, true
}

// query is one list asked about one target.
type query struct {
	l      *list
	target string
}

// lookupAll runs the queries, all in parallel. Answers the resolver has
// cached are taken inline first, so a warm cache (the common case for a
// spam run from one source) costs no goroutine per query.
func lookupAll(ctx context.Context, r dns.Resolver, qs []query) []listing {
	got := make([]listing, len(qs))
	p, canPeek := r.(dns.Peeker)
	var wg sync.WaitGroup
	for i, q := range qs {
		if canPeek {
			if g, ok := q.l.peek(p, q.target); ok {
				got[i] = g
				continue
			}
		}
		wg.Go(func() { got[i] = q.l.lookup(ctx, r, q.target) })
	}
	wg.Wait()
	for _, g := range got {
		countListing(g)
	}
	return got
}

// countListing counts one answer by its list (as shown: never a DQS key)
// and result.
func countListing(g listing) {
	switch {
	case g.err != nil:
		metrics.ListQuery(g.l.display, metrics.Error)
	case g.listed():
		metrics.ListQuery(g.l.display, metrics.Listed)
	default:
		metrics.ListQuery(g.l.display, metrics.Clean)
	}
}
