// Package access answers who may relay and whom we trust, in one place:
// whether a client may send to any domain (a relay network, or
// authenticated), whether an IP is a trusted relay whose Received fields we
// believe, whether a domain is one we accept mail for, and whether an IP is
// one of our own egress addresses.
//
// The SMTP front door (filter.Policy) asks it at RCPT; the sender checks
// (scoring/received, scoring/rdns, scoring/dnsbl, scoring/auth) ask it
// whom to trust or skip. It holds facts, not decisions about a message:
// what to do with an answer stays with the caller. It imports only the
// standard library, so every layer may use it.
package access

import (
	"net/netip"
	"slices"
	"strings"
)

// Options are the configured facts, as config reads them.
type Options struct {
	// RelayNetworks may send to any domain without authenticating.
	RelayNetworks []netip.Prefix
	// TrustedRelays are hops whose Received fields we believe (an Exim
	// forwarding mail to us).
	TrustedRelays []netip.Prefix
	// LocalDomains accept mail from anyone. They must already be in
	// ASCII (A-label) form, as mailaddr.ASCII gives; upper-case ASCII and
	// a trailing dot are tolerated.
	LocalDomains []string
	// EgressIPs are the addresses our outgoing mail leaves from.
	EgressIPs []netip.Addr
}

// List holds the access facts. The zero value and a nil *List grant
// nothing: no relay network, nobody trusted, no local domain.
type List struct {
	relay, trusted []netip.Prefix
	local          map[string]bool
	egress         []netip.Addr
}

// New builds a List. It copies its inputs: later changes to o's slices do
// not reach it.
func New(o Options) *List {
	l := &List{
		relay:   masked(o.RelayNetworks),
		trusted: masked(o.TrustedRelays),
		local:   make(map[string]bool, len(o.LocalDomains)),
	}
	for _, d := range o.LocalDomains {
		l.local[strings.ToLower(strings.TrimSuffix(d, "."))] = true
	}
	for _, ip := range o.EgressIPs {
		l.egress = append(l.egress, ip.Unmap())
	}
	return l
}

func masked(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Masked())
	}
	return out
}

// MayRelay tells whether a client may send to any domain: it has
// authenticated or is on a relay network.
func (l *List) MayRelay(ip netip.Addr, authenticated bool) bool {
	if authenticated {
		return true
	}
	return l != nil && Contains(l.relay, ip)
}

// Trusted tells whether ip is a trusted relay.
func (l *List) Trusted(ip netip.Addr) bool {
	return l != nil && Contains(l.trusted, ip)
}

// TrustedRelays are the trusted relay networks, for code that walks
// Received fields hop by hop (scoring/received). The caller must not
// modify the slice.
func (l *List) TrustedRelays() []netip.Prefix {
	if l == nil {
		return nil
	}
	return l.trusted
}

// IsLocalDomain tells whether domain is one we accept mail for. domain
// must be in ASCII form (mailaddr.ASCII): a non-ASCII name never matches,
// so a caller that forgot to convert fails closed rather than comparing
// with Unicode case folding (U+212A KELVIN SIGN is not k).
func (l *List) IsLocalDomain(domain string) bool {
	if l == nil {
		return false
	}
	for i := 0; i < len(domain); i++ {
		if domain[i] >= 0x80 {
			return false
		}
	}
	return l.local[strings.ToLower(domain)]
}

// IsEgress tells whether ip is one of our egress addresses.
func (l *List) IsEgress(ip netip.Addr) bool {
	return l != nil && ip.IsValid() && slices.Contains(l.egress, ip.Unmap())
}

// Contains tells whether ip is inside one of prefixes. An IPv4-mapped IPv6
// address (::ffff:192.0.2.1, as a dual-stack listener reports an IPv4
// client) counts as its IPv4 address; an invalid address is in nothing.
func Contains(prefixes []netip.Prefix, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
