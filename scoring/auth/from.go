package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"relayguard/internal/mailaddr"
)

// maxFromFields bounds the From fields parsed in a hostile header.
const maxFromFields = 5

// fromInfo is what DMARC needs of the RFC5322.From field (RFC 7489 §6.6.1).
type fromInfo struct {
	// domains are the distinct normalised domains of the From addresses,
	// at most maxFromDomains.
	domains []string
	// problem is a symbol name when the field is missing, repeated, names
	// several domains or is malformed; detail explains it.
	problem, detail string
}

// parseFrom reads the From field(s) of h. A field that is not valid
// RFC 5322 syntax is read leniently (lenientFromDomain), because a
// receiver that gave up on it would let a spoofer skip DMARC by breaking
// the syntax in a way mail readers forgive.
func parseFrom(h *textproto.Header) fromInfo {
	values := h.Values("From")
	if len(values) == 0 {
		return fromInfo{problem: SymDMARCNoFrom, detail: "message has no From header field"}
	}
	var fi fromInfo
	lenient := false
	for _, v := range values[:min(len(values), maxFromFields)] {
		addrs, err := mail.ParseAddressList(v)
		if err != nil {
			if d := lenientFromDomain(v); d != "" {
				fi.add(d)
				lenient = true
			}
			continue
		}
		for _, ad := range addrs {
			if d := normDomain(mailaddr.Domain(ad.Address)); d != "" {
				fi.add(d)
			}
		}
	}
	switch {
	case len(fi.domains) == 0:
		fi.problem, fi.detail = SymDMARCNoFrom, "From header field names no usable domain"
	case len(values) > 1:
		// RFC 5322 §3.6 allows one From field. Two let a spoofer pass
		// DMARC on one while the mail reader shows the other.
		fi.problem, fi.detail = SymDMARCMultiFrom, fmt.Sprintf("message has %d From header fields", len(values))
	case len(fi.domains) > 1:
		fi.problem, fi.detail = SymDMARCMultiFrom, fmt.Sprintf("From header field names addresses in %d domains", len(fi.domains))
	case lenient:
		fi.problem, fi.detail = SymDMARCBadFrom, "From header field is not valid RFC 5322 syntax"
	}
	return fi
}

func (fi *fromInfo) add(d string) {
	if len(fi.domains) < maxFromDomains && !slices.Contains(fi.domains, d) {
		fi.domains = append(fi.domains, d)
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
				return normDomain(domainRun(v[open+at+1 : open+end]))
			}
		}
	}
	at := strings.LastIndexByte(v, '@')
	if at < 0 {
		return ""
	}
	return normDomain(domainRun(v[at+1:]))
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
