// Package scoring turns evidence about a message into a verdict. Checks emit
// named, scored symbols; the engine runs them concurrently as soon as their
// inputs exist (connect, MAIL FROM, end of DATA), joins them under one
// deadline, and decides the action. Explanations (SMTP reply lines, headers)
// are built here too, so every front end explains a verdict the same way.
package scoring

import (
	"context"
	"net/netip"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"relayguard/rules"
)

// Phase is the point of the SMTP transaction at which a check has all it
// needs and can start.
type Phase int

const (
	// PhaseConnect checks need only the client IP and HELO name (DNSBL, rDNS).
	PhaseConnect Phase = iota
	// PhaseMail checks also need the envelope sender (SPF).
	PhaseMail
	// PhaseData checks need the message (content rules, DKIM, DMARC).
	PhaseData
	// PhaseFinal checks run after all others have been joined and see their
	// symbols (meta rules that combine other findings).
	PhaseFinal
)

func (p Phase) String() string {
	switch p {
	case PhaseConnect:
		return "connect"
	case PhaseMail:
		return "mail"
	case PhaseData:
		return "data"
	case PhaseFinal:
		return "final"
	}
	return "unknown"
}

// Check is one source of evidence. Run must honour ctx (the engine's
// deadline) and must not modify in. Run is called concurrently for
// different messages, so a Check keeps no per-message state.
type Check interface {
	Name() string
	Phase() Phase
	Run(ctx context.Context, in *Input) Result
}

// Result is what one check found.
type Result struct {
	Symbols []Symbol
	// Auth holds Authentication-Results entries (spf=, dkim=, dmarc=).
	Auth []authres.Result
	// Err is set when the check could not reach a conclusion (DNS failure,
	// timeout). Symbols found before the failure still count.
	Err error
	// Value lets a check hand a typed result to later-phase checks that ask
	// for it with Input.Prior (DMARC reads SPF's result this way).
	Value any
}

// Input is everything known about the transaction when a check starts.
// Each phase gets its own copy, so checks may read it without locks.
type Input struct {
	SessionID string
	ClientIP  netip.Addr
	// Helo is the name the client gave in HELO/EHLO.
	Helo string
	// AuthUser is the SMTP AUTH identity, empty when not authenticated.
	AuthUser string
	TLS      bool
	// Received is when the transaction started here.
	Received time.Time

	From  string   // envelope sender, from PhaseMail on ("" is the null sender)
	Rcpts []string // envelope recipients, from PhaseData on

	Message *rules.Message // from PhaseData on

	// Symbols holds every symbol found so far; filled for PhaseFinal only.
	Symbols []Symbol

	prior func(ctx context.Context, name string) (Result, bool)
}

// Prior waits for the result of an earlier-phase check by name. It returns
// false when no such check ran or ctx ended first.
func (in *Input) Prior(ctx context.Context, name string) (Result, bool) {
	if in.prior == nil {
		return Result{}, false
	}
	return in.prior(ctx, name)
}

// CheckFunc adapts a function to the Check interface.
type CheckFunc struct {
	CheckName  string
	CheckPhase Phase
	Fn         func(ctx context.Context, in *Input) Result
}

func (c CheckFunc) Name() string                              { return c.CheckName }
func (c CheckFunc) Phase() Phase                              { return c.CheckPhase }
func (c CheckFunc) Run(ctx context.Context, in *Input) Result { return c.Fn(ctx, in) }
