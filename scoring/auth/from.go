package auth

import (
	"fmt"
	"relayguard/rules/message"
)

// fromInfo is what DMARC makes of the RFC5322.From field (RFC 7489
// §6.6.1), which the message parsed once (message.Message.From).
type fromInfo struct {
	// domains are the distinct normalised domains of the From addresses,
	// at most message.MaxFromDomains.
	domains []string
	// problem is a symbol name when the field is missing, repeated, names
	// several domains or is malformed; detail explains it.
	problem, detail string
}

func fromInfoOf(msg *message.Message) fromInfo {
	f := msg.From()
	fi := fromInfo{domains: f.Domains}
	switch {
	case f.Fields == 0:
		fi.problem, fi.detail = SymDMARCNoFrom, "message has no From header field"
	case len(f.Domains) == 0:
		fi.problem, fi.detail = SymDMARCNoFrom, "From header field names no usable domain"
	case f.Fields > 1:
		// RFC 5322 §3.6 allows one From field. Two let a spoofer pass
		// DMARC on one while the mail reader shows the other.
		fi.problem, fi.detail = SymDMARCMultiFrom, fmt.Sprintf("message has %d From header fields", f.Fields)
	case len(f.Domains) > 1:
		fi.problem, fi.detail = SymDMARCMultiFrom, fmt.Sprintf("From header field names addresses in %d domains", len(f.Domains))
	case f.Lenient:
		fi.problem, fi.detail = SymDMARCBadFrom, "From header field is not valid RFC 5322 syntax"
	}
	return fi
}
