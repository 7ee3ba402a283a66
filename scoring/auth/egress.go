package auth

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dmarc"

	"relayguard/internal/mailaddr"
	"relayguard/scoring"
)

// runEgress predicts what the next hop will make of this message when our
// upstream sends it on from one of the egress IPs with the envelope sender
// unchanged (forwarding without SRS, or our users' outbound mail): it
// evaluates the sender domain's SPF as that receiver will, from each
// egress IP, and from that and the DKIM signatures, the From domain's
// DMARC there.
//
// For inbound mail it reports only what forwarding breaks: a message that
// already fails SPF or DMARC here is scored by those checks. It never sets
// Err: it is a prediction, and a lookup failure only means no prediction.
func (a *Auth) runEgress(ctx context.Context, in *scoring.Input) scoring.Result {
	var res scoring.Result
	if in.Message == nil {
		return res
	}
	outbound := in.Outbound
	spfOut := a.spfFor(ctx, in)
	sender := mailaddr.Normalize(mailaddr.Domain(in.From))
	if in.From == "" {
		sender = "" // the next hop checks our upstream's HELO instead
	}

	// SPF at the next hop, from each egress IP, unless the result here
	// cannot differ there (none and permerror are the same everywhere)
	// or is already counted (fail). It runs beside the DMARC lookups.
	down := make([]spf.Result, len(a.egress))
	downDone := make(chan struct{})
	go func() {
		defer close(downDone)
		if sender == "" || spfOut != nil && spfOut.Result != "" && spfOut.Result != spf.Pass &&
			spfOut.Result != spf.Neutral && spfOut.Result != spf.SoftFail {
			return
		}
		for i, ip := range a.egress {
			down[i], _ = a.checkHost(ctx, ip, "", spfSender(in.From, sender))
		}
	}()

	var o *DMARCOutcome
	fi := fromInfoOf(in.Message)
	switch {
	case len(fi.domains) != 1:
		// Missing or several From domains: the dmarc check says so.
	case outbound:
		// Not evaluated here (the dmarc check skips outbound mail): only
		// the policy and DKIM matter, SPF is the next hop's.
		o = a.evaluateDMARC(ctx, fi.domains[0], nil, a.lazyDKIM(ctx, in), pctKey(in.Message))
	default:
		o = a.dmarcFor(ctx, in, fi.domains[0])
		if o != nil && o.Result != authres.ResultPass {
			o = nil // failing here is the dmarc check's finding
		}
	}
	<-downDone

	var spfFail []netip.Addr
	for i, ip := range a.egress {
		if down[i] == spf.Fail {
			spfFail = append(spfFail, ip)
		}
	}
	if len(spfFail) > 0 {
		res.Symbols = append(res.Symbols, a.sym(SymForwardSPFFail, fmt.Sprintf(
			"SPF for %s fails when sent on from %s: the next hop may refuse it and count it against our IP; list that IP in the domain's SPF record, or for forwarded mail have the upstream rewrite the envelope sender with SRS",
			sender, ipList(spfFail))))
	}

	if o == nil || o.Record == nil || o.DKIMAligned {
		// No usable policy; or an aligned DKIM signature, which survives
		// forwarding (unless the upstream alters the message).
		return res
	}
	if o.Policy != dmarc.PolicyReject && o.Policy != dmarc.PolicyQuarantine {
		return res
	}
	// DMARC passes at the next hop only by SPF there: a pass from the
	// egress IP for a MAIL FROM domain aligned with the From domain.
	var broken []netip.Addr
	for i, ip := range a.egress {
		if down[i] != spf.Pass || !aligned(sender, o.FromDomain, o.Record.SPFAlignment) {
			broken = append(broken, ip)
		}
	}
	if len(broken) == 0 {
		return res
	}
	name, policy := SymForwardDMARCQuarantine, "p="+string(o.Policy)
	if pct := percent(o.Record); o.Policy == dmarc.PolicyReject && pct == 100 {
		name = SymForwardDMARCReject
	} else if pct < 100 {
		policy += fmt.Sprintf(" pct=%d", pct)
	}
	res.Symbols = append(res.Symbols, a.sym(name, fmt.Sprintf(
		"From domain %s (DMARC %s) has no aligned DKIM signature, and SPF will not pass aligned when sent on from %s: the next hop will %s it and count it against our IP; the sender must DKIM-sign (SRS cannot fix DMARC)",
		o.FromDomain, policy, ipList(broken), verdictWord(name))))
	return res
}

// dmarcFor returns the dmarc check's outcome for the From domain, or nil
// when it has none in time (then there is no prediction).
func (a *Auth) dmarcFor(ctx context.Context, in *scoring.Input, from string) *DMARCOutcome {
	if o, ok := scoring.Await(ctx, in, DMARCResult); ok && o != nil && o.FromDomain == from {
		return o
	}
	return nil
}

func verdictWord(sym string) string {
	if sym == SymForwardDMARCReject {
		return "refuse"
	}
	return "junk or refuse"
}

func ipList(ips []netip.Addr) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, ", ")
}
