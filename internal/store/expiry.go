package store

import "time"

// The classifier's tokens expire the way rspamd's bayes_expiry keeps its
// Redis bounded: what matters to a verdict stays, noise goes. Every token
// remembers the day it was last learned (file) or carries a TTL refreshed
// on every learn (Redis), and falls in one of three classes by its counts:
//
//   - one-off (seen in one message in all): most tokens of any corpus are
//     names, ids and typos seen once; they go OneOffTTL after last seen.
//   - significant (seen in at least SignificantMin messages, at least
//     SignificantShare of them in one class): the evidence the classifier
//     runs on; kept however old, so a quiet month does not forget spam.
//   - the rest (common words, or rare mixed ones): go CommonTTL after last
//     seen.
//
// Message totals are never pruned (rspamd does the same): a pruned token
// only weakens its own evidence, and the totals still say how much the
// classifier has learned.
const (
	OneOffTTL        = 30 * 24 * time.Hour
	CommonTTL        = 180 * 24 * time.Hour
	SignificantMin   = 10
	SignificantShare = 0.8
)

// tokenTTL is how long after its last learn a token with these counts is
// kept; 0 means forever (significant).
func tokenTTL(c TokenCounts) time.Duration {
	total := int64(c.Spam) + int64(c.Ham)
	switch {
	case total <= 1:
		return OneOffTTL
	case total >= SignificantMin && float64(max(c.Spam, c.Ham)) >= SignificantShare*float64(total):
		return 0
	}
	return CommonTTL
}
