package scoring

import (
	"fmt"
	"math"

	"github.com/emersion/go-msgauth/authres"
)

// Action is what the front door does with a message.
type Action string

const (
	ActionAccept    Action = "accept"     // relay unchanged but for the headers
	ActionAddHeader Action = "add_header" // relay, marked as spam (X-Spam-Status: Yes)
	ActionReject    Action = "reject"     // 554 5.7.1 in the session
	ActionTempfail  Action = "tempfail"   // 451: checks failed, ask the client to retry
)

// Mode decides whether a reject verdict is carried out.
type Mode string

const (
	ModeEnforce Mode = "enforce"
	// ModeMonitor never rejects for score: the message is relayed with its
	// headers and the log says what would have happened.
	ModeMonitor Mode = "monitor"
)

// Explain is how much of a verdict a rejected client is told.
type Explain string

const (
	ExplainFull    Explain = "full"    // every positive symbol
	ExplainSummary Explain = "summary" // the top three
	ExplainNone    Explain = "none"    // only the score, threshold and reference
)

// Policy holds the thresholds and modes that turn a score into an action.
type Policy struct {
	Reject    float64 // score at or above which a message is rejected
	AddHeader float64 // score at or above which it is marked as spam
	Mode      Mode
	Explain   Explain
	// TempfailOnError answers 451 instead of judging a message on partial
	// evidence when a check failed (DNS trouble) and the score is short of
	// reject.
	TempfailOnError bool
}

// DefaultPolicy matches the embedded default config.
func DefaultPolicy() Policy {
	return Policy{Reject: 15, AddHeader: 6, Mode: ModeEnforce, Explain: ExplainSummary}
}

// Validate reports a policy that cannot be applied.
func (p Policy) Validate() error {
	if math.IsNaN(p.Reject) || math.IsNaN(p.AddHeader) {
		return fmt.Errorf("thresholds must be numbers")
	}
	if p.Reject < p.AddHeader {
		return fmt.Errorf("reject threshold %.1f is below add_header threshold %.1f", p.Reject, p.AddHeader)
	}
	switch p.Mode {
	case ModeEnforce, ModeMonitor:
	default:
		return fmt.Errorf("mode %q: want enforce or monitor", p.Mode)
	}
	switch p.Explain {
	case ExplainFull, ExplainSummary, ExplainNone:
	default:
		return fmt.Errorf("explain %q: want full, summary or none", p.Explain)
	}
	return nil
}

// Verdict is the engine's decision about one message.
type Verdict struct {
	Score   float64  `json:"score"`
	Action  Action   `json:"action"`
	Symbols []Symbol `json:"symbols"`
	// Auth collects the Authentication-Results entries of all checks.
	Auth []authres.Result `json:"-"`
	// Failed names the checks that could not finish (error or deadline).
	Failed []string `json:"failed,omitempty"`
	// WouldReject is set in monitor mode when enforce mode would have
	// rejected: the action is add_header, the log says what was spared.
	WouldReject bool `json:"would_reject,omitempty"`
	// Class is the recipients' policy class the verdict was decided
	// under; empty for the default class ([scoring]).
	Class string `json:"class,omitempty"`

	Policy Policy `json:"-"`
}

// Spam tells whether the message reached the add_header threshold.
func (v *Verdict) Spam() bool { return v.Score >= v.Policy.AddHeader }

// decide totals the symbols and picks the action under p.
func decide(p Policy, symbols []Symbol, auth []authres.Result, failed []string) Verdict {
	sortSymbols(symbols)
	var total float64
	for _, s := range symbols {
		total += s.Score
	}
	// Round away float noise so 5.1+0.9 reads and compares as 6.0.
	total = math.Round(total*1000) / 1000
	v := Verdict{Score: total, Symbols: symbols, Auth: auth, Failed: failed, Policy: p}
	switch {
	case total >= p.Reject && p.Mode == ModeMonitor:
		v.Action, v.WouldReject = ActionAddHeader, true
	case total >= p.Reject:
		v.Action = ActionReject
	case len(failed) > 0 && p.TempfailOnError:
		v.Action = ActionTempfail
	case total >= p.AddHeader:
		v.Action = ActionAddHeader
	default:
		v.Action = ActionAccept
	}
	return v
}
