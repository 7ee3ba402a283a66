package dnsbl

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"

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
	// "mismatch", "error: ...").
	PTR    []string
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
	// Disabled is why the monitor has switched the list off ("" if on); a
	// disabled list is still asked here.
	Disabled string
	Err      error
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
			case err != nil:
				rep.FCrDNS = "error: " + err.Error()
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
			g := l.lookup(ctx, cfg.Resolver, query)
			r := ListResult{Kind: l.kind.String(), Zone: l.display, Symbol: l.symbol(false),
				Listed: g.listed(), TXT: g.txt, Err: g.err, Disabled: cfg.Monitor.disabledReason(l)}
			for _, code := range g.codes {
				r.Codes = append(r.Codes, code.String())
			}
			r.Score, _ = l.weigh(g.codes, false)
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
		ptr := "none"
		if len(r.PTR) > 0 {
			ptr = strings.Join(r.PTR, ", ")
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
		if lr.Disabled != "" {
			fmt.Fprintf(&b, "  [list disabled: %s]", lr.Disabled)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
