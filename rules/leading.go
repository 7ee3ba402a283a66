package rules

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Body rules whose every match starts with one of a few literals
// (`(?i)\blose\s+...` starts with LOSE) are searched from those literals
// only. An unanchored regex search over a long paragraph tries every byte
// as a start, and Go's regexp skips ahead only for a case-sensitive literal
// prefix; here an automaton finds where the literals are, and an anchored
// copy of the regex is tried at each of them in order: the first that
// matches is the leftmost match, the one the unanchored search returns.

// maxLeading bounds the literals kept for one pattern's start.
const maxLeading = 32

// leadStart is a body rule's start literals and its anchored copies.
type leadStart struct {
	ac *acMatcher
	// at0 is the regex anchored at the start of the text; atRune is it
	// after one rune (any), so that a match at p is tried on the text from
	// the rune before p: \b and (?m)^ see what precedes p, as they do in
	// the paragraph. Both wrap the pattern in a group: group 1 is its match.
	at0, atRune *regexp.Regexp
	lens        []int
	foldsOut    bool // a literal has K or S: the Kelvin sign and long s match it under (?i)
}

// newLeadStart returns the start search for pattern, or nil when its
// matches do not all start with a known ASCII literal.
func newLeadStart(pattern string) *leadStart {
	lits := leadingLiterals(pattern)
	if lits == nil {
		return nil
	}
	at0, err0 := regexp.Compile(`\A(` + pattern + `)`)
	atRune, err1 := regexp.Compile(`\A(?s:.)(` + pattern + `)`)
	if err0 != nil || err1 != nil {
		return nil
	}
	ls := &leadStart{ac: newACMatcher(lits), at0: at0, atRune: atRune, lens: make([]int, len(lits))}
	for i, l := range lits {
		ls.lens[i] = len(l)
		ls.foldsOut = ls.foldsOut || strings.ContainsAny(l, "KS")
	}
	return ls
}

// leadingLiterals returns case-folded ASCII literals one of which every
// match of pattern starts with, after its zero-width assertions; nil when
// there is no such set.
func leadingLiterals(pattern string) []string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	budget := maxLeadingSteps
	lits, ok := leading([]*syntax.Regexp{re.Simplify()}, &budget)
	if !ok || len(lits) == 0 {
		return nil
	}
	for _, l := range lits {
		if l == "" || strings.ContainsFunc(l, func(r rune) bool { return r >= utf8.RuneSelf }) {
			return nil
		}
	}
	slices.Sort(lits)
	return slices.Compact(lits)
}

// maxLeadingSteps bounds the work of leadingLiterals on one pattern: an
// optional part that may itself match empty makes the rest of the
// sequence be read twice, so nested ones would cost exponential time.
const maxLeadingSteps = 10000

// leading returns the literals that a match of the sequence seq starts
// with; ok=false when some match may start otherwise (with a character
// class, or be empty), or when budget runs out.
func leading(seq []*syntax.Regexp, budget *int) ([]string, bool) {
	if *budget--; *budget < 0 {
		return nil, false
	}
	for len(seq) > 0 {
		re, rest := seq[0], seq[1:]
		with := func(first ...*syntax.Regexp) []*syntax.Regexp {
			return append(slices.Clone(first), rest...)
		}
		switch re.Op {
		case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
			syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
			seq = rest
			continue
		case syntax.OpLiteral:
			return []string{string(foldForSearch(string(re.Rune), nil))}, true
		case syntax.OpCapture, syntax.OpPlus:
			return leading(with(re.Sub[0]), budget)
		case syntax.OpRepeat:
			if re.Min >= 1 {
				return leading(with(re.Sub[0]), budget)
			}
			return either(leading(with(re.Sub[0]), budget))(leading(rest, budget))
		case syntax.OpQuest, syntax.OpStar:
			return either(leading(with(re.Sub[0]), budget))(leading(rest, budget))
		case syntax.OpConcat:
			return leading(with(re.Sub...), budget)
		case syntax.OpAlternate:
			var all []string
			for _, sub := range re.Sub {
				lits, ok := leading(with(sub), budget)
				if !ok || len(all)+len(lits) > maxLeading {
					return nil, false
				}
				all = append(all, lits...)
			}
			return all, true
		}
		return nil, false
	}
	return nil, false
}

// either joins two leading sets: a match starts with one of either.
func either(a []string, aok bool) func([]string, bool) ([]string, bool) {
	return func(b []string, bok bool) ([]string, bool) {
		if !aok || !bok || len(a)+len(b) > maxLeading {
			return nil, false
		}
		return append(slices.Clone(a), b...), true
	}
}

