package rdns

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"

	"relayguard/internal/access"
	"relayguard/scoring"
	"relayguard/scoring/dns"
)

// DefaultScores returns a fresh map of every scored symbol of this package
// to its default score. They are modest on purpose: plenty of legitimate
// small servers have no or a broken reverse DNS, or a sloppy HELO, and none
// of these alone (nor a sloppy server's usual pair, RDNS_NONE and
// HELO_NOT_FQDN: 3.0) reaches the add_header threshold of 6. They tip the
// balance when content or blocklists already point at spam. For
// comparison, SpamAssassin gives RDNS_NONE 0.8 and rspamd's hfilter 1.5 to
// 4.5 for its HELO checks. Claiming to be us is the one strong signal: no
// honest client does it. The _TEMPFAIL symbols always score 0.
func DefaultScores() map[string]float64 {
	return map[string]float64{
		SymRDNSNone:      1.5,
		SymRDNSMismatch:  1.0,
		SymHeloBareIP:    2.0,
		SymHeloNotFQDN:   1.5,
		SymHeloOurs:      5.0,
		SymHeloNoResolve: 0.5,
	}
}

// Symbol names. On a Received hop (forwarded mail) they carry the prefix
// HopPrefix: RCVD_RDNS_NONE.
const (
	SymRDNSNone      = "RDNS_NONE"
	SymRDNSMismatch  = "RDNS_MISMATCH"
	SymRDNSTempfail  = "RDNS_TEMPFAIL"
	SymHeloBareIP    = "HELO_BARE_IP"
	SymHeloNotFQDN   = "HELO_NOT_FQDN"
	SymHeloOurs      = "HELO_OURS"
	SymHeloNoResolve = "HELO_NO_RESOLVE"
	SymHeloTempfail  = "HELO_TEMPFAIL"

	HopPrefix = "RCVD_"
)

// Options configures the rDNS and HELO checks.
type Options struct {
	Resolver dns.Resolver
	// Trusted are relays whose connections are not judged here (their
	// original hop is, by scoring/received).
	Trusted []netip.Prefix
	// OurNames and OurIPs are this server's names and addresses: a client
	// that claims them in HELO is lying.
	OurNames []string
	OurIPs   []netip.Addr
	// MaxNames bounds the PTR names followed; zero means DefaultMaxNames.
	MaxNames int
	// Scores overrides default scores by symbol name (RDNS_NONE; the
	// RCVD_ variants follow their base symbol). An unknown name is an
	// error, so a typo cannot pass silently.
	Scores map[string]float64
}

func (o *Options) check() (map[string]float64, error) {
	if o.Resolver == nil {
		return nil, errors.New("rdns: no resolver")
	}
	if o.MaxNames < 0 {
		return nil, fmt.Errorf("rdns: max names %d is negative", o.MaxNames)
	}
	scores := DefaultScores()
	var unknown []string
	for name, v := range o.Scores {
		if _, ok := scores[name]; !ok {
			unknown = append(unknown, name)
			continue
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("rdns: score of %s is not a number", name)
		}
		scores[name] = v
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("rdns: unknown symbols in scores: %s", strings.Join(unknown, ", "))
	}
	return scores, nil
}

// skipClient tells whether the connect-phase checks leave this connection
// alone: no address (offline checks), a trusted relay, or an authenticated
// user (a laptop on a home line has neither reverse DNS nor a real HELO
// name, and is no spammer for it).
func skipClient(in *scoring.Input, trusted []netip.Prefix) bool {
	return !in.ClientIP.IsValid() || in.AuthUser != "" || access.Contains(trusted, in.ClientIP)
}

// judgeable tells whether ip is worth asking the DNS about: loopback,
// private and link-local addresses have no meaningful public reverse DNS.
func judgeable(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && ip.IsGlobalUnicast() && !ip.IsPrivate()
}

// subject is how details name the judged IP: just the IP for the client,
// "IP (why)" for a Received hop.
func subject(ip netip.Addr, via string) string {
	if via == "" {
		return ip.Unmap().String()
	}
	return fmt.Sprintf("%s (%s)", ip.Unmap(), via)
}

func symName(name, via string) string {
	if via == "" {
		return name
	}
	return HopPrefix + name
}

// RDNSCheck is the forward-confirmed reverse DNS check ("rdns").
type RDNSCheck struct {
	opts   Options
	scores map[string]float64
}

// NewRDNS makes the rDNS check.
func NewRDNS(opts Options) (*RDNSCheck, error) {
	s, err := opts.check()
	if err != nil {
		return nil, err
	}
	return &RDNSCheck{opts: opts, scores: s}, nil
}

func (c *RDNSCheck) Name() string         { return "rdns" }
func (c *RDNSCheck) Phase() scoring.Phase { return scoring.PhaseConnect }

// Run judges the client IP.
func (c *RDNSCheck) Run(ctx context.Context, in *scoring.Input) scoring.Result {
	if skipClient(in, c.opts.Trusted) {
		return scoring.Result{}
	}
	return c.Judge(ctx, in.ClientIP, "")
}

