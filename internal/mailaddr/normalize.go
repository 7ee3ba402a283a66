package mailaddr

import (
	"strings"

	"golang.org/x/net/idna"
)

// Normalize returns a domain found in a message or a DNS record (a From
// domain, a DKIM d=, an SPF MAIL FROM or HELO name) in the form it is
// compared and queried in: ASCII (A-labels), lower case, no trailing dot.
// Unlike ASCII, it maps U-labels the way a mail reader or a resolver would
// (UTS #46 lookup), since what matters there is the name the reader shows
// and the DNS answers for. It returns "" for a name that is not a usable
// multi-label domain (RFC 7208 §4.3: such a domain gets "none"; the same
// test serves DMARC's From domain and DKIM's d=).
func Normalize(d string) string {
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
	if !hostName(d) {
		return ""
	}
	return d
}

// hostName checks a lower-case ASCII name: at most 253 octets, at least
// two labels of 1 to 63 letters, digits, '-' or '_', and not an address
// literal (RFC 7208 §4.3, RFC 1035 §2.3.4).
func hostName(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	// No netip.ParseAddr to refuse an address literal (it allocated an
	// error for every name, two of a rule evaluation's allocations): an
	// IPv6 address has a ':', refused with the labels, and an IPv4 one
	// ends in a numeric label, refused below (FuzzHostName).
	for label := range strings.SplitSeq(d, ".") {
		if len(label) == 0 || len(label) > maxLabel {
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
