package filter

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/emersion/go-smtp"
)

// Policy decides who may relay where. It is enforced at RCPT, before any
// byte of the message is taken.
type Policy struct {
	// RelayNetworks may send to any domain.
	RelayNetworks []netip.Prefix
	// LocalDomains (lower case, no trailing dot) accept mail from anyone.
	LocalDomains []string
}

// mayRelay tells whether a client may send to any domain: it is on a relay
// network or has authenticated.
func (p *Policy) mayRelay(ip netip.Addr, authenticated bool) bool {
	if authenticated {
		return true
	}
	ip = ip.Unmap()
	for _, n := range p.RelayNetworks {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// CheckRcpt returns nil when the recipient is acceptable from this client,
// else the SMTP error to answer. rcpt is the path as go-smtp parsed it:
// brackets and any source route removed (RFC 5321 §4.1.1.3 lets a server
// ignore the route, so <@local:user@other> is judged as user@other), and a
// quoted local part unquoted ("user@other"@local arrives as
// user@other@local).
func (p *Policy) CheckRcpt(rcpt string, ip netip.Addr, authenticated bool) *smtp.SMTPError {
	local, domain, ok := splitAddress(rcpt)
	if !ok {
		return errBadRcptSyntax
	}
	if strings.HasPrefix(domain, "[") {
		// An address literal names a host, not a domain we serve.
		if p.mayRelay(ip, authenticated) && validAddressLiteral(domain) {
			return nil
		}
		if !validAddressLiteral(domain) {
			return errBadRcptSyntax
		}
		return errRelayDenied
	}
	if !ValidDomain(domain) {
		// Includes the trailing dot: "user@example.com." is not RFC 5321
		// syntax, and MTAs disagree on whether it is local.
		return errBadRcptSyntax
	}
	if p.mayRelay(ip, authenticated) {
		return nil
	}
	if !slices.Contains(p.LocalDomains, strings.ToLower(domain)) {
		return errRelayDenied
	}
	// The local part of a local domain must not route elsewhere: the MTA
	// behind us may still honour the old %-hack (user%other@local), UUCP
	// bang paths (other!user@local), an embedded @ from a quoted local part,
	// or a leftover source route.
	if strings.ContainsAny(local, "@%!:") {
		return errRelayDenied
	}
	return nil
}

// splitAddress splits at the last @. Both parts must be non-empty.
func splitAddress(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", false
	}
	return addr[:i], addr[i+1:], true
}

// ValidDomain checks RFC 5321 Domain syntax: dot-separated labels of
// letters, digits and hyphens (or UTF-8 for SMTPUTF8), no empty label, so
// no leading or trailing dot.
func ValidDomain(d string) bool {
	if d == "" || len(d) > 255 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			ascii := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-'
			if !ascii && r < 0x80 {
				return false
			}
		}
	}
	return true
}

// validAddressLiteral checks [IPv4] and [IPv6:...] (RFC 5321 §4.1.3).
func validAddressLiteral(d string) bool {
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
		return err == nil && a.Is6()
	}
	a, err := netip.ParseAddr(inner)
	return err == nil && a.Is4()
}

// formatPath writes an address for the upstream's MAIL/RCPT, quoting a
// local part that is not a dot-atom (go-smtp hands us "a b"@x unquoted).
func formatPath(addr string) string {
	local, domain, ok := splitAddress(addr)
	if !ok || isDotAtom(local) {
		return addr
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range local {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteString(`"@`)
	b.WriteString(domain)
	return b.String()
}

// isDotAtom reports whether s is an RFC 5322 dot-atom (atext runs joined by
// single dots); UTF-8 counts as atext (RFC 6531).
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r >= 0x80 || r == '.' {
			continue
		}
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)) {
			return false
		}
	}
	return true
}
