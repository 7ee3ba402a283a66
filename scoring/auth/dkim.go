package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"

	"relayguard/internal/mailaddr"
	"relayguard/rules/message"
	"relayguard/scoring"
)

// DKIMSignature is the outcome for one verified signature.
type DKIMSignature struct {
	// Domain is the signing domain (d=), normalised; "" when unusable.
	Domain string
	// Identifier is the agent or user identifier (i=, "@"+d= by default).
	Identifier string
	// Result is pass, fail (the signature does not verify), permerror
	// (it cannot be verified: malformed, no key, revoked or weak key,
	// expired) or temperror (the key could not be looked up).
	Result authres.ResultValue
	// Reason explains a result other than pass.
	Reason string
}

// DKIMOutcome is what the dkim check publishes (DKIMResult).
type DKIMOutcome struct {
	// Signatures are the verified signatures, topmost first.
	Signatures []DKIMSignature
	// Unverified counts signatures beyond MaxDKIMSignatures, not verified.
	Unverified int
}

// validDomains lists the domains of valid signatures, without repeats.
func (o *DKIMOutcome) validDomains() []string {
	if o == nil {
		return nil
	}
	var ds []string
	for _, s := range o.Signatures {
		if s.Result == authres.ResultPass && s.Domain != "" && !slices.Contains(ds, s.Domain) {
			ds = append(ds, s.Domain)
		}
	}
	return ds
}

func (a *Auth) runDKIM(ctx context.Context, in *scoring.Input) scoring.Result {
	if in.Message == nil {
		return scoring.Result{}
	}
	out, err := a.verifyDKIM(ctx, in.Message)
	res := scoring.Result{Err: err}
	scoring.Publish(&res, DKIMResult, out)
	if err != nil {
		return res
	}
	for _, s := range out.Signatures {
		res.Auth = append(res.Auth, &authres.DKIMResult{
			Value:      s.Result,
			Reason:     s.Reason,
			Domain:     s.Domain,
			Identifier: headerSafe(s.Identifier),
		})
	}
	if len(out.Signatures) == 0 {
		// RFC 8601 §2.7.1: "none" says the message was not signed, which a
		// downstream filter can tell from "not checked".
		res.Auth = append(res.Auth, &authres.DKIMResult{Value: authres.ResultNone})
	}
	sym, temp := a.dkimSymbol(out)
	res.Symbols = append(res.Symbols, sym)
	if temp {
		res.Err = errors.New("dkim: key lookup failed for every signature that could still pass")
	}
	return res
}

// verifyDKIM verifies up to maxSigs signatures, the topmost first. Every
// key lookup goes through the resolver under ctx; the body is read once
// and hashed for all signatures together.
func (a *Auth) verifyDKIM(ctx context.Context, msg *message.Message) (*DKIMOutcome, error) {
	out := &DKIMOutcome{}
	n := len(msg.Header.Values("DKIM-Signature"))
	if n == 0 {
		return out, nil
	}
	verifs, err := dkim.VerifyWithOptions(msg.Raw(), &dkim.VerifyOptions{
		LookupTXT:        a.lookup.txtFunc(ctx),
		MaxVerifications: a.maxSigs,
	})
	switch {
	case errors.Is(err, dkim.ErrTooManySignatures):
		out.Unverified = n - len(verifs)
	case err != nil && len(verifs) == 0:
		// The library could not read the header (no blank line after
		// it, say): the signatures cannot be verified.
		for range min(n, a.maxSigs) {
			out.Signatures = append(out.Signatures, DKIMSignature{Result: authres.ResultPermError, Reason: "message unreadable"})
		}
		out.Unverified = n - len(out.Signatures)
		return out, nil
	case err != nil:
		return nil, fmt.Errorf("dkim: %w", err)
	}
	for _, v := range verifs {
		s := DKIMSignature{Domain: mailaddr.Normalize(v.Domain), Identifier: v.Identifier}
		switch {
		case v.Err == nil && s.Domain == "":
			s.Result, s.Reason = authres.ResultPermError, "signing domain is not a domain name"
		case v.Err == nil:
			s.Result = authres.ResultPass
		case dkim.IsTempFail(v.Err):
			s.Result, s.Reason = authres.ResultTempError, "key unavailable"
		case dkim.IsPermFail(v.Err):
			s.Result, s.Reason = authres.ResultPermError, dkimReason(v.Err)
		default: // signature or body hash mismatch, or an l= tag
			s.Result, s.Reason = authres.ResultFail, dkimReason(v.Err)
		}
		out.Signatures = append(out.Signatures, s)
	}
	return out, nil
}

// dkimReason is the library's explanation without its prefix and without
// the resolver's error text, which may name internal servers.
func dkimReason(err error) string {
	r := strings.TrimPrefix(err.Error(), "dkim: ")
	if strings.HasPrefix(r, "no key for signature") {
		return "no key for signature"
	}
	if len(r) > 100 {
		r = r[:100]
	}
	return headerSafe(r)
}

// dkimSymbol sums up the signatures in one symbol: DKIM_VALID when any
// verifies (a mailing list's valid signature beside the author's broken
// one is normal), else DKIM_INVALID when one fails, else DKIM_TEMPERROR
// (temp reports that as a failed check) or DKIM_PERMERROR.
func (a *Auth) dkimSymbol(out *DKIMOutcome) (sym scoring.Symbol, temp bool) {
	more := ""
	if out.Unverified > 0 {
		more = fmt.Sprintf(" (%d more signatures not verified)", out.Unverified)
	}
	if len(out.Signatures) == 0 {
		return a.sym(SymDKIMNone, "message is not DKIM-signed"), false
	}
	if ds := out.validDomains(); len(ds) > 0 {
		return a.sym(SymDKIMValid, "valid DKIM signature by "+strings.Join(ds, ", ")+more), false
	}
	failed := firstWith(out.Signatures, authres.ResultFail)
	tempSig := firstWith(out.Signatures, authres.ResultTempError)
	switch {
	case failed != nil:
		return a.sym(SymDKIMInvalid, fmt.Sprintf("DKIM signature by %s does not verify: %s%s", sigDomain(failed), failed.Reason, more)), false
	case tempSig != nil:
		return a.sym(SymDKIMTempError, fmt.Sprintf("DKIM key of %s could not be looked up%s", sigDomain(tempSig), more)), true
	}
	perm := firstWith(out.Signatures, authres.ResultPermError)
	return a.sym(SymDKIMPermError, fmt.Sprintf("DKIM signature by %s cannot be verified: %s%s", sigDomain(perm), perm.Reason, more)), false
}

// firstWith returns the first signature with result r, or nil.
func firstWith(sigs []DKIMSignature, r authres.ResultValue) *DKIMSignature {
	for i := range sigs {
		if sigs[i].Result == r {
			return &sigs[i]
		}
	}
	return nil
}

func sigDomain(s *DKIMSignature) string {
	if s.Domain == "" {
		return "an unusable domain"
	}
	return s.Domain
}

// headerSafe drops control characters and non-ASCII from text bound for a
// header field or a reply line.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r >= 0x7f {
			return -1
		}
		return r
	}, s)
}
