package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"

	"relayguard/internal/mailaddr"
	"relayguard/scoring"
)

// SPF identities (RFC 7208 §2.3, §2.4).
const (
	IdentityMailFrom = "mailfrom"
	IdentityHELO     = "helo"
)

// SPFOutcome is what the spf and spf_hop checks publish (SPFResult,
// HopSPFResult): what DMARC and the egress check need to know about SPF.
type SPFOutcome struct {
	// Result is the SPF result for the MAIL FROM identity, which for the
	// null sender is the HELO identity (RFC 7208 §2.4). Empty when SPF was
	// not evaluated (see Skipped and Deferred).
	Result spf.Result
	// Identity is IdentityMailFrom, or IdentityHELO for the null sender.
	Identity string
	// Domain is the domain whose policy was checked, normalised: the MAIL
	// FROM domain, or the HELO name for the null sender. DMARC aligns it
	// with the From domain (RFC 7489 §3.1.2). Empty when there was no
	// usable domain (the result is then "none").
	Domain string
	// Sender is the envelope sender as given ("" for the null sender).
	Sender string
	// IP is the client address evaluated.
	IP netip.Addr
	// HELO is the result for the HELO identity when it was evaluated on
	// its own (a non-null sender and a HELO name that is a domain).
	HELO       spf.Result
	HELODomain string

	// Deferred is set for a trusted relay's connection: the spf_hop
	// check evaluates SPF at end of DATA for the original hop.
	Deferred bool
	// Skipped says why SPF was not evaluated, when it was not.
	Skipped string
}

// passed reports an SPF pass for the identity DMARC uses.
func (o *SPFOutcome) passed() bool {
	return o != nil && o.Result == spf.Pass && o.Domain != ""
}

func (a *Auth) runSPF(ctx context.Context, in *scoring.Input) scoring.Result {
	var res scoring.Result
	var out *SPFOutcome
	switch {
	case in.Outbound:
		// Our users' mail: SPF describes the hop from our upstream to
		// the receiver (the egress check predicts it), not this one.
		out = &SPFOutcome{IP: in.ClientIP, Sender: in.From, Skipped: "outbound mail"}
	case in.Relayed:
		out = &SPFOutcome{IP: in.ClientIP, Sender: in.From, Deferred: true}
	default:
		res, out = a.EvaluateSPF(ctx, in.ClientIP, in.Helo, in.From)
	}
	scoring.Publish(&res, SPFResult, out)
	return res
}

// runHopSPF evaluates SPF for the original hop of a message a trusted
// relay handed us (the engine found the hop in the Received fields): the
// spf check deferred it at MAIL FROM, when the hop was not yet known. Mail
// the relay's own users submitted is outbound and not evaluated, as at
// the spf check; with no hop found SPF stays unevaluated.
func (a *Auth) runHopSPF(ctx context.Context, in *scoring.Input) scoring.Result {
	if !in.Relayed || in.Outbound || in.Hop == nil {
		return scoring.Result{}
	}
	res, out := a.EvaluateSPF(ctx, in.Hop.IP, in.Hop.Helo, in.From)
	scoring.Publish(&res, HopSPFResult, out)
	return res
}

