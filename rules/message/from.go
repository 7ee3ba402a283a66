package message

import (
	"slices"
	"strings"

	"github.com/emersion/go-message/mail"

	"relayguard/internal/mailaddr"
)

// Bounds on a hostile From header.
const (
	// maxFromFields bounds the From fields parsed.
	maxFromFields = 5
	// MaxFromDomains bounds the distinct From domains kept, so no check
	// does per-domain work (DMARC lookups, URIBL queries) without limit.
	MaxFromDomains = 3
)

// From is what the RFC5322.From field(s) of a message say, read once per
// message: DMARC judges it, the URIBL check asks about its domains.
type From struct {
	// Fields is the number of From fields (RFC 5322 §3.6 allows one).
	Fields int
	// Domains are the distinct domains of the From addresses, normalised
	// (mailaddr.Normalize), in order, at most MaxFromDomains.
	Domains []string
	// Lenient tells that a field did not parse as RFC 5322 and a domain
	// was read from it the way a mail reader would still show it.
	Lenient bool
}

// From parses the From fields on first use. A field that is not valid
// RFC 5322 syntax is read leniently, because a receiver that gave up on
// it would let a spoofer skip DMARC by breaking the syntax in a way mail
// readers forgive.
func (m *Message) From() *From {
	m.fromOnce.Do(func() { m.from = parseFrom(m.Header.Values("From")) })
	return m.from
}

func parseFrom(values []string) *From {
	f := &From{Fields: len(values)}
	var buf [4]Address
	for _, v := range values[:min(len(values), maxFromFields)] {
		if plain, ok := appendPlainAddresses(buf[:0], v); ok {
			for _, a := range plain {
				f.addAddress(a.Addr)
			}
			continue
		}
		addrs, err := mail.ParseAddressList(v)
		if err != nil {
			if d := lenientFromDomain(v); d != "" {
				f.add(d)
				f.Lenient = true
			}
			continue
		}
		for _, a := range addrs {
			f.addAddress(a.Address)
		}
	}
	return f
}

// addAddress adds the domain of an address net/mail accepted.
func (f *From) addAddress(addr string) {
	if _, d, ok := mailaddr.Split(addr); ok {
		if d = mailaddr.Normalize(d); d != "" {
			f.add(d)
		}
	}
}

func (f *From) add(d string) {
	if len(f.Domains) < MaxFromDomains && !slices.Contains(f.Domains, d) {
		f.Domains = append(f.Domains, d)
	}
}

// lenientFromDomain finds the domain a mail reader would most likely show
// for a From value that does not parse: the domain of the last <...>
// address, or else the domain after the last '@'. It returns a normalised
// domain or "".
func lenientFromDomain(v string) string {
	if len(v) > 2048 {
		v = v[:2048]
	}
	if open := strings.LastIndexByte(v, '<'); open >= 0 {
		if end := strings.IndexByte(v[open:], '>'); end > 0 {
			if at := strings.LastIndexByte(v[open:open+end], '@'); at >= 0 {
				return mailaddr.Normalize(domainRun(v[open+at+1 : open+end]))
			}
		}
	}
	at := strings.LastIndexByte(v, '@')
	if at < 0 {
		return ""
	}
	return mailaddr.Normalize(domainRun(v[at+1:]))
}

// domainRun is the leading run of s that can be part of a domain name:
// ASCII letters, digits, '.', '-', '_' and any non-ASCII (U-labels).
func domainRun(s string) string {
	s = strings.TrimLeft(s, " \t")
	for i, r := range s {
		if !(r >= 0x80 || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' ||
			'0' <= r && r <= '9' || r == '.' || r == '-' || r == '_') {
			return s[:i]
		}
	}
	return s
}
