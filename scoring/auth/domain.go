package auth

import (
	"net/netip"
	"strings"

	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/idna"

	"relayguard/internal/mailaddr"
)

// normDomain returns d in the form we compare and query: ASCII (A-labels),
// lower case, no trailing dot. It returns "" for a name that is not a
// usable multi-label domain (RFC 7208 §4.3: such a domain gets "none"; the
// same test serves DMARC's From domain and DKIM's d=).
func normDomain(d string) string {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" {
		return ""
	}
	if !isASCII(d) {
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			return ""
		}
		d = a
	}
	d = strings.ToLower(d)
	if !validDomain(d) {
		return ""
	}
	return d
}

// validDomain checks a lower-case ASCII name: at most 253 octets, at least
// two labels of 1 to 63 letters, digits, '-' or '_', and not an address
// literal (RFC 7208 §4.3, RFC 1035 §2.3.4).
func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	// A numeric top-level label is never a host name (RFC 3696 §2): it
	// is an address written without brackets, like 192.0.2.1.5.
	tld := d[strings.LastIndexByte(d, '.')+1:]
	return strings.Trim(tld, "0123456789") != ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// orgDomain is the organisational domain of a normalised domain (RFC 7489
// §3.2), mailaddr's registrable domain. A name that is itself a public
// suffix is its own organisational domain.
func orgDomain(d string) string {
	if org, ok := mailaddr.Registrable(d); ok {
		return org
	}
	return d
}

// aligned reports identifier alignment of an authenticated domain with the
// From domain (RFC 7489 §3.1): strict wants the same name, relaxed the same
// organisational domain. Both are normalised.
func aligned(authDomain, fromDomain string, mode dmarc.AlignmentMode) bool {
	if authDomain == "" || fromDomain == "" {
		return false
	}
	if authDomain == fromDomain {
		return true
	}
	if mode == dmarc.AlignmentStrict {
		return false
	}
	return orgDomain(authDomain) == orgDomain(fromDomain)
}
