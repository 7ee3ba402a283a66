package auth

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dmarc"

	"relayguard/rules/message"
	"relayguard/scoring"
)

// DMARCOutcome is what the dmarc check publishes (DMARCResult), for the
// strictest From domain when the From field names several.
type DMARCOutcome struct {
	// FromDomain is the RFC5322.From domain evaluated, normalised.
	FromDomain string
	// PolicyDomain is where the record was found: FromDomain, or its
	// organisational domain (RFC 7489 §6.6.3).
	PolicyDomain string
	// Record is the parsed record; nil when there is none or it is broken.
	Record *dmarc.Record
	// Result is pass, fail, none (no record), temperror or permerror.
	Result authres.ResultValue
	// Policy is what the domain asks for a failing message: p, or sp for
	// a subdomain whose record was found at the organisational domain.
	Policy dmarc.Policy
	// Applied is Policy after pct sampling (RFC 7489 §6.6.4): a message
	// sampled out of reject gets quarantine, out of quarantine none.
	Applied dmarc.Policy
	// SPFAligned and DKIMAligned tell which identifier passed aligned.
	SPFAligned, DKIMAligned bool
	// Reason explains a result other than pass, in a few words.
	Reason string
}

func (a *Auth) runDMARC(ctx context.Context, in *scoring.Input) scoring.Result {
	var res scoring.Result
	if in.Message == nil || in.Outbound {
		return res
	}
	spfOut := a.spfFor(ctx, in)

	fi := fromInfoOf(in.Message)
	if fi.problem != "" {
		res.Symbols = append(res.Symbols, a.sym(fi.problem, fi.detail))
	}
	if len(fi.domains) == 0 {
		res.Auth = append(res.Auth, &authres.DMARCResult{Value: authres.ResultPermError, Reason: "no From domain"})
		return res
	}

	dkimOut := a.lazyDKIM(ctx, in)
	key := pctKey(in.Message)
	var worst *DMARCOutcome
	for _, d := range fi.domains {
		o := a.evaluateDMARC(ctx, d, spfOut, dkimOut, key)
		res.Auth = append(res.Auth, &authres.DMARCResult{Value: o.Result, Reason: o.Reason, From: d})
		if worst == nil || o.severity() > worst.severity() {
			worst = o
		}
	}
	res.Symbols = append(res.Symbols, a.dmarcSymbol(worst, spfOut))
	if worst.Result == authres.ResultTempError && res.Err == nil {
		res.Err = fmt.Errorf("dmarc %s: %s", worst.FromDomain, worst.Reason)
	}
	scoring.Publish(&res, DMARCResult, worst)
	return res
}

// spfFor returns the SPF outcome DMARC aligns: the spf check's, or for a
// trusted relay's message the original hop's (spf_hop). It returns nil
// when SPF was not evaluated (or ctx ended before it was).
func (a *Auth) spfFor(ctx context.Context, in *scoring.Input) *SPFOutcome {
	out, _ := scoring.Await(ctx, in, SPFResult)
	if out != nil && out.Deferred {
		out, _ = scoring.Await(ctx, in, HopSPFResult)
	}
	return out
}

// lazyDKIM returns a function giving the dkim check's outcome, waited for
// at most once and only when asked (DMARC needs it only when a record
// exists). nil means DKIM gave no outcome in time: nothing aligned.
func (a *Auth) lazyDKIM(ctx context.Context, in *scoring.Input) func() *DKIMOutcome {
	var out *DKIMOutcome
	done := false
	return func() *DKIMOutcome {
		if !done {
			done = true
			out, _ = scoring.Await(ctx, in, DKIMResult)
		}
		return out
	}
}

// Sentinels of policy discovery.
var (
	errNoRecord   = errors.New("no DMARC record")
	errDNSFailure = errors.New("DNS lookup failed")
)

