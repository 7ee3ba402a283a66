package mailaddr

import (
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// RFC 5321 §4.5.3.1.2: a domain is at most 255 octets; RFC 1035 §2.3.4: a
// label at most 63.
const (
	maxDomain = 255
	maxLabel  = 63
)

// idnaProfile checks labels against IDNA2008 (RFC 5891) without the UTS #46
// mapping step: a name is accepted as written or not at all. Lookup-style
// mapping would turn U+212A KELVIN SIGN into k and "Straße" into
// "strasse"; a mail domain compared after such mapping matches a local
// domain while the original bytes go on to the next hop.
var idnaProfile = idna.Registration

// ASCII returns the form domains are compared in: A-labels (RFC 5890
// §2.3.2.1), lower case. ASCII letters may come in any case (RFC 5321
// §2.4: domains are case-insensitive); a U-label must be a valid IDNA2008
// label in its canonical form (lower case, NFC), and an A-label must decode
// to one, so nothing is silently mapped. Address literals are not domains;
// see Parse.
func ASCII(domain string) (string, error) {
	if domain == "" {
		return "", &Error{Reason: ReasonDomainSyntax}
	}
	if len(domain) > maxDomain {
		return "", &Error{Reason: ReasonDomainTooLong}
	}
	labels := strings.Split(domain, ".")
	for i, label := range labels {
		a, err := asciiLabel(label)
		if err != nil {
			return "", err
		}
		labels[i] = a
	}
	out := strings.Join(labels, ".")
	if len(out) > maxDomain {
		return "", &Error{Reason: ReasonDomainTooLong}
	}
	return out, nil
}

// ValidDomain tells whether d is a domain name ASCII accepts (no trailing
// dot: RFC 5321 Domain syntax has none).
func ValidDomain(d string) bool {
	_, err := ASCII(d)
	return err == nil
}

// asciiLabel is one label of ASCII.
func asciiLabel(label string) (string, error) {
	if label == "" {
		return "", &Error{Reason: ReasonDomainSyntax} // leading, trailing or double dot
	}
	label = lowerASCII(label)
	if !isASCII(label) {
		a, err := idnaProfile.ToASCII(label)
		if err != nil {
			return "", &Error{Reason: ReasonNotIDNA}
		}
		// Canonical form: the label must be what its A-label decodes to.
		if u, err := idnaProfile.ToUnicode(a); err != nil || u != label {
			return "", &Error{Reason: ReasonNotIDNA}
		}
		if !ldh(a) {
			return "", &Error{Reason: ReasonNotIDNA}
		}
		return a, nil
	}
	if !ldh(label) {
		return "", &Error{Reason: ReasonDomainSyntax}
	}
	if strings.HasPrefix(label, "xn--") {
		// An A-label must decode to a valid U-label and encode back to
		// itself (RFC 5891 §5.4), or it is a name no registry issued.
		u, err := idnaProfile.ToUnicode(label)
		if err != nil {
			return "", &Error{Reason: ReasonNotIDNA}
		}
		if a, err := idnaProfile.ToASCII(u); err != nil || a != label {
			return "", &Error{Reason: ReasonNotIDNA}
		}
	}
	return label, nil
}

// ldh checks an ASCII label: 1 to 63 letters, digits and hyphens, not
// starting or ending with a hyphen (RFC 5321 §4.1.2 sub-domain). Other
// ASCII labels keep RFC 5321's freedom ("ab--cd" is fine); only xn--
// labels are held to IDNA.
func ldh(label string) bool {
	if label == "" || len(label) > maxLabel || label[0] == '-' || label[len(label)-1] == '-' {
		return false
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidAddressLiteral checks an RFC 5321 §4.1.3 address literal as it
// stands in a domain position: [IPv4] or [IPv6:...].
func ValidAddressLiteral(d string) bool {
	inner, ok := strings.CutPrefix(d, "[")
	if !ok {
		return false
	}
	inner, ok = strings.CutSuffix(inner, "]")
	if !ok {
		return false
	}
	if v6, ok := strings.CutPrefix(inner, "IPv6:"); ok {
		a, err := netip.ParseAddr(v6)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	a, err := netip.ParseAddr(inner)
	return err == nil && a.Is4()
}

// Registrable is the registrable domain of a host: the public suffix plus
// one label (example.co.uk for www.mail.example.co.uk), by the Public
// Suffix List compiled into golang.org/x/net/publicsuffix. RFC 7489 §3.2
// calls it the organisational domain. ASCII letters are lower-cased and a
// trailing dot dropped first. It reports false for a name with no
// registrable part: a public suffix itself, an empty or malformed name.
func Registrable(host string) (string, bool) {
	host = lowerASCII(strings.TrimSuffix(host, "."))
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return "", false
	}
	return d, true
}
