package classifier

import (
	"math"
	"slices"

	"relayguard/internal/store"
)

// The combiner is Gary Robinson's, as SpamAssassin and bogofilter use it:
// each token's spam probability f(w) is shrunk towards x = 0.5 with
// strength s = 1 (a token seen once says little), the most significant
// tokens are kept, and Fisher's method combines them into how strongly the
// message looks like spam and like ham (chi-square of -2 Σ ln p).
const (
	robinsonS      = 1.0
	robinsonX      = 0.5
	minDeviation   = 0.1 // |f(w) - 0.5| a token needs to count
	maxSignificant = 150
)

// tokenProb is Robinson's f(w) for a token seen in spam of nSpam learned
// spam messages and ham of nHam ham messages. ok is false for a token
// never learned (it says nothing).
func tokenProb(c store.TokenCounts, nSpam, nHam int64) (f float64, ok bool) {
	n := float64(c.Spam) + float64(c.Ham)
	if n == 0 || nSpam <= 0 || nHam <= 0 {
		return 0, false
	}
	// Counts are of messages, so a token can not be seen in more messages
	// than were learned; clamp in case a forget raced a learn.
	rs := min(float64(c.Spam)/float64(nSpam), 1)
	rh := min(float64(c.Ham)/float64(nHam), 1)
	p := rs / (rs + rh)
	return (robinsonS*robinsonX + n*p) / (robinsonS + n), true
}

// combine returns the spam probability of a message from its tokens'
// counts: 0.5 when nothing is known. used is how many tokens counted.
func combine(counts []store.TokenCounts, nSpam, nHam int64) (prob float64, used int) {
	fs := make([]float64, 0, len(counts))
	for _, c := range counts {
		if f, ok := tokenProb(c, nSpam, nHam); ok && math.Abs(f-0.5) > minDeviation {
			fs = append(fs, f)
		}
	}
	if len(fs) > maxSignificant {
		slices.SortFunc(fs, func(a, b float64) int {
			da, db := math.Abs(a-0.5), math.Abs(b-0.5)
			switch {
			case da > db:
				return -1
			case da < db:
				return 1
			}
			return 0
		})
		fs = fs[:maxSignificant]
	}
	return fisher(fs), len(fs)
}

// fisher combines token probabilities (SpamAssassin's
// chi_squared_probs_combine): S is how surely the tokens are not all ham,
// H how surely they are not all spam, and the result (1 + S - H) / 2.
func fisher(fs []float64) float64 {
	if len(fs) == 0 {
		return 0.5
	}
	var lnS, lnH float64
	for _, f := range fs {
		// f is in (0, 1) by construction (s > 0 shrinks it off the ends).
		lnS += math.Log(1 - f)
		lnH += math.Log(f)
	}
	dof := 2 * len(fs)
	s := 1 - chi2Q(-2*lnS, dof)
	h := 1 - chi2Q(-2*lnH, dof)
	return (1 + s - h) / 2
}

// chi2Q is the probability that a chi-square variable with dof (even)
// degrees of freedom exceeds x2: the series for even dof is exact.
func chi2Q(x2 float64, dof int) float64 {
	m := x2 / 2
	term := math.Exp(-m)
	sum := term
	for i := 1; i < dof/2; i++ {
		term *= m / float64(i)
		sum += term
	}
	return min(sum, 1)
}
