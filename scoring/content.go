package scoring

import (
	"context"
	"strconv"

	"relayguard/rules"
)

// ContentChecks adapts a content rule set to the engine: a data-phase
// check named "content" that runs every non-meta rule on the message, and
// a final-phase check named "meta" that runs the meta rules once every
// other check's symbols are known (so a meta may name DKIM_VALID or a
// DNSBL symbol as well as content rules).
func ContentChecks(rs *rules.Ruleset) []Check {
	return []Check{contentCheck{rs}, metaCheck{rs}}
}

type contentCheck struct{ rs *rules.Ruleset }

func (contentCheck) Name() string { return "content" }
func (contentCheck) Phase() Phase { return PhaseData }

// Run evaluates the rules. The work is bounded by the rule set's scan
// limit (max_scan_bytes), so it normally ends in milliseconds; should a
// pathological message take longer, the engine stops waiting at the
// deadline (see join) and the verdict does not wait for it.
func (c contentCheck) Run(ctx context.Context, in *Input) Result {
	if in.Message == nil {
		return Result{}
	}
	hits := c.rs.EvaluateEnvelope(in.Message, rules.Envelope{Received: in.Received, Rcpts: in.Rcpts})
	return Result{Symbols: hitSymbols(hits)}
}

type metaCheck struct{ rs *rules.Ruleset }

func (metaCheck) Name() string { return "meta" }
func (metaCheck) Phase() Phase { return PhaseFinal }

func (c metaCheck) Run(ctx context.Context, in *Input) Result {
	names := make([]string, len(in.Symbols))
	for i, s := range in.Symbols {
		names[i] = s.Name
	}
	return Result{Symbols: hitSymbols(c.rs.EvaluateMeta(in.Message, names))}
}

// hitSymbols turns rule hits into symbols whose Detail says what the rule
// found and quotes the text that matched: `Pharmacy wording: "v1agra"`.
// The quote is Go-escaped (no raw control characters); front ends that
// need 7-bit text (SMTP replies) must still escape non-ASCII.
func hitSymbols(hits []rules.Hit) []Symbol {
	if len(hits) == 0 {
		return nil
	}
	syms := make([]Symbol, len(hits))
	for i, h := range hits {
		syms[i] = Symbol{Name: h.Name, Score: h.Score, Detail: hitDetail(h)}
	}
	return syms
}

func hitDetail(h rules.Hit) string {
	if h.Match == "" {
		return h.Description
	}
	return h.Description + ": " + strconv.Quote(h.Match)
}
