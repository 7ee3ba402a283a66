// Package dnsbl asks DNS blocklists and allowlists (RFC 5782) about the
// client IP, the original hop of forwarded mail, and the domains and IPs a
// message links to (URIBL), and keeps an eye on the lists themselves.
package dnsbl

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
	"golang.org/x/net/publicsuffix"

	"relayguard/internal/mailaddr"
)

// List is one DNS list as configured: a [[dnsbl]], [[dnswl]] or [[uribl]]
// entry.
type List struct {
	// Zone is the list's DNS zone ("zen.spamhaus.org"). A Spamhaus DQS zone
	// ("KEY.zen.dq.spamhaus.net") is shown without its key in symbols,
	// details and logs.
	Zone string
	// Weight is the score of a listing whose return code is not in Codes:
	// positive for blocklists, negative for allowlists.
	Weight float64
	// Codes weighs return codes one by one ("127.0.0.10": 0). With
	// Bitmask, each key is a bit: an answer 127.0.0.24 matches the keys
	// 127.0.0.8 and 127.0.0.16.
	Codes map[string]float64
	// Policy names the return codes that mean "end-user policy": the IP is
	// a dynamic or residential address that should not send mail directly
	// (Spamhaus PBL, 127.0.0.10 and .11). That is evidence against a
	// client connecting to us, but none against a hop that handed mail to
	// its provider's relay, so on a Received hop they weigh nothing.
	Policy []string
	// Name is the symbol suffix (DNSBL_<Name>); by default derived from the
	// zone without its top-level domain: zen.spamhaus.org gives
	// ZEN_SPAMHAUS.
	Name string
	// Bitmask reads the return codes as bit fields (SURBL multi, URIBL
	// multi: 127.0.0.x with one bit per sub-list).
	Bitmask bool
	// Test is the entry RFC 5782 §5 says must be listed: 127.0.0.2 for IP
	// lists and "test" for domain lists unless set (Spamhaus DBL uses
	// "dbltest.com").
	Test string
}

// kind is what a list is asked about and how it counts.
type kind int

const (
	kindBL  kind = iota // IP blocklist, [[dnsbl]]
	kindWL              // IP allowlist, [[dnswl]]
	kindURI             // domain blocklist, [[uribl]]
)

func (k kind) String() string {
	return [...]string{"dnsbl", "dnswl", "uribl"}[k]
}

func (k kind) prefix() string {
	return [...]string{"DNSBL_", "DNSWL_", "URIBL_"}[k]
}

// list is a List checked and made ready to query.
type list struct {
	List
	kind    kind
	zone    string // canonical: lower case, no trailing dot
	display string // zone as shown (DQS key removed)
	name    string // symbol suffix
	codes   map[netip.Addr]float64
	masks   []maskCode // with Bitmask
	policy  map[netip.Addr]bool
}

type maskCode struct {
	bits   uint32 // low 24 bits of the code
	weight float64
}

// compile checks l and prepares it.
func compile(l List, k kind) (*list, error) {
	zone := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(l.Zone), "."))
	if zone == "" {
		return nil, fmt.Errorf("%s: empty zone", k)
	}
	if _, ok := mdns.IsDomainName(zone); !ok || strings.Contains(zone, "..") {
		return nil, fmt.Errorf("%s %s: not a domain name", k, zone)
	}
	c := &list{List: l, kind: k, zone: zone, display: displayZone(zone),
		codes: make(map[netip.Addr]float64), policy: make(map[netip.Addr]bool)}
	c.name = l.Name
	if c.name == "" {
		c.name = deriveName(c.display)
	}
	c.name = strings.ToUpper(c.name)
	for _, r := range c.name {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return nil, fmt.Errorf("%s %s: name %q: want letters, digits and _", k, c.display, l.Name)
		}
	}
	if err := checkWeight(k, l.Weight); err != nil {
		return nil, fmt.Errorf("%s %s: weight: %w", k, c.display, err)
	}
	for code, w := range l.Codes {
		a, err := parseCode(code)
		if err != nil {
			return nil, fmt.Errorf("%s %s: code %q: %w", k, c.display, code, err)
		}
		if err := checkWeight(k, w); err != nil {
			return nil, fmt.Errorf("%s %s: code %s: %w", k, c.display, code, err)
		}
		if l.Bitmask {
			b := a.As4()
			bits := uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			if bits == 0 {
				return nil, fmt.Errorf("%s %s: code %s has no bit set", k, c.display, code)
			}
			c.masks = append(c.masks, maskCode{bits: bits, weight: w})
		} else {
			c.codes[a] = w
		}
	}
	slices.SortFunc(c.masks, func(a, b maskCode) int { return int(a.bits) - int(b.bits) })
	for _, code := range l.Policy {
		a, err := parseCode(code)
		if err != nil {
			return nil, fmt.Errorf("%s %s: policy code %q: %w", k, c.display, code, err)
		}
		c.policy[a] = true
	}
	return c, nil
}