// EvaluateSPF checks the SPF identities of a message handed over by ip,
// which said helo and gave sender as MAIL FROM ("" for the null sender).
// It returns symbols and Authentication-Results entries, and the outcome
// the check publishes. For mail that came through a trusted relay it is
// called with the original hop found in the Received headers.
//
// The MAIL FROM identity is checked for a non-null sender. The HELO
// identity is checked whenever the HELO name is a domain: for the null
// sender it stands in for MAIL FROM (RFC 7208 §2.4, as
// postmaster@helo), otherwise it is reported on its own (SPF_HELO_*
// symbols, RFC 7208 §2.3), only when it says something (not "none").
//
// RFC 7208 §4.6.4 limits are enforced by blitiri.com.ar/go/spf: at most 10
// DNS-querying terms (include, a, mx, ptr, exists, redirect) per
// evaluation and 2 void lookups, at most 10 MX names per mx term and 10
// PTR names per ptr term; exceeding any is a permerror.
func (a *Auth) EvaluateSPF(ctx context.Context, ip netip.Addr, helo, sender string) (scoring.Result, *SPFOutcome) {
	ip = ip.Unmap()
	out := &SPFOutcome{IP: ip, Sender: sender}
	if !ip.IsValid() {
		out.Skipped = "no client IP"
		return scoring.Result{}, out
	}

	// The HELO identity is evaluated beside MAIL FROM, so the two chains
	// of lookups overlap.
	heloDomain := mailaddr.Normalize(helo)
	out.HELODomain = heloDomain
	var heloRes spf.Result
	var heloErr error
	heloDone := make(chan struct{})
	go func() {
		defer close(heloDone)
		if heloDomain != "" {
			heloRes, heloErr = a.checkHost(ctx, ip, heloDomain, "postmaster@"+heloDomain)
		}
	}()

	var res scoring.Result
	if sender == "" {
		<-heloDone
		out.Identity, out.Domain = IdentityHELO, heloDomain
		out.Result, out.HELO = spf.None, heloRes
		if heloDomain != "" {
			out.Result = heloRes
		}
		res.Symbols = append(res.Symbols, a.spfSymbol(false, "HELO, null sender", out.Result, ip, heloDomain, heloErr))
		res.Auth = append(res.Auth, &authres.SPFResult{Value: authres.ResultValue(out.Result), Helo: heloLabel(helo, heloDomain), Reason: spfReason(out.Result, heloErr)})
		if out.Result == spf.TempError {
			res.Err = fmt.Errorf("spf helo %s: %w", heloDomain, heloErr)
		}
		return res, out
	}

	out.Identity = IdentityMailFrom
	out.Domain = mailaddr.Normalize(mailaddr.Domain(sender))
	var err error
	out.Result = spf.None
	if out.Domain != "" {
		out.Result, err = a.checkHost(ctx, ip, helo, spfSender(sender, out.Domain))
	}
	res.Symbols = append(res.Symbols, a.spfSymbol(false, "MAIL FROM", out.Result, ip, out.Domain, err))
	res.Auth = append(res.Auth, &authres.SPFResult{Value: authres.ResultValue(out.Result), From: mailfromLabel(sender, out.Domain), Reason: spfReason(out.Result, err)})
	if out.Result == spf.TempError {
		res.Err = fmt.Errorf("spf %s: %w", out.Domain, err)
	}

	<-heloDone
	out.HELO = heloRes
	if heloRes != "" && heloRes != spf.None {
		// The HELO result never sets Err: it is secondary evidence, and
		// a broken HELO zone must not hold up the message.
		res.Symbols = append(res.Symbols, a.spfSymbol(true, "HELO", heloRes, ip, heloDomain, heloErr))
		res.Auth = append(res.Auth, &authres.SPFResult{Value: authres.ResultValue(heloRes), Helo: heloDomain, Reason: spfReason(heloRes, heloErr)})
	}
	return res, out
}

// checkHost runs one SPF evaluation under ctx.
func (a *Auth) checkHost(ctx context.Context, ip netip.Addr, helo, sender string) (spf.Result, error) {
	return spf.CheckHostWithSender(ip.AsSlice(), helo, sender,
		spf.WithContext(ctx), spf.WithResolver(a.lookup))
}

// spfSender is the sender handed to the library, whose domain it takes
// after the first '@' (and expands %{l} and %{s} from). A local part with
// an '@' of its own (quoted) would move that split, so it is replaced by
// postmaster, as for a sender without local part (RFC 7208 §4.3).
func spfSender(sender, domain string) string {
	local := sender[:strings.LastIndexByte(sender, '@')]
	if local == "" || strings.Contains(local, "@") {
		local = "postmaster"
	}
	return local + "@" + domain
}

