// Package auth checks who sent a message: SPF (RFC 7208) for the envelope
// sender and the HELO name, DKIM (RFC 6376) signatures, DMARC (RFC 7489)
// alignment and policy of the From domain, and whether the next hop will
// accept the message when our upstream forwards it (the egress check). It
// also formats and sanitises Authentication-Results (RFC 8601).
//
// Every check resolves through the shared dns.Resolver under the engine's
// context, and the work per message is bounded: the SPF library enforces
// RFC 7208's lookup limits, DKIM verifies at most MaxDKIMSignatures
// signatures, DMARC looks up at most two records per From domain and at most
// message.MaxFromDomains domains.
//
// The checks, and the findings they publish for later checks (typed keys,
// read with scoring.Await):
//
//	spf      PhaseMail  SPFResult    *SPFOutcome
//	spf_hop  PhaseData  HopSPFResult *SPFOutcome (a trusted relay's original hop)
//	dkim     PhaseData  DKIMResult   *DKIMOutcome
//	dmarc    PhaseData  DMARCResult  *DMARCOutcome (waits for spf, spf_hop and dkim)
//	egress   PhaseData  nothing      (only with Options.EgressIPs; waits for dmarc)
//
// Whether a transaction is our users' outbound mail, whether the client is
// a trusted relay and which hop a relay's message came from are the
// engine's Facts, worked out once per transaction.
//
// For the relay path, FormatHeader builds the Authentication-Results value
// and StripSpoofed removes forged ones; docs/auth.md explains the symbols
// and their scores to operators.
package auth

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"relayguard/scoring"
	"relayguard/scoring/dns"
)

// Check names.
const (
	CheckSPF    = "spf"
	CheckSPFHop = "spf_hop"
	CheckDKIM   = "dkim"
	CheckDMARC  = "dmarc"
	CheckEgress = "egress"
)

// The findings the checks publish, by type.
var (
	SPFResult    = scoring.NewKey[*SPFOutcome](CheckSPF)
	HopSPFResult = scoring.NewKey[*SPFOutcome](CheckSPFHop)
	DKIMResult   = scoring.NewKey[*DKIMOutcome](CheckDKIM)
	DMARCResult  = scoring.NewKey[*DMARCOutcome](CheckDMARC)
)

const (
	// DefaultMaxDKIMSignatures bounds the signatures verified per message:
	// each costs a key lookup and a pass over the body.
	DefaultMaxDKIMSignatures = 5
	// maxDKIMSignaturesLimit is the most an operator may configure.
	maxDKIMSignaturesLimit = 20
	// maxEgressIPs bounds the SPF evaluations the egress check does per
	// message (one per egress IP, each up to RFC 7208's 10 lookups).
	maxEgressIPs = 8
)

// Options configures the checks. Resolver is required; the zero value of
// every other field is a sensible default.
type Options struct {
	// Resolver answers every lookup (SPF records, DKIM keys, DMARC records).
	Resolver dns.Resolver

	// EgressIPs are the public addresses our upstream sends from when it
	// forwards mail onwards. When set, the egress check predicts whether
	// the next hop's SPF and DMARC will accept the message. Leave empty
	// when the upstream delivers locally. At most 8.
	EgressIPs []netip.Addr

	// MaxDKIMSignatures bounds the DKIM signatures verified per message
	// (0 means DefaultMaxDKIMSignatures; at most 20). Later signatures are
	// ignored, and the DKIM symbol's detail says so.
	MaxDKIMSignatures int

	// Scores overrides default symbol scores by symbol name. An unknown
	// name is an error, so a typo in the config cannot pass silently.
	Scores map[string]float64
}

// Auth holds the configured checks' shared state. It is safe for
// concurrent use and keeps no per-message state.
type Auth struct {
	res     dns.Resolver
	lookup  lookups
	scores  map[string]float64
	egress  []netip.Addr
	maxSigs int
}

// New validates opts and returns the checks: spf, dkim, dmarc, and egress
// when EgressIPs is set.
func New(opts Options) ([]scoring.Check, error) {
	a, err := NewAuth(opts)
	if err != nil {
		return nil, err
	}
	return a.Checks(), nil
}

// NewAuth validates opts. Use it instead of New to call EvaluateSPF too.
func NewAuth(opts Options) (*Auth, error) {
	if opts.Resolver == nil {
		return nil, errors.New("auth: a resolver is required")
	}
	maxSigs := opts.MaxDKIMSignatures
	switch {
	case maxSigs == 0:
		maxSigs = DefaultMaxDKIMSignatures
	case maxSigs < 0 || maxSigs > maxDKIMSignaturesLimit:
		return nil, fmt.Errorf("auth: max DKIM signatures %d: want 1 to %d", maxSigs, maxDKIMSignaturesLimit)
	}
	if len(opts.EgressIPs) > maxEgressIPs {
		return nil, fmt.Errorf("auth: %d egress IPs: at most %d are evaluated per message", len(opts.EgressIPs), maxEgressIPs)
	}
	var egress []netip.Addr
	for _, ip := range opts.EgressIPs {
		if !ip.IsValid() {
			return nil, errors.New("auth: invalid egress IP")
		}
		ip = ip.Unmap()
		if !slices.Contains(egress, ip) {
			egress = append(egress, ip)
		}
	}
	scores := DefaultScores()
	var unknown []string
	for name, s := range opts.Scores {
		if _, ok := scores[name]; !ok {
			unknown = append(unknown, name)
			continue
		}
		scores[name] = s
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("auth: unknown symbols in scores: %s", strings.Join(unknown, ", "))
	}
	return &Auth{
		res:     opts.Resolver,
		lookup:  lookups{opts.Resolver},
		scores:  scores,
		egress:  egress,
		maxSigs: maxSigs,
	}, nil
}

// Checks returns the configured checks.
func (a *Auth) Checks() []scoring.Check {
	checks := []scoring.Check{
		scoring.CheckFunc{CheckName: CheckSPF, CheckPhase: scoring.PhaseMail, Fn: a.runSPF},
		scoring.CheckFunc{CheckName: CheckSPFHop, CheckPhase: scoring.PhaseData, Fn: a.runHopSPF},
		scoring.CheckFunc{CheckName: CheckDKIM, CheckPhase: scoring.PhaseData, Fn: a.runDKIM},
		scoring.CheckFunc{CheckName: CheckDMARC, CheckPhase: scoring.PhaseData, Fn: a.runDMARC},
	}
	if len(a.egress) > 0 {
		checks = append(checks, scoring.CheckFunc{CheckName: CheckEgress, CheckPhase: scoring.PhaseData, Fn: a.runEgress})
	}
	return checks
}

// sym makes a symbol with its configured score.
func (a *Auth) sym(name, detail string) scoring.Symbol {
	s, ok := a.scores[name]
	if !ok {
		// A name missing from DefaultScores is a bug in this package;
		// score it 0 rather than fail a message over it.
		s = 0
	}
	return scoring.Symbol{Name: name, Score: s, Detail: detail}
}
