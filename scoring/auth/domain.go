package auth

import (
	"github.com/emersion/go-msgauth/dmarc"

	"relayguard/internal/mailaddr"
)

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
