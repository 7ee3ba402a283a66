package filter

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/emersion/go-smtp"

	"relayguard/internal/access"
	"relayguard/internal/mailaddr"
)

// Policy decides who may relay where. It is enforced at RCPT, before any
// byte of the message is taken. The facts (relay networks, local domains)
// come from package access; the decision and its reply are made here.
type Policy struct {
	// Access says who may relay and which domains are ours. Nil grants
	// nothing: only authenticated clients may relay, no domain is local.
	Access *access.List
}

// CheckRcpt returns nil when the recipient is acceptable from this client,
// else the SMTP error to answer. rcpt is the path as go-smtp parsed it:
// brackets and any source route removed (RFC 5321 §4.1.1.3 lets a server
// ignore the route, so <@local:user@other> is judged as user@other), and a
// quoted local part unquoted ("user@other"@local arrives as
// user@other@local). smtputf8 is whether MAIL FROM carried SMTPUTF8.
//
// Syntax is judged before permission, for every client: a relay network or
// an authenticated user sending a NUL or a 1000-octet local part gets 501
// too, since the next hop would refuse it or, worse, take it.
func (p *Policy) CheckRcpt(rcpt string, ip netip.Addr, authenticated, smtputf8 bool) *smtp.SMTPError {
	addr, err := mailaddr.Parse(rcpt, smtputf8)
	if err != nil {
		return addressError(err, errBadRcptSyntax)
	}
	if p.Access.MayRelay(ip, authenticated) {
		return nil
	}
	// An address literal names a host, not a domain we serve. Domains are
	// compared in ASCII form: "user@\u212Aiosk.test" never got here (not
	// IDNA2008), and "user@bücher.example" matches xn--bcher-kva.example.
	if addr.Literal || !p.Access.IsLocalDomain(addr.ASCII) {
		return errRelayDenied
	}
	// The local part of a local domain must not route elsewhere: the MTA
	// behind us may still honour the old %-hack (user%other@local), UUCP
	// bang paths (other!user@local), an embedded @ from a quoted local part,
	// or a leftover source route.
	if strings.ContainsAny(addr.Local, "@%!:") {
		return errRelayDenied
	}
	return nil
}

// CheckSender returns nil when from is an acceptable reverse-path, else
// the SMTP error to answer. The null reverse-path (MAIL FROM:<>, bounces)
// is always acceptable (RFC 5321 §4.5.5).
func CheckSender(from string, smtputf8 bool) *smtp.SMTPError {
	if from == "" {
		return nil
	}
	if _, err := mailaddr.Parse(from, smtputf8); err != nil {
		return addressError(err, errBadSenderSyntax)
	}
	return nil
}

// addressError is the reply for an address mailaddr refused: 553 5.6.7
// for a non-ASCII address without SMTPUTF8 (RFC 6531 §3.5), else the
// syntax error of the command (501 5.1.3 for RCPT, 501 5.1.7 for MAIL).
func addressError(err error, syntax *smtp.SMTPError) *smtp.SMTPError {
	var e *mailaddr.Error
	if errors.As(err, &e) && e.Reason == mailaddr.ReasonNeedsSMTPUTF8 {
		return errNeedsSMTPUTF8
	}
	return syntax
}

// formatPath writes an address for the upstream's MAIL/RCPT, quoting a
// local part that is not a dot-atom (go-smtp hands us "a b"@x unquoted).
func formatPath(addr string) string {
	local, domain, ok := mailaddr.Split(addr)
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
