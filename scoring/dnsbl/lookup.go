package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"

	"relayguard/scoring/dns"
	"relayguard/scoring/rdns"
)

// Report is what `relayguard lookup IP|DOMAIN` prints: how every
// configured list sees the target, and for an IP its reverse DNS.
type Report struct {
	// Target is what was asked, as given.
	Target string
	// IP is set when Target is an IP address.
	IP netip.Addr
	// Domain is the registrable domain asked about when Target is a name
	// (URIBLs list those: www.shop.example.co.uk is asked as
	// example.co.uk).
	Domain string
	// PTR and FCrDNS are the IP's reverse DNS names and the
	// forward-confirmed reverse DNS outcome ("pass (name)", "none",
	// "mismatch", "lookup failed (...)"). PTRErr is set when the PTR
	// lookup itself failed (not for NXDOMAIN or no PTR record: that is
	// "none").
	PTR    []string
	PTRErr error
	FCrDNS string
	// Results has one entry per list asked, in configuration order.
	Results []ListResult
	// Err says why nothing could be asked (a target that is neither an IP
	// nor a domain).
	Err error
}

// ListResult is one list's answer about the target.
type ListResult struct {
	Kind   string // dnsbl, dnswl, uribl
	Zone   string // as shown (no DQS key)
	Symbol string
	Listed bool
	Codes  []string
	// Score is what the listing weighs on the client IP (or message).
	Score float64
	TXT   string
	// Broken says why the list fails its RFC 5782 §5 self-test, run with
	// the lookup (the Monitor's test: what `serve` would switch off). A
	// broken list's answer is no listing: Listed is false and Score zero,
	// Codes show what it answered.
	Broken string
	Err    error
}

// Lookup asks every list of cfg about target, an IP (DNSBLs, DNSWLs,
// reverse DNS) or a domain (URIBLs), in parallel.
func Lookup(ctx context.Context, cfg Config, target string) Report {
	rep := Report{Target: target}
	c, err := cfg.compile()
	if err != nil {
		rep.Err = err
		return rep
	}
	var lists []*list
	query := ""
	var wg sync.WaitGroup
	if ip, err := netip.ParseAddr(strings.Trim(target, "[]")); err == nil && ip.Zone() == "" {
		rep.IP = ip.Unmap()
		query = rep.IP.String()
		lists = append(append(lists, c.bl...), c.wl...)
		wg.Go(func() {
			res, err := rdns.FCrDNS(ctx, cfg.Resolver, rep.IP, 0)
			rep.PTR = res.Names
			switch {
			case err != nil && len(res.Names) == 0:
				rep.PTRErr = err
				rep.FCrDNS = "unknown (no reverse DNS answer)"
			case err != nil:
				rep.FCrDNS = "lookup failed (" + plainDNSError(err) + ")"
			case res.Status == rdns.StatusPass:
				rep.FCrDNS = "pass (" + res.Confirmed + ")"
			default:
				rep.FCrDNS = res.Status.String()
			}
		})
	} else {
		d, _, ok := reduce(target)
		if !ok {
			rep.Err = fmt.Errorf("lookup %q: neither an IP address nor a domain with a registrable part", target)
			return rep
		}
		rep.Domain, query = d, d
		lists = c.uri
	}
	rep.Results = make([]ListResult, len(lists))
	for i, l := range lists {
		wg.Go(func() {
			// The self-test runs beside the lookup, not before it: the
			// report costs one round of queries, not two.
			var broken string
			tested := make(chan struct{})
			go func() {
				defer close(tested)
				broken, _ = selfTest(ctx, cfg.Resolver, l)
			}()
			g := l.lookup(ctx, cfg.Resolver, query)
			<-tested
			r := ListResult{Kind: l.kind.String(), Zone: l.display, Symbol: l.symbol(false),
				Listed: g.listed() && broken == "", TXT: g.txt, Err: g.err, Broken: broken}
			for _, code := range g.codes {
				r.Codes = append(r.Codes, code.String())
			}
			if r.Listed {
				r.Score, _ = l.weigh(g.codes, false)
			}
			rep.Results[i] = r
		})
	}
	wg.Wait()
	return rep
}

// WriteText writes the report for a terminal, one list per line.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	switch {
	case r.Err != nil:
		fmt.Fprintf(&b, "%s: %v\n", r.Target, r.Err)
	case r.IP.IsValid():
		fmt.Fprintf(&b, "IP %s\n", r.IP)
		ptr := "none" // NXDOMAIN or no PTR record
		switch {
		case len(r.PTR) > 0:
			ptr = strings.Join(r.PTR, ", ")
		case r.PTRErr != nil:
			ptr = "lookup failed (" + plainDNSError(r.PTRErr) + ")"
		}
		fmt.Fprintf(&b, "  reverse DNS: %s\n  forward-confirmed: %s\n", ptr, r.FCrDNS)
	default:
		fmt.Fprintf(&b, "domain %s", r.Domain)
		if !strings.EqualFold(strings.TrimSuffix(r.Target, "."), r.Domain) {
			fmt.Fprintf(&b, " (registrable domain of %s)", r.Target)
		}
		b.WriteString("\n")
	}
	if r.Err == nil && len(r.Results) == 0 {
		b.WriteString("  no lists configured for this kind of target\n")
	}
	for _, lr := range r.Results {
		fmt.Fprintf(&b, "  %-5s %-28s ", lr.Kind, lr.Zone)
		switch {
		case lr.Broken != "":
			fmt.Fprintf(&b, "BROKEN   fails its RFC 5782 self-test: %s", lr.Broken)
			if len(lr.Codes) > 0 {
				fmt.Fprintf(&b, "; its answer here (%s) is ignored", strings.Join(lr.Codes, ","))
			}
		case lr.Err != nil:
			fmt.Fprintf(&b, "ERROR    %v", lr.Err)
		case lr.Listed:
			fmt.Fprintf(&b, "LISTED   %s  %s %+.1f", strings.Join(lr.Codes, ","), lr.Symbol, lr.Score)
			if lr.TXT != "" {
				fmt.Fprintf(&b, "  %q", lr.TXT)
			}
		default:
			b.WriteString("not listed")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// plainDNSError says in plain words why a lookup failed, for a person
// reading the report: not Go's "lookup X on IP:port: ..." text.
func plainDNSError(err error) string {
	var de *net.DNSError
	switch {
	case errors.Is(err, dns.ErrResolverDown):
		return "DNS unavailable: the resolver is not answering"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &de) && de.IsTimeout:
		return "no answer from the DNS server in time"
	case errors.As(err, &de) && strings.HasPrefix(de.Err, "server misbehaving: "):
		return "the DNS server answered " + strings.TrimPrefix(de.Err, "server misbehaving: ")
	case errors.As(err, &de):
		return de.Err
	}
	return err.Error()
}
