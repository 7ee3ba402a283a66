// Package mailaddr answers "what is this address?" in one place: where an
// address splits into local part and domain, the domain of an address, the
// registrable domain of a host (public suffix + 1), the ASCII (A-label)
// form domains are compared in, and whether an envelope address is one we
// may accept at MAIL FROM or RCPT TO (RFC 5321, RFC 6531), with a typed
// reason when not.
//
// The SMTP front door (filter) asks it to judge envelope paths, config asks
// it whether a configured domain is a domain, and the checks (rules,
// scoring/...) ask it for domains and registrable domains. It imports only
// the standard library and golang.org/x/net, so every layer may use it.
package mailaddr

import "strings"

// Split splits an address at its last @: a quoted local part may hold an
// @ of its own (go-smtp hands "a@b"@c over unquoted as a@b@c), a domain
// never does. Both parts must be non-empty.
func Split(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", false
	}
	return addr[:i], addr[i+1:], true
}

// Domain is the domain of an address, ASCII letters lower-cased, or "" when
// there is none (the null sender, a bare local part). Only ASCII is
// folded: Unicode case folding would turn U+212A KELVIN SIGN into k, which
// is not how domain names compare (see ASCII).
func Domain(addr string) string {
	_, d, ok := Split(addr)
	if !ok {
		return ""
	}
	return lowerASCII(d)
}

// lowerASCII lower-cases the ASCII letters of s and leaves other bytes be.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
