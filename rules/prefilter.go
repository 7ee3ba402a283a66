package rules

import (
	"regexp/syntax"
	"unicode/utf8"
)

// The prefilter keeps 1,000 regex rules cheap on a large message: for each
// pattern it finds literals of which at least one must occur in any match
// (for `(?i)free\s+(money|cash)` that is "FREE"). One Aho-Corasick pass over
// the case-folded text tells which literals occur; only the patterns whose
// literal was seen (and the few with no usable literal) run their regex.

// minLiteral is the shortest literal worth filtering on: shorter ones occur
// in nearly every message and only cost automaton states.
const minLiteral = 3

// maxLiterals bounds the alternatives kept for one pattern.
const maxLiterals = 64

// requiredLiterals returns folded literals one of which must appear in
// any text the pattern matches, or nil when there is no such set worth
// using (the pattern then always runs).
func requiredLiterals(pattern string) []string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	lits, ok := required(re.Simplify())
	if !ok {
		return nil
	}
	for _, l := range lits {
		if len(l) < minLiteral {
			return nil
		}
	}
	return lits
}

// required works out a literal set for one node: ok=false means "no
// requirement" (the node can match without any literal we know of).
func required(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		var buf []byte
		for _, r := range re.Rune {
			buf = utf8.AppendRune(buf, r)
		}
		return []string{string(foldForSearch(string(buf), nil))}, true
	case syntax.OpCapture:
		return required(re.Sub[0])
	case syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
		return nil, false
	case syntax.OpConcat:
		// Any child's requirement holds for the whole; keep the best one,
		// judged by its shortest literal.
		var best []string
		bestLen := 0
		for _, sub := range re.Sub {
			lits, ok := required(sub)
			if !ok {
				continue
			}
			if q := shortest(lits); q > bestLen {
				best, bestLen = lits, q
			}
		}
		return best, best != nil
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			lits, ok := required(sub)
			if !ok {
				return nil, false
			}
			all = append(all, lits...)
			if len(all) > maxLiterals {
				return nil, false
			}
		}
		return all, true
	}
	return nil, false
}

func shortest(lits []string) int {
	n := -1
	for _, l := range lits {
		if n < 0 || len(l) < n {
			n = len(l)
		}
	}
	if n < 0 {
		return 0
	}
	return n
}

// prefilter is the automaton for one text (body, raw, links) with the
// map from literals back to the rules that need them.
type prefilter struct {
	ac      *acMatcher
	litRule [][]int // literal id -> rule indexes
	always  []int   // rules with no literal: always run
	nrules  int
}

// newPrefilter builds the prefilter for patterns (indexed like rules).
func newPrefilter(patterns []string) *prefilter {
	pf := &prefilter{nrules: len(patterns)}
	var lits []string
	litID := map[string]int{}
	for i, p := range patterns {
		req := requiredLiterals(p)
		if req == nil {
			pf.always = append(pf.always, i)
			continue
		}
		for _, l := range req {
			id, ok := litID[l]
			if !ok {
				id = len(lits)
				litID[l] = id
				lits = append(lits, l)
				pf.litRule = append(pf.litRule, nil)
			}
			pf.litRule[id] = append(pf.litRule[id], i)
		}
	}
	if len(lits) > 0 {
		pf.ac = newACMatcher(lits)
	}
	return pf
}

// candidates returns, for folded text, which rules may match.
func (pf *prefilter) candidates(folded []byte) []bool {
	run := make([]bool, pf.nrules)
	for _, i := range pf.always {
		run[i] = true
	}
	if pf.ac == nil {
		return run
	}
	seen := make([]bool, len(pf.litRule))
	pf.ac.scan(folded, func(id, _ int) bool {
		if seen[id] {
			return true
		}
		seen[id] = true
		for _, r := range pf.litRule[id] {
			run[r] = true
		}
		return true
	})
	return run
}