// evaluateDMARC applies RFC 7489 §6.6 to one From domain.
func (a *Auth) evaluateDMARC(ctx context.Context, from string, spfOut *SPFOutcome, dkimOut func() *DKIMOutcome, key string) *DMARCOutcome {
	o := &DMARCOutcome{FromDomain: from}
	rec, at, err := a.discoverPolicy(ctx, from)
	switch {
	case errors.Is(err, errNoRecord):
		o.Result, o.Policy, o.Applied = authres.ResultNone, dmarc.PolicyNone, dmarc.PolicyNone
		return o
	case errors.Is(err, errDNSFailure):
		o.Result, o.Reason = authres.ResultTempError, "DNS lookup failed"
		return o
	case err != nil:
		o.Result, o.PolicyDomain, o.Reason = authres.ResultPermError, at, headerSafe(err.Error())
		return o
	}
	o.Record, o.PolicyDomain = rec, at
	o.Policy = rec.Policy
	if at != from && rec.SubdomainPolicy != "" {
		o.Policy = rec.SubdomainPolicy
	}

	o.SPFAligned = spfOut.passed() && aligned(spfOut.Domain, from, rec.SPFAlignment)
	dk := dkimOut()
	if dk != nil {
		for _, d := range dk.validDomains() {
			if aligned(d, from, rec.DKIMAlignment) {
				o.DKIMAligned = true
				break
			}
		}
	}
	if o.SPFAligned || o.DKIMAligned {
		o.Result, o.Applied = authres.ResultPass, dmarc.PolicyNone
		return o
	}

	// No aligned pass. If an identifier that could have aligned hit a DNS
	// error, the answer is not known yet: temperror, not fail.
	if spfOut != nil && spfOut.Result == spf.TempError && aligned(spfOut.Domain, from, rec.SPFAlignment) {
		o.Result, o.Reason = authres.ResultTempError, "SPF lookup failed"
		return o
	}
	if dk != nil {
		for _, s := range dk.Signatures {
			if s.Result == authres.ResultTempError && aligned(s.Domain, from, rec.DKIMAlignment) {
				o.Result, o.Reason = authres.ResultTempError, "DKIM key lookup failed"
				return o
			}
		}
	}

	o.Result, o.Applied = authres.ResultFail, o.Policy
	o.Reason = "p=" + string(o.Policy)
	if pct := percent(rec); pct < 100 && pctBucket(key) >= pct {
		o.Applied = downgrade(o.Policy)
		o.Reason += fmt.Sprintf(", pct=%d: sampled out", pct)
	}
	return o
}

// discoverPolicy finds the DMARC record for a From domain (RFC 7489
// §6.6.3): at the domain, else at its organisational domain. It returns
// the record and where it was found; errNoRecord, errDNSFailure, or a
// parse error for a broken record.
func (a *Auth) discoverPolicy(ctx context.Context, from string) (*dmarc.Record, string, error) {
	rec, err := a.fetchRecord(ctx, from)
	if !errors.Is(err, errNoRecord) {
		return rec, from, err
	}
	org := orgDomain(from)
	if org == from {
		return nil, from, err
	}
	rec, err = a.fetchRecord(ctx, org)
	return rec, org, err
}

