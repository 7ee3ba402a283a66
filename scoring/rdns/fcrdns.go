// Package rdns judges who a client says it is: forward-confirmed reverse
// DNS of its IP, and the name it gave in HELO/EHLO. Both run on the client
// at connect, and on the original hop of forwarded mail at end of DATA
// (see scoring/received).
package rdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"relayguard/scoring/dns"
)

// Status is the outcome of a forward-confirmed reverse DNS check.
type Status int

const (
	// StatusNone: the IP has no PTR record.
	StatusNone Status = iota
	// StatusMismatch: it has PTR names, but none resolves back to the IP.
	StatusMismatch
	// StatusPass: a PTR name resolves back to the IP (Confirmed names it).
	StatusPass
)

func (s Status) String() string {
	switch s {
	case StatusNone:
		return "none"
	case StatusMismatch:
		return "mismatch"
	case StatusPass:
		return "pass"
	}
	return "unknown"
}

// FCrDNSResult is what FCrDNS found.
type FCrDNSResult struct {
	IP     netip.Addr
	Status Status
	// Names are the PTR names, without the trailing dot.
	Names []string
	// Confirmed is the first name whose A/AAAA records hold IP.
	Confirmed string
}

// DefaultMaxNames bounds the PTR names followed forward: an IP with dozens
// of PTR records (shared hosting) must not cost dozens of lookups.
const DefaultMaxNames = 5

// FCrDNS looks up the PTR names of ip and then the addresses of each (up to
// maxNames, in parallel), to find one that points back to ip ("forward-
// confirmed reverse DNS", RFC 8601 §3 iprev). It returns an error, and no
// verdict, when a lookup failed and no name was confirmed: a resolver in
// trouble is no evidence against the sender.
func FCrDNS(ctx context.Context, r dns.Resolver, ip netip.Addr, maxNames int) (FCrDNSResult, error) {
	ip = ip.Unmap()
	res := FCrDNSResult{IP: ip}
	if maxNames <= 0 {
		maxNames = DefaultMaxNames
	}
	ptrs, err := r.LookupAddr(ctx, ip.String())
	if err != nil {
		if isNotFound(err) {
			return res, nil
		}
		return res, fmt.Errorf("rdns %s: PTR: %w", ip, err)
	}
	for _, p := range ptrs {
		if name := strings.TrimSuffix(p, "."); name != "" {
			res.Names = append(res.Names, name)
		}
	}
	if len(res.Names) == 0 {
		return res, nil
	}
	names := res.Names[:min(len(res.Names), maxNames)]
	confirmed := make([]bool, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			addrs, err := r.LookupIPAddr(ctx, name)
			if err != nil && !isNotFound(err) {
				errs[i] = fmt.Errorf("rdns %s: %s: %w", ip, name, err)
			}
			for _, a := range addrs {
				if fa, ok := netip.AddrFromSlice(a.IP); ok && fa.Unmap() == ip {
					confirmed[i] = true
				}
			}
		})
	}
	wg.Wait()
	for i, ok := range confirmed {
		if ok {
			res.Status, res.Confirmed = StatusPass, names[i]
			return res, nil
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	res.Status = StatusMismatch
	return res, nil
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
