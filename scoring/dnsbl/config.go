package dnsbl

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	"relayguard/rules/message"
	"relayguard/scoring/dns"
)

// DefaultMaxLookups is how many distinct domains and IPs of one message
// the URIBL check looks up at most (uribl.max_lookups).
const DefaultMaxLookups = 20

// Config is everything the checks of this package need. One Config is
// shared by the IP check, the URIBL check, the Monitor and Lookup.
type Config struct {
	Resolver dns.Resolver
	DNSBL    []List // [[dnsbl]]
	DNSWL    []List // [[dnswl]]
	URIBL    []List // [[uribl]]
	// MaxLookups caps the distinct domains and IPs of one message checked
	// against the URIBLs (each against every list); zero means
	// DefaultMaxLookups.
	MaxLookups int
	// Monitor, when set, switches off lists that fail their RFC 5782 §5
	// self-test.
	Monitor *Monitor
	// Links returns the link hosts of a message, one per link (repeats
	// count: the most frequent are checked first). Nil means the hosts of
	// (*message.Message).Links.
	Links func(*message.Message) []string
	Log   *slog.Logger
}

// compiled is a Config checked once.
type compiled struct {
	cfg   Config
	bl    []*list
	wl    []*list
	uri   []*list
	max   int
	links func(*message.Message) []string
	log   *slog.Logger
}

func (c Config) compile() (*compiled, error) {
	if c.Resolver == nil {
		return nil, errors.New("dnsbl: no resolver")
	}
	if c.MaxLookups < 0 {
		return nil, fmt.Errorf("dnsbl: max lookups %d is negative", c.MaxLookups)
	}
	out := &compiled{cfg: c, max: c.MaxLookups, links: c.Links, log: c.Log}
	if out.max == 0 {
		out.max = DefaultMaxLookups
	}
	if out.links == nil {
		out.links = linkHosts
	}
	if out.log == nil {
		out.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if out.bl, err = compileAll(c.DNSBL, kindBL); err != nil {
		return nil, err
	}
	if out.wl, err = compileAll(c.DNSWL, kindWL); err != nil {
		return nil, err
	}
	if out.uri, err = compileAll(c.URIBL, kindURI); err != nil {
		return nil, err
	}
	// Two lists with one symbol would hide each other in a verdict.
	seen := make(map[string]string)
	for _, l := range out.all() {
		sym := l.symbol(false)
		if z, dup := seen[sym]; dup {
			return nil, fmt.Errorf("dnsbl: %s and %s both make symbol %s; set name on one", z, l.display, sym)
		}
		seen[sym] = l.display
	}
	return out, nil
}

func (c *compiled) all() []*list {
	var all []*list
	all = append(all, c.bl...)
	all = append(all, c.wl...)
	return append(all, c.uri...)
}

// linkHosts is the default Config.Links: where each link goes (its Host,
// after any redirector it carries) and the redirectors on the way, since a
// spammer's own tracking host is as listable as the page it leads to.
func linkHosts(m *message.Message) []string {
	links := m.Links()
	hosts := make([]string, 0, len(links))
	for _, l := range links {
		for _, h := range l.Via {
			if h.Host != "" {
				hosts = append(hosts, h.Host)
			}
		}
		if l.Host != "" {
			hosts = append(hosts, l.Host)
		}
	}
	return hosts
}

// judgeable tells whether ip is worth asking a public list about: loopback,
// private and link-local addresses are never listed, and asking leaks our
// network's layout to the list.
func judgeable(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && ip.IsGlobalUnicast() && !ip.IsPrivate()
}