// find is findMatch(re, text) for the rule ls was made from.
func (ls *leadStart) find(re *regexp.Regexp, text string) (string, bool) {
	whole, group, ok := ls.locate(re, text)
	switch {
	case !ok:
		return "", false
	case group[0] >= 0:
		return text[group[0]:group[1]], true
	}
	return text[whole[0]:whole[1]], true
}

// locate returns the leftmost match of re in text and its first group
// ({-1, -1} without one), as re.FindStringSubmatchIndex would.
func (ls *leadStart) locate(re *regexp.Regexp, text string) (whole, group [2]int, ok bool) {
	group = [2]int{-1, -1}
	if ls.foldsOut && (strings.Contains(text, "\u212a") || strings.Contains(text, "\u017f")) {
		loc := re.FindStringSubmatchIndex(text)
		if loc == nil {
			return whole, group, false
		}
		if len(loc) > 2 {
			group = [2]int{loc[2], loc[3]}
		}
		return [2]int{loc[0], loc[1]}, group, true
	}
	var buf [16]int
	starts := buf[:0]
	ls.ac.scan(unsafeBytes(text), func(id, end int) bool {
		starts = append(starts, end-ls.lens[id])
		return true
	})
	// The automaton reports by where literals end; literals of different
	// lengths may end in another order than they start.
	slices.Sort(starts)
	starts = slices.Compact(starts)
	for _, p := range starts {
		var loc []int
		q := p
		if p == 0 {
			loc = ls.at0.FindStringSubmatchIndex(text)
		} else {
			_, size := utf8.DecodeLastRuneInString(text[:p])
			q = p - size
			loc = ls.atRune.FindStringSubmatchIndex(text[q:])
		}
		if loc == nil {
			continue
		}
		// Group 1 is the pattern's match, group 2 its own first group.
		if len(loc) > 4 && loc[4] >= 0 {
			group = [2]int{q + loc[4], q + loc[5]}
		}
		return [2]int{q + loc[2], q + loc[3]}, group, true
	}
	return whole, group, false
}

// A pattern that is an alternation (`\$\d+|(?i:\b\d+ million)`) whose
// branches do not all start with literals is searched branch by branch:
// those that do from their literals, the others only in a text holding a
// literal they need. The leftmost match of the whole is the leftmost of the
// branches' matches, the earlier branch winning a tie, as in leftmost-first
// matching.
type altSearch struct {
	branches []branchSearch
}

type branchSearch struct {
	re   *regexp.Regexp
	lead *leadStart
	// need finds the literals one of which the branch needs (nil: it
	// always runs); needFolds as leadStart.foldsOut
	need      *acMatcher
	needFolds bool
}

// newAltSearch returns the branch-by-branch search for pattern, or nil
// when it is no alternation, has groups (findMatch would quote one) or no
// branch starts with literals.
func newAltSearch(pattern string) *altSearch {
	if re, err := regexp.Compile(pattern); err != nil || re.NumSubexp() > 0 {
		return nil
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	if re.Op != syntax.OpAlternate {
		return nil
	}
	as := &altSearch{}
	leads := 0
	for _, sub := range re.Sub {
		p := sub.String()
		bre, err := regexp.Compile(p)
		if err != nil {
			return nil
		}
		b := branchSearch{re: bre, lead: newLeadStart(p)}
		if b.lead != nil {
			leads++
		} else if lits := requiredLiterals(p); lits != nil && !slices.ContainsFunc(lits, func(l string) bool {
			return strings.ContainsFunc(l, func(r rune) bool { return r >= utf8.RuneSelf })
		}) {
			b.need = newACMatcher(lits)
			b.needFolds = slices.ContainsFunc(lits, func(l string) bool { return strings.ContainsAny(l, "KS") })
		}
		as.branches = append(as.branches, b)
	}
	if leads == 0 {
		return nil
	}
	return as
}

// find is findMatch for the pattern as was made from.
func (as *altSearch) find(text string) (string, bool) {
	best, end := -1, 0
	for _, b := range as.branches {
		var whole [2]int
		if b.lead != nil {
			w, _, ok := b.lead.locate(b.re, text)
			if !ok {
				continue
			}
			whole = w
		} else {
			if b.need != nil && !(b.needFolds && (strings.Contains(text, "\u212a") || strings.Contains(text, "\u017f"))) {
				found := false
				b.need.scan(unsafeBytes(text), func(int, int) bool {
					found = true
					return false
				})
				if !found {
					continue
				}
			}
			loc := b.re.FindStringIndex(text)
			if loc == nil {
				continue
			}
			whole = [2]int{loc[0], loc[1]}
		}
		if best < 0 || whole[0] < best {
			best, end = whole[0], whole[1]
		}
	}
	if best < 0 {
		return "", false
	}
	return text[best:end], true
}
