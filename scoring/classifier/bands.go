package classifier

import "fmt"

// Symbol names, one per probability band, as SpamAssassin names them.
const (
	SymBayes00          = "BAYES_00"
	SymBayes05          = "BAYES_05"
	SymBayes20          = "BAYES_20"
	SymBayes40          = "BAYES_40"
	SymBayes50          = "BAYES_50"
	SymBayes60          = "BAYES_60"
	SymBayes80          = "BAYES_80"
	SymBayes95          = "BAYES_95"
	SymBayes99          = "BAYES_99"
	SymBayes999         = "BAYES_999"
	SymBayesUnavailable = "BAYES_UNAVAILABLE"
)

// bands map the probability to a symbol: each band holds probabilities
// from its lower bound up to the next band's. Unlike SpamAssassin, where
// BAYES_999 fires beside BAYES_99, one band fires per message.
//
// Default scores. Our add_header threshold is 6 and reject 15 (rspamd's
// scale). SpamAssassin gives BAYES_99 3.5 plus 0.2 for BAYES_999 against a
// threshold of 5; rspamd's BAYES_SPAM reaches 5.1 of 15. Ours stop at 5.0
// for BAYES_999: the classifier alone never reaches add_header, so a
// classifier trained on a narrow ham folder (one mailing list) cannot mark
// a legitimate newsletter as spam by itself; it needs one other finding
// of 1 or more. The ham bands are negative but smaller than the spam ones:
// spammers can write ham-looking text, so a ham verdict earns less than a
// spam one. The middle bands score nothing: they say "don't know".
var bands = []struct {
	low   float64
	name  string
	score float64
}{
	{0, SymBayes00, -3.0},
	{0.01, SymBayes05, -1.5},
	{0.05, SymBayes20, -0.5},
	{0.20, SymBayes40, 0},
	{0.40, SymBayes50, 0},
	{0.60, SymBayes60, 0.5},
	{0.80, SymBayes80, 2.0},
	{0.95, SymBayes95, 3.0},
	{0.99, SymBayes99, 4.0},
	{0.999, SymBayes999, 5.0},
}

// Band returns the symbol name for a spam probability.
func Band(prob float64) string {
	name := bands[0].name
	for _, b := range bands {
		if prob >= b.low {
			name = b.name
		}
	}
	return name
}

// DefaultScores returns every symbol the classifier emits with its default
// score; [scores] in the configuration overrides them.
func DefaultScores() map[string]float64 {
	m := map[string]float64{SymBayesUnavailable: 0}
	for _, b := range bands {
		m[b.name] = b.score
	}
	return m
}

// scoreTable merges overrides over the defaults; an unknown name is an
// error (a typo must not pass silently).
func scoreTable(over map[string]float64) (map[string]float64, error) {
	m := DefaultScores()
	for name, v := range over {
		if _, ok := m[name]; !ok {
			return nil, fmt.Errorf("classifier: scores.%s: not a classifier symbol", name)
		}
		m[name] = v
	}
	return m, nil
}
