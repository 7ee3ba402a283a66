// Package scoring turns evidence about a message into a verdict. Checks emit
// named, scored symbols; the engine runs them concurrently as soon as their
// inputs exist (connect, MAIL FROM, each RCPT, end of DATA), joins them
// under one deadline, and decides the action. Explanations (SMTP reply
// lines, headers) are built here too, so every front end explains a
// verdict the same way.
//
// The seams:
//   - A Check says at which Phase it can start and returns a Result.
//   - The engine works out the transaction's Facts once (who logged in,
//     whether the mail is our users' outbound mail, the original hop behind
//     trusted relays) and hands them to every check in its Input.
//   - A check that needs another's finding asks for it by a typed Key:
//     the producer calls Publish, the consumer Await, and the compiler
//     checks that both agree on the type. A check may wait for any check of
//     an earlier phase or of its own (DMARC waits for DKIM); every check is
//     bounded by the engine's deadline, so a wait cannot hang.
package scoring

import (
	"context"
	"net/netip"
	"reflect"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"relayguard/internal/trace"
	"relayguard/rules/message"
)

// Phase is the point of the SMTP transaction at which a check has all it
// needs and can start.
type Phase int

const (
	// PhaseConnect checks need only the client IP and HELO name (DNSBL,
	// rDNS). They start when the session does and start again when the
	// client logs in (SMTP AUTH), so they judge the client as who it is.
	PhaseConnect Phase = iota
	// PhaseMail checks also need the envelope sender (SPF).
	PhaseMail
	// PhaseRcpt checks run once for each accepted recipient, with
	// Input.Rcpt set (per-recipient policy).
	PhaseRcpt
	// PhaseData checks need the message (content rules, DKIM, DMARC).
	PhaseData
	// PhaseFinal checks run after all others have been joined and see their
	// symbols (meta rules that combine other findings).
	PhaseFinal

	numPhases = iota
)

func (p Phase) String() string {
	switch p {
	case PhaseConnect:
		return "connect"
	case PhaseMail:
		return "mail"
	case PhaseRcpt:
		return "rcpt"
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

	// values are what the check published for others (Publish).
	values []published
}

type published struct {
	key   string
	value any
}

// Key is the typed name of a finding one check hands to others: the
// check's name and the finding's type. Declare it once beside the check
// that publishes it (var SPFResult = scoring.NewKey[*SPFOutcome]("spf")).
type Key[T any] struct{ check, name string }

// NewKey names the finding of type T that the check named check publishes.
func NewKey[T any](check string) Key[T] {
	return Key[T]{check: check, name: check + "/" + reflect.TypeFor[T]().String()}
}

// Check is the name of the check that publishes the finding.
func (k Key[T]) Check() string { return k.check }

// Publish records v as the check's finding under k.
func Publish[T any](r *Result, k Key[T], v T) {
	r.values = append(r.values, published{k.name, v})
}

// Await waits for the check that publishes k and returns its finding. It
// returns false when that check is not configured, published nothing, or
// ctx ended first.
func Await[T any](ctx context.Context, in *Input, k Key[T]) (T, bool) {
	var zero T
	if in.await == nil {
		return zero, false
	}
	r, ok := in.await(ctx, k.check)
	if !ok {
		return zero, false
	}
	return k.In(r)
}

// In returns the finding r carries under k (for tests and tools that run
// a check on its own).
func (k Key[T]) In(r Result) (T, bool) {
	for _, p := range r.values {
		if p.key == k.name {
			// Publish took a T under this name, so the assertion holds.
			return p.value.(T), true
		}
	}
	var zero T
	return zero, false
}

// Facts are what the engine works out once per transaction, so that no
// check walks the Received chain or decides "is this ours?" again.
type Facts struct {
	// AuthUser is the SMTP AUTH identity, empty when not authenticated.
	AuthUser string
	// Relayed tells that the client is a trusted relay (our own MTA): its
	// Received fields are believed, and the client itself is not judged.
	Relayed bool
	// Outbound tells that the transaction is our own users' mail going
	// out: an authenticated client, a client on our relay networks that is
	// not a trusted relay, or mail a trusted relay received by local or
	// authenticated submission. The receiving side judges its sender
	// authentication, not us. For a trusted relay it is known only at end
	// of DATA, from the Received fields, and is false before.
	Outbound bool
	// Hop is the original hop of mail a trusted relay handed us: the host
	// that gave it to the relay (from PhaseData on; nil when the client is
	// not a trusted relay or no untrusted hop was found).
	Hop *trace.Hop
	// FromDomains are the RFC5322.From domains, normalised, at most
	// message.MaxFromDomains (from PhaseData on; Message.From has the rest
	// of what the field says).
	FromDomains []string
}

// Input is everything known about the transaction when a check starts.
// Each phase gets its own copy, so checks may read it without locks.
type Input struct {
	SessionID string
	ClientIP  netip.Addr
	// Helo is the name the client gave in HELO/EHLO.
	Helo string
	TLS  bool
	// Received is when the transaction started here.
	Received time.Time

	Facts

	From  string   // envelope sender, from PhaseMail on ("" is the null sender)
	Rcpts []string // envelope recipients, from PhaseData on
	Rcpt  string   // the recipient being judged, in PhaseRcpt only

	Message *message.Message // from PhaseData on

	// Symbols holds every symbol found so far; filled for PhaseFinal only.
	Symbols []Symbol

	await func(ctx context.Context, check string) (Result, bool)
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