// checkWeight refuses weights of the wrong sign for the kind of list: a
// "weight" means the same thing in every block, and an allowlist that adds
// to the score is a typo.
func checkWeight(k kind, w float64) error {
	switch {
	case math.IsNaN(w) || math.IsInf(w, 0):
		return errors.New("not a number")
	case k == kindWL && w > 0:
		return fmt.Errorf("%g: an allowlist weighs zero or less", w)
	case k != kindWL && w < 0:
		return fmt.Errorf("%g: a blocklist weighs zero or more", w)
	}
	return nil
}

// parseCode reads a return code: an IPv4 address in 127.0.0.0/8 (RFC 5782
// §2.1).
func parseCode(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || !a.Is4() {
		return netip.Addr{}, errors.New("want an IPv4 address")
	}
	if a.As4()[0] != 127 {
		return netip.Addr{}, errors.New("return codes are in 127.0.0.0/8")
	}
	return a, nil
}

// displayZone hides the access key of a Spamhaus Data Query Service zone
// ("KEY.zen.dq.spamhaus.net"): the zone ends up in SMTP replies and
// headers, and the key is a secret.
func displayZone(zone string) string {
	for _, dq := range []string{".dq.spamhaus.net", ".dq.spamhaus.com"} {
		if strings.HasSuffix(zone, dq) {
			labels := strings.Split(strings.TrimSuffix(zone, dq), ".")
			if len(labels) >= 2 {
				return strings.Join(labels[1:], ".") + dq
			}
		}
	}
	return zone
}

// deriveName makes a symbol suffix from a zone: its labels but the public
// suffix, upper case, joined by '_' (zen.spamhaus.org: ZEN_SPAMHAUS). Keeping
// the organisation's label keeps multi.surbl.org and multi.uribl.com apart.
func deriveName(zone string) string {
	base := zone
	if ps, _ := publicsuffix.PublicSuffix(zone); ps != "" && ps != zone {
		base = strings.TrimSuffix(zone, "."+ps)
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(base) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// symbol is the symbol name of a listing on l; hop for a Received hop.
func (l *list) symbol(hop bool) string {
	s := l.kind.prefix() + l.name
	if hop {
		s = HopPrefix + s
	}
	return s
}

// ipSymbol is the symbol of an IP-literal link listed on IP list l.
func (l *list) ipSymbol() string { return "URIBL_IP_" + l.name }

// testEntry is the RFC 5782 §5 entry that must be listed.
func (l *list) testEntry() string {
	if l.Test != "" {
		return l.Test
	}
	if l.kind == kindURI {
		return "test"
	}
	return "127.0.0.2"
}

// absentEntry is the RFC 5782 §5 entry that must not be listed.
func (l *list) absentEntry() string {
	if l.kind == kindURI {
		return "invalid"
	}
	return "127.0.0.1"
}

// HopPrefix starts the names of symbols about a Received hop rather than the
// client: RCVD_DNSBL_ZEN_SPAMHAUS.
const HopPrefix = "RCVD_"

// queryName is the name asked for target on l: the IP reversed (RFC 5782
// §2.1 for IPv4 octets, §2.4 for IPv6 nibbles) or the domain (§2.3), under
// the zone.
func (l *list) queryName(target string) (string, error) {
	if ip, err := mailaddr.ParseIP(target); err == nil {
		return reverseIP(ip) + "." + l.zone, nil
	}
	name := strings.ToLower(strings.TrimSuffix(target, ".")) + "." + l.zone
	if _, ok := mdns.IsDomainName(name); !ok || len(name) > 253 {
		return "", fmt.Errorf("%q is not a domain name", target)
	}
	return name, nil
}

// reverseIP writes ip the way DNSBLs index it: IPv4 octets reversed
// (203.0.113.7 → 7.113.0.203), IPv6 as 32 reversed nibbles.
func reverseIP(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		b := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d", b[3], b[2], b[1], b[0])
	}
	const hex = "0123456789abcdef"
	b := ip.As16()
	out := make([]byte, 0, 63)
	for i := 15; i >= 0; i-- {
		out = append(out, hex[b[i]&0xf], '.', hex[b[i]>>4], '.')
	}
	return string(out[:len(out)-1])
}

// compileAll compiles the lists of one kind.
func compileAll(ls []List, k kind) ([]*list, error) {
	out := make([]*list, 0, len(ls))
	for _, l := range ls {
		c, err := compile(l, k)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
