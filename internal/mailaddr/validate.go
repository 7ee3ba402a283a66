package mailaddr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RFC 5321 §4.5.3.1.1 and §4.5.3.1.3: a local part is at most 64 octets, a
// path at most 256 octets including its angle brackets.
const (
	maxLocal = 64
	maxPath  = 256 - len("<>")
)

// Reason says why an envelope address was refused.
type Reason int

const (
	// ReasonSyntax: no @, an empty local part or domain, or bytes that
	// are not UTF-8 (RFC 6531 §3.3 extends the syntax by UTF-8 only).
	ReasonSyntax Reason = iota + 1
	// ReasonControl: a control character (NUL, CR, DEL, C1 ...), which
	// RFC 5321 §4.1.2 allows nowhere in a path, not even quoted.
	ReasonControl
	// ReasonLocalTooLong: local part over 64 octets (RFC 5321 §4.5.3.1.1).
	ReasonLocalTooLong
	// ReasonDomainTooLong: domain over 255 octets (RFC 5321 §4.5.3.1.2).
	ReasonDomainTooLong
	// ReasonPathTooLong: path over 256 octets (RFC 5321 §4.5.3.1.3).
	ReasonPathTooLong
	// ReasonDomainSyntax: not RFC 5321 Domain syntax (empty label, trailing
	// dot, a character outside letters, digits and hyphen).
	ReasonDomainSyntax
	// ReasonNotIDNA: a non-ASCII or xn-- label that is not a valid
	// IDNA2008 label in canonical form (RFC 5891), such as U+212A KELVIN
	// SIGN, which only UTS #46 mapping turns into k.
	ReasonNotIDNA
	// ReasonLiteral: a malformed address literal (RFC 5321 §4.1.3).
	ReasonLiteral
	// ReasonNeedsSMTPUTF8: a non-ASCII address in a transaction whose MAIL
	// FROM did not carry SMTPUTF8 (RFC 6531 §3.5: 553 5.6.7).
	ReasonNeedsSMTPUTF8
)

var reasonText = map[Reason]string{
	ReasonSyntax:        "not an address",
	ReasonControl:       "control character",
	ReasonLocalTooLong:  "local part longer than 64 octets",
	ReasonDomainTooLong: "domain longer than 255 octets",
	ReasonPathTooLong:   "path longer than 256 octets",
	ReasonDomainSyntax:  "bad domain syntax",
	ReasonNotIDNA:       "domain is not a valid IDNA2008 name in canonical form",
	ReasonLiteral:       "bad address literal",
	ReasonNeedsSMTPUTF8: "non-ASCII address without SMTPUTF8",
}

func (r Reason) String() string {
	if s, ok := reasonText[r]; ok {
		return s
	}
	return fmt.Sprintf("reason %d", int(r))
}

// Error is a refused address or domain. The caller turns Reason into its
// own reply; Error() is for logs.
type Error struct {
	Reason Reason
}

func (e *Error) Error() string { return "mailaddr: " + e.Reason.String() }

// Address is an envelope address that Parse accepted.
type Address struct {
	Local  string // as given (go-smtp has removed any quoting)
	Domain string // as given
	// ASCII is the domain's comparison form (see ASCII); for an address
	// literal it is the literal as given.
	ASCII   string
	Literal bool // the domain is an address literal, [192.0.2.1]
}

// Parse judges an envelope path as go-smtp hands it over (angle brackets
// and source route removed, a quoted local part unquoted) and splits it.
// smtputf8 is whether the transaction's MAIL FROM carried SMTPUTF8. The
// null reverse-path (MAIL FROM:<>) is the caller's to allow.
//
// The local part is held to what RFC 5321 §4.1.2 allows even quoted:
// printable ASCII (qtextSMTP and quoted-pairSMTP cover %d32-126), plus
// UTF-8 beyond ASCII with SMTPUTF8 (RFC 6531 §3.3).
func Parse(path string, smtputf8 bool) (Address, error) {
	if !utf8.ValidString(path) {
		return Address{}, &Error{Reason: ReasonSyntax}
	}
	if strings.ContainsFunc(path, unicode.IsControl) {
		return Address{}, &Error{Reason: ReasonControl}
	}
	local, domain, ok := Split(path)
	if !ok {
		return Address{}, &Error{Reason: ReasonSyntax}
	}
	// The local part is measured as go-smtp gives it, without the quotes
	// it may have had on the wire: a floor of its wire length.
	if len(local) > maxLocal {
		return Address{}, &Error{Reason: ReasonLocalTooLong}
	}
	if len(domain) > maxDomain {
		return Address{}, &Error{Reason: ReasonDomainTooLong}
	}
	if len(path) > maxPath {
		return Address{}, &Error{Reason: ReasonPathTooLong}
	}
	if !smtputf8 && !isASCII(path) {
		return Address{}, &Error{Reason: ReasonNeedsSMTPUTF8}
	}
	if strings.HasPrefix(domain, "[") {
		if !ValidAddressLiteral(domain) {
			return Address{}, &Error{Reason: ReasonLiteral}
		}
		return Address{Local: local, Domain: domain, ASCII: domain, Literal: true}, nil
	}
	a, err := ASCII(domain)
	if err != nil {
		return Address{}, err
	}
	return Address{Local: local, Domain: domain, ASCII: a}, nil
}