// fetchRecord looks up and parses _dmarc.<domain>. Only TXT records that
// begin with v=DMARC1 count; more than one is as good as none (RFC 7489
// §6.6.3 step 4) but reported as an error, since the domain meant to
// publish one. go-msgauth's dmarc.Lookup would take the first instead and
// has no context, so the lookup is ours and only the parsing is the
// library's.
func (a *Auth) fetchRecord(ctx context.Context, domain string) (*dmarc.Record, error) {
	txts, err := a.lookup.LookupTXT(ctx, "_dmarc."+domain)
	if err != nil {
		if isNotFound(err) {
			return nil, errNoRecord
		}
		return nil, fmt.Errorf("%w: %v", errDNSFailure, err)
	}
	var recs []string
	for _, t := range txts {
		if isDMARC1(t) {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return nil, errNoRecord
	case 1:
	default:
		return nil, fmt.Errorf("%d DMARC records", len(recs))
	}
	rec, err := dmarc.Parse(recs[0])
	if err != nil {
		return nil, errors.New("invalid DMARC record: " + strings.TrimPrefix(err.Error(), "dmarc: "))
	}
	return rec, nil
}

// isDMARC1 reports a record whose first tag is v=DMARC1 (RFC 7489 §6.4:
// the v tag must come first; whitespace around '=' is allowed).
func isDMARC1(txt string) bool {
	tag, _, _ := strings.Cut(txt, ";")
	k, v, ok := strings.Cut(tag, "=")
	return ok && strings.TrimSpace(k) == "v" && strings.TrimSpace(v) == "DMARC1"
}

func percent(rec *dmarc.Record) int {
	if rec.Percent == nil {
		return 100
	}
	return *rec.Percent
}

func downgrade(p dmarc.Policy) dmarc.Policy {
	switch p {
	case dmarc.PolicyReject:
		return dmarc.PolicyQuarantine
	default:
		return dmarc.PolicyNone
	}
}

// pctKey is what pct sampling hashes: the Message-ID, so one message gets
// the same treatment however often it is scored (and tests can pin it);
// without one, From, Date and Subject together.
func pctKey(msg *message.Message) string {
	if id := strings.TrimSpace(msg.Header.Get("Message-Id")); id != "" {
		return id
	}
	return msg.Header.Get("From") + "\x00" + msg.Header.Get("Date") + "\x00" + msg.Header.Get("Subject")
}

// pctBucket maps key to 0..99; a message is sampled into the policy when
// its bucket is below pct.
func pctBucket(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % 100)
}

// severity orders outcomes so that, of several From domains, the one that
// says most against the message decides the symbol.
func (o *DMARCOutcome) severity() int {
	switch o.Result {
	case authres.ResultFail:
		switch o.Applied {
		case dmarc.PolicyReject:
			return 7
		case dmarc.PolicyQuarantine:
			return 6
		}
		return 5
	case authres.ResultTempError:
		return 4
	case authres.ResultPermError:
		return 3
	case authres.ResultNone:
		return 2
	}
	return 1 // pass
}

// dmarcSymbol explains an outcome.
func (a *Auth) dmarcSymbol(o *DMARCOutcome, spfOut *SPFOutcome) scoring.Symbol {
	d := o.FromDomain
	switch o.Result {
	case authres.ResultPass:
		how := "aligned SPF"
		if o.DKIMAligned {
			how = "aligned DKIM"
		}
		return a.sym(SymDMARCPass, fmt.Sprintf("From domain %s passes DMARC by %s", d, how))
	case authres.ResultNone:
		return a.sym(SymDMARCNA, fmt.Sprintf("From domain %s publishes no DMARC policy", d))
	case authres.ResultTempError:
		return a.sym(SymDMARCTempError, fmt.Sprintf("DMARC for %s could not be evaluated: %s", d, o.Reason))
	case authres.ResultPermError:
		return a.sym(SymDMARCPermError, fmt.Sprintf("DMARC policy of %s is unusable: %s", d, o.Reason))
	}
	name := SymDMARCSoftFail
	switch o.Applied {
	case dmarc.PolicyReject:
		name = SymDMARCReject
	case dmarc.PolicyQuarantine:
		name = SymDMARCQuarantine
	}
	return a.sym(name, fmt.Sprintf("From domain %s fails DMARC (%s): %s and no DKIM signature aligns", d, o.Reason, spfPhrase(spfOut)))
}

// spfPhrase says what SPF contributed to a DMARC failure.
func spfPhrase(o *SPFOutcome) string {
	switch {
	case o == nil || o.Result == "":
		return "SPF was not evaluated"
	case o.Domain == "":
		return "SPF had no domain to check"
	case o.Result == spf.Pass:
		return fmt.Sprintf("SPF passes for %s, which does not align", o.Domain)
	}
	return fmt.Sprintf("SPF for %s is %s", o.Domain, o.Result)
}