// mailfromLabel is the smtp.mailfrom property: the sender when it is
// plain enough to appear unquoted, else just its domain.
func mailfromLabel(sender, domain string) string {
	for _, c := range sender {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>"\;:,[]=`, c) {
			return domain
		}
	}
	return sender
}

// heloLabel is the smtp.helo property: the normalised HELO domain, or for
// an address literal or other non-domain the name as given, made safe.
func heloLabel(helo, domain string) string {
	if domain != "" {
		return domain
	}
	return mailfromLabel(helo, "")
}

var spfSymbols = map[spf.Result][2]string{
	spf.Pass:      {SymSPFPass, SymHELOPass},
	spf.Fail:      {SymSPFFail, SymHELOFail},
	spf.SoftFail:  {SymSPFSoftFail, SymHELOSoftFail},
	spf.Neutral:   {SymSPFNeutral, SymHELONeutral},
	spf.None:      {SymSPFNone, ""},
	spf.TempError: {SymSPFTempError, SymHELOTempError},
	spf.PermError: {SymSPFPermError, SymHELOPermError},
}

// spfSymbol names and explains one SPF result. helo selects the SPF_HELO_
// family, used for the HELO identity checked beside a non-null sender;
// identity names what was checked, for the detail.
func (a *Auth) spfSymbol(helo bool, identity string, r spf.Result, ip netip.Addr, domain string, err error) scoring.Symbol {
	names := spfSymbols[r]
	name := names[0]
	if helo {
		name = names[1]
	}
	if name == "" { // spf.None for HELO is never reported
		name = SymSPFNone
	}
	var detail string
	switch r {
	case spf.Pass:
		detail = fmt.Sprintf("SPF pass: %s may send mail for %s (%s)", ip, domain, identity)
	case spf.Fail:
		detail = fmt.Sprintf("SPF fail: %s does not allow %s to send its mail (%s)", domain, ip, identity)
	case spf.SoftFail:
		detail = fmt.Sprintf("SPF softfail: %s says %s is probably not allowed to send its mail (%s)", domain, ip, identity)
	case spf.Neutral:
		detail = fmt.Sprintf("SPF neutral: %s makes no assertion about %s (%s)", domain, ip, identity)
	case spf.None:
		if domain == "" {
			detail = fmt.Sprintf("SPF none: no domain to check (%s)", identity)
		} else {
			detail = fmt.Sprintf("SPF none: %s publishes no SPF record (%s)", domain, identity)
		}
	case spf.TempError:
		detail = fmt.Sprintf("SPF temperror: could not look up the SPF policy of %s (%s)", domain, identity)
	default:
		detail = fmt.Sprintf("SPF permerror: the SPF record of %s is broken: %s (%s)", domain, spfReason(r, err), identity)
	}
	return a.sym(name, detail)
}

// spfReason explains a permerror in words fit for a reply line and a
// header; other results need no reason. Internal error text (resolver
// addresses) is never used.
func spfReason(r spf.Result, err error) string {
	if r != spf.PermError {
		return ""
	}
	switch {
	case errors.Is(err, spf.ErrLookupLimitReached):
		return "more than 10 DNS-querying terms"
	case errors.Is(err, spf.ErrVoidLookupLimitReached):
		return "more than 2 lookups with empty answers"
	case errors.Is(err, spf.ErrMultipleRecords):
		return "more than one SPF record"
	case errors.Is(err, spf.ErrTooManyMXRecords):
		return "more than 10 MX names in an mx term"
	case errors.Is(err, spf.ErrNoResult):
		return "include or redirect to a domain without SPF record"
	case errors.Is(err, spf.ErrInvalidMacro):
		return "invalid macro"
	case errors.Is(err, spf.ErrInvalidDomain), errors.Is(err, spf.ErrInvalidIP),
		errors.Is(err, spf.ErrInvalidMask), errors.Is(err, spf.ErrUnknownField):
		return "syntax error"
	}
	return "unusable record"
}