// Judge checks ip. via is empty for the client of this connection, and for
// a Received hop says why that IP was chosen ("first untrusted hop, via
// trusted relay 127.0.0.1"): the symbols then get the RCVD_ prefix and the
// detail names the reason. Value is the FCrDNSResult.
func (c *RDNSCheck) Judge(ctx context.Context, ip netip.Addr, via string) scoring.Result {
	if !judgeable(ip) {
		return scoring.Result{}
	}
	res, err := FCrDNS(ctx, c.opts.Resolver, ip, c.opts.MaxNames)
	out := scoring.Result{Value: res}
	who := subject(ip, via)
	switch {
	case err != nil:
		out.Err = err
		out.Symbols = []scoring.Symbol{{Name: symName(SymRDNSTempfail, via), Detail: fmt.Sprintf("reverse DNS of %s could not be checked", who)}}
	case res.Status == StatusNone:
		out.Symbols = []scoring.Symbol{{Name: symName(SymRDNSNone, via), Score: c.scores[SymRDNSNone],
			Detail: fmt.Sprintf("%s has no reverse DNS (PTR) name", who)}}
	case res.Status == StatusMismatch:
		out.Symbols = []scoring.Symbol{{Name: symName(SymRDNSMismatch, via), Score: c.scores[SymRDNSMismatch],
			Detail: fmt.Sprintf("reverse DNS name %s of %s does not resolve back to it", res.Names[0], who)}}
	}
	return out
}

// HELOCheck judges the HELO/EHLO name ("helo").
type HELOCheck struct {
	opts   Options
	scores map[string]float64
	names  map[string]bool
}

// NewHELO makes the HELO check.
func NewHELO(opts Options) (*HELOCheck, error) {
	s, err := opts.check()
	if err != nil {
		return nil, err
	}
	c := &HELOCheck{opts: opts, scores: s, names: make(map[string]bool)}
	for _, n := range opts.OurNames {
		n = normalName(n)
		if n == "" {
			return nil, errors.New("rdns: empty name in our names")
		}
		c.names[n] = true
	}
	return c, nil
}

func (c *HELOCheck) Name() string         { return "helo" }
func (c *HELOCheck) Phase() scoring.Phase { return scoring.PhaseConnect }

// Run judges the client's HELO name.
func (c *HELOCheck) Run(ctx context.Context, in *scoring.Input) scoring.Result {
	// A host on our own network (private, loopback) is not judged by
	// the name it gives, as it is not judged by its reverse DNS.
	if skipClient(in, c.opts.Trusted) || in.Helo == "" || !judgeable(in.ClientIP) {
		return scoring.Result{}
	}
	return c.Judge(ctx, in.Helo, in.ClientIP, "")
}

func normalName(s string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
}

// Judge checks helo, given by the client at ip. via is as for
// RDNSCheck.Judge.
func (c *HELOCheck) Judge(ctx context.Context, helo string, ip netip.Addr, via string) scoring.Result {
	h := normalName(helo)
	if h == "" {
		return scoring.Result{}
	}
	shown := helo
	if len(shown) > 100 {
		shown = shown[:100] + "..."
	}
	who := ""
	if ip.IsValid() {
		who = " from " + subject(ip, via)
	}
	sym := func(name string, score float64, format string, args ...any) scoring.Result {
		return scoring.Result{Symbols: []scoring.Symbol{{
			Name: symName(name, via), Score: score, Detail: fmt.Sprintf(format, args...) + who,
		}}}
	}

	// RFC 5321 §4.1.3: an address literal is written in brackets and is a
	// legitimate HELO argument; a bare IP is not.
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		lit := strings.TrimPrefix(h[1:len(h)-1], "ipv6:")
		if a, err := netip.ParseAddr(lit); err == nil && c.ours(a) {
			return sym(SymHeloOurs, c.scores[SymHeloOurs], "HELO %s claims to be this server", shown)
		}
		return scoring.Result{}
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if c.ours(a) {
			return sym(SymHeloOurs, c.scores[SymHeloOurs], "HELO %s claims to be this server", shown)
		}
		return sym(SymHeloBareIP, c.scores[SymHeloBareIP], "HELO %s is a bare IP address, not a name or [address literal]", shown)
	}
	if c.names[h] {
		return sym(SymHeloOurs, c.scores[SymHeloOurs], "HELO %s claims to be this server", shown)
	}
	// RFC 5321 §4.1.1.1: the argument is the client's fully qualified
	// domain name. "localhost", "WIN-4ABC123" and "mail.local" are not.
	if !fqdn(h) {
		return sym(SymHeloNotFQDN, c.scores[SymHeloNotFQDN], "HELO %s is not a fully qualified domain name", shown)
	}
	_, err := c.opts.Resolver.LookupIPAddr(ctx, h)
	switch {
	case err == nil:
		return scoring.Result{}
	case isNotFound(err):
		return sym(SymHeloNoResolve, c.scores[SymHeloNoResolve], "HELO %s does not resolve", shown)
	default:
		r := sym(SymHeloTempfail, 0, "HELO %s could not be resolved", shown)
		r.Err = fmt.Errorf("helo %s: %w", h, err)
		return r
	}
}

func (c *HELOCheck) ours(a netip.Addr) bool {
	a = a.Unmap()
	for _, o := range c.opts.OurIPs {
		if o.Unmap() == a {
			return true
		}
	}
	return false
}

// notPublic are suffixes of names that exist only inside a network
// (RFC 6761 §6.3 localhost, RFC 6762 .local, and the habits of routers and
// Windows domains).
var notPublic = []string{".localhost", ".local", ".localdomain", ".lan", ".home", ".internal", ".invalid", ".test", ".example"}

// fqdn tells whether h (lower case, no trailing dot) looks like a fully
// qualified public domain name: at least two labels, valid characters,
// an alphabetic top-level label, not a local-only suffix.
func fqdn(h string) bool {
	if len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			ch := l[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return false
			}
		}
	}
	// Top-level labels are alphabetic, or an IDN's xn-- form.
	if tld := labels[len(labels)-1]; !strings.HasPrefix(tld, "xn--") {
		for i := 0; i < len(tld); i++ {
			if tld[i] < 'a' || tld[i] > 'z' {
				return false
			}
		}
	}
	for _, s := range notPublic {
		if strings.HasSuffix("."+h, s) {
			return false
		}
	}
	return true
}
