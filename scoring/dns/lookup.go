package dns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"relayguard/internal/metrics"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
)

var _ Resolver = (*Client)(nil)

// records answers one question, turning a negative answer into the
// not-found error net.Resolver gives.
func (c *Client) records(ctx context.Context, name string, qtype uint16) ([]mdns.RR, error) {
	ans, err := c.lookup(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	if ans.notFound() {
		return nil, notFound(name)
	}
	return ans.records, nil
}

// LookupTXT returns the TXT records of name. The strings of one record are
// joined, as net.Resolver does (RFC 7208 §3.3 asks this of SPF).
func (c *Client) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := c.records(ctx, name, mdns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*mdns.TXT).Txt, ""))
	}
	return out, nil
}

// LookupMX returns the MX records of name, by preference. Hosts keep their
// trailing dot, as net.Resolver's do.
func (c *Client) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	rrs, err := c.records(ctx, name, mdns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, 0, len(rrs))
	for _, rr := range rrs {
		mx := rr.(*mdns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	slices.SortStableFunc(out, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	return out, nil
}

// LookupA returns the IPv4 addresses (A records) of name.
func (c *Client) LookupA(ctx context.Context, name string) ([]net.IP, error) {
	rrs, err := c.records(ctx, name, mdns.TypeA)
	if err != nil {
		return nil, err
	}
	out := make([]net.IP, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*mdns.A).A)
	}
	return out, nil
}

// LookupIPAddr returns the A and AAAA addresses of host, asked in parallel.
// An IP literal is returned as is. The name is not found only when both
// types are not found; when one type fails and the other has addresses,
// the addresses are returned (as net.Resolver does).
func (c *Client) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []net.IPAddr{{IP: net.IP(ip.AsSlice()), Zone: ip.Zone()}}, nil
	}
	type result struct {
		rrs []mdns.RR
		err error
	}
	aaaa := make(chan result, 1)
	go func() {
		rrs, err := c.records(ctx, host, mdns.TypeAAAA)
		aaaa <- result{rrs, err}
	}()
	a4, err4 := c.records(ctx, host, mdns.TypeA)
	a6 := <-aaaa

	var out []net.IPAddr
	for _, rr := range a4 {
		out = append(out, net.IPAddr{IP: rr.(*mdns.A).A})
	}
	for _, rr := range a6.rrs {
		out = append(out, net.IPAddr{IP: rr.(*mdns.AAAA).AAAA})
	}
	if len(out) > 0 {
		return out, nil
	}
	// Nothing found: not found only if both said so, else the failure.
	for _, err := range []error{err4, a6.err} {
		var de *net.DNSError
		if err != nil && !(errors.As(err, &de) && de.IsNotFound) {
			return nil, err
		}
	}
	return nil, notFound(host)
}

// LookupAddr returns the PTR names of addr (an IP address), with their
// trailing dot, as net.Resolver does.
func (c *Client) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	arpa, err := mdns.ReverseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	rrs, err := c.records(ctx, arpa, mdns.TypePTR)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return nil, notFound(addr)
		}
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*mdns.PTR).Ptr)
	}
	return out, nil
}

var _ Peeker = (*Client)(nil)

// peek answers from the cache only.
func (c *Client) peek(name string, qtype uint16) (*answer, bool) {
	fq, err := canonical(name)
	if err != nil {
		return nil, false
	}
	ans, ok := c.cache.get(fq+"/"+mdns.TypeToString[qtype], c.now())
	if ok {
		c.hits.Add(1)
		metrics.DNSCache(true)
	}
	return ans, ok
}

// PeekA is LookupA from the cache only.
func (c *Client) PeekA(name string) ([]net.IP, bool, error) {
	ans, ok := c.peek(name, mdns.TypeA)
	if !ok {
		return nil, false, nil
	}
	if ans.notFound() {
		return nil, true, notFound(name)
	}
	out := make([]net.IP, 0, len(ans.records))
	for _, rr := range ans.records {
		out = append(out, rr.(*mdns.A).A)
	}
	return out, true, nil
}

// PeekTXT is LookupTXT from the cache only.
func (c *Client) PeekTXT(name string) ([]string, bool, error) {
	ans, ok := c.peek(name, mdns.TypeTXT)
	if !ok {
		return nil, false, nil
	}
	if ans.notFound() {
		return nil, true, notFound(name)
	}
	out := make([]string, 0, len(ans.records))
	for _, rr := range ans.records {
		out = append(out, strings.Join(rr.(*mdns.TXT).Txt, ""))
	}
	return out, true, nil
}
