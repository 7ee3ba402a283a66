package classifier

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"relayguard/internal/store"
	"relayguard/scoring"
)

// CheckName is the classifier check's name.
const CheckName = "classifier"

// Checks returns the classifier's checks: the verdict at end of DATA, and,
// when autolearn is on, the autolearner after every other check.
func (c *Classifier) Checks() []scoring.Check {
	out := []scoring.Check{scoring.CheckFunc{CheckName: CheckName, CheckPhase: scoring.PhaseData, Fn: c.run}}
	if c.auto {
		out = append(out, scoring.CheckFunc{CheckName: "classifier_autolearn", CheckPhase: scoring.PhaseFinal, Fn: c.autolearn})
	}
	return out
}

func (c *Classifier) run(ctx context.Context, in *scoring.Input) scoring.Result {
	if in.Message == nil {
		return scoring.Result{}
	}
	v, err := c.Classify(ctx, in.Message, in.Hop)
	if err != nil {
		// Abstain, never fail the message: a zero-score symbol says why,
		// in words for the headers (the log has the error).
		return scoring.Result{Symbols: []scoring.Symbol{{Name: SymBayesUnavailable,
			Score: c.scores[SymBayesUnavailable], Detail: "classifier abstained: " + causeOf(err)}}}
	}
	if !v.Ready {
		return scoring.Result{}
	}
	name := Band(v.Prob)
	return scoring.Result{Symbols: []scoring.Symbol{{Name: name, Score: c.scores[name],
		Detail: fmt.Sprintf("spam probability %.4f from %d of %d tokens", v.Prob, v.Used, v.Tokens)}}}
}

// causeOf names a store failure in plain words.
func causeOf(err error) string {
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return "state store unavailable"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "state store too slow"
	}
	return "state store error"
}

// Autolearn counters, kept in the store (no expiry) so every instance
// adds to the same figures and `relayguard learn --stats` shows them.
const (
	counterPrefix       = "classifier:autolearn:"
	CounterAutoSpam     = counterPrefix + "spam"
	CounterAutoHam      = counterPrefix + "ham"
	CounterSkippedOurs  = counterPrefix + "skipped_ours"  // authenticated or outbound
	CounterSkippedKnown = counterPrefix + "skipped_known" // learned before
)

// autolearn learns a message whose score, without the classifier's own
// symbols, is far from the thresholds. Never our customers' mail (a
// compromised account would teach us its spam is ham, or their own
// newsletters are spam), never a message already learned, by hand or
// automatically (a human's class wins, and the same direction twice is
// how autolearn "learns its own errors").
func (c *Classifier) autolearn(ctx context.Context, in *scoring.Input) scoring.Result {
	if in.Message == nil {
		return scoring.Result{}
	}
	var score float64
	for _, s := range in.Symbols {
		if !strings.HasPrefix(s.Name, "BAYES_") {
			score += s.Score
		}
	}
	var spam bool
	switch {
	case score >= c.autoSpam:
		spam = true
	case score <= c.autoHam:
		spam = false
	default:
		return scoring.Result{}
	}
	if in.AuthUser != "" || in.Outbound {
		c.count(ctx, CounterSkippedOurs)
		return scoring.Result{}
	}
	id, err := MessageID(in.Message)
	if err != nil {
		return scoring.Result{}
	}
	if _, had, err := c.st.Mark(ctx, learnedKey(id)); err != nil || had {
		if had {
			c.count(ctx, CounterSkippedKnown)
		}
		return scoring.Result{}
	}
	out, err := c.Learn(ctx, in.Message, in.Hop, spam)
	if err != nil {
		c.log.Warn("classifier autolearn failed", "session", in.SessionID, "err", err)
		return scoring.Result{}
	}
	if out != Learned {
		c.count(ctx, CounterSkippedKnown)
		return scoring.Result{}
	}
	if spam {
		c.count(ctx, CounterAutoSpam)
	} else {
		c.count(ctx, CounterAutoHam)
	}
	return scoring.Result{}
}

func (c *Classifier) count(ctx context.Context, key string) {
	c.st.Add(ctx, key, 1, 0)
}

// Stats are the classifier's figures for `relayguard learn --stats`.
type Stats struct {
	LearnedSpam, LearnedHam int64
	Tokens                  int64 // distinct tokens in the store (-1: unknown)
	AutoSpam, AutoHam       int64
	// SkippedOurs counts verdicts autolearn refused because the mail was
	// our customers' (authenticated or outbound); SkippedKnown those
	// already learned.
	SkippedOurs, SkippedKnown int64
}

// StatsOf reads the figures. tokens is the store's distinct token count
// (store.Stats), or -1.
func (c *Classifier) StatsOf(ctx context.Context, tokens int64) (Stats, error) {
	s := Stats{Tokens: tokens}
	var err error
	if s.LearnedSpam, s.LearnedHam, err = c.st.Totals(ctx); err != nil {
		return s, fmt.Errorf("classifier stats: %w", err)
	}
	n, err := c.st.Counts(ctx, []string{CounterAutoSpam, CounterAutoHam, CounterSkippedOurs, CounterSkippedKnown})
	if err != nil {
		return s, fmt.Errorf("classifier stats: %w", err)
	}
	s.AutoSpam, s.AutoHam, s.SkippedOurs, s.SkippedKnown = n[0], n[1], n[2], n[3]
	return s, nil
}
