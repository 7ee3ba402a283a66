package rules

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"
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
		if !usefulLiteral(l) {
			return nil
		}
	}
	return lits
}

// maxExtraSets bounds the further literal sets kept for one pattern.
const maxExtraSets = 4

// extraLiterals returns further literal sets a match of pattern needs, each
// from a different part of its top-level sequence: for
// `^[a-z]+://[^/]+/.*(?:@|%40)` the prefilter's set is {"://"} and the
// extra one {"@", "%40"}. A rule is a candidate only when one literal of
// every set occurs, so a rule whose best literal is in every URL still
// skips the URLs without its other parts.
func extraLiterals(pattern string, primary []string) [][]string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil || primary == nil {
		return nil
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	if re.Op != syntax.OpConcat {
		return nil
	}
	var extra [][]string
	for _, sub := range re.Sub {
		lits, ok := required(sub)
		if !ok || len(lits) == 0 || slices.Equal(lits, primary) || slices.ContainsFunc(lits, func(l string) bool { return !usefulLiteral(l) }) {
			continue
		}
		extra = append(extra, lits)
		if len(extra) == maxExtraSets {
			break
		}
	}
	return extra
}

// rarePunct is punctuation ordinary text seldom has: a literal made of it
// filters well however short. (Not = < > or *, which fill raw HTML and
// quoted-printable.)
const rarePunct = "$%&#@!|~^{}[]\\"

// usefulLiteral tells whether a literal filters well: long enough, or a
// short run of the punctuation that ordinary text seldom has ($, !!!, &#).
func usefulLiteral(l string) bool {
	if len(l) >= minLiteral {
		return true
	}
	if l == "" {
		return false
	}
	for i := 0; i < len(l); i++ {
		if strings.IndexByte(rarePunct, l[i]) < 0 {
			return false
		}
	}
	return true
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
		if re.Min < 1 {
			return nil, false
		}
		lits, ok := required(re.Sub[0])
		// x{3,} of a literal needs the literal three times in a row.
		if ok && re.Sub[0].Op == syntax.OpLiteral && re.Min > 1 && re.Min*len(lits[0]) <= 64 {
			return []string{strings.Repeat(lits[0], re.Min)}, true
		}
		return lits, ok
	case syntax.OpConcat:
		// Any child's requirement holds for the whole; keep the one that
		// filters best.
		var best []string
		bestQ := 0
		consider := func(lits []string) {
			if q := literalQuality(lits); q > bestQ {
				best, bestQ = lits, q
			}
		}
		for i, sub := range re.Sub {
			if lits, ok := required(sub); ok {
				consider(lits)
			}
			// Adjacent literals make a longer one: "ab" then "c" is "abc";
			// a repeat may end such a run with its first copies (a b+ c
			// holds "ab", not "abc").
			if run := literalRun(re.Sub[i:]); run != "" {
				consider([]string{run})
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

// literalRun is the folded text that the sequence subs must start with:
// its leading literals, and the copies a following repeat must make.
func literalRun(subs []*syntax.Regexp) string {
	var b strings.Builder
	for _, sub := range subs {
		switch sub.Op {
		case syntax.OpLiteral:
			b.WriteString(string(sub.Rune))
			continue
		case syntax.OpPlus, syntax.OpRepeat:
			min := 1
			if sub.Op == syntax.OpRepeat {
				min = sub.Min
			}
			if sub.Sub[0].Op == syntax.OpLiteral && min >= 1 && min <= 16 {
				b.WriteString(strings.Repeat(string(sub.Sub[0].Rune), min))
			}
		}
		break
	}
	return string(foldForSearch(b.String(), nil))
}

// literalQuality ranks literal sets: punctuation such as $ or % is rare
// in ordinary text and filters best; otherwise longer is better.
func literalQuality(lits []string) int {
	punct := true
	for _, l := range lits {
		for i := 0; i < len(l) && punct; i++ {
			punct = strings.IndexByte(rarePunct, l[i]) >= 0
		}
	}
	if punct && len(lits) > 0 && usefulLiteral(lits[0]) {
		return 100 + shortest(lits)
	}
	return shortest(lits)
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
	ascii   bool    // every literal is ASCII: ASCII-only folding suffices
	litRule [][]int // literal id -> rule indexes
	always  []int   // rules with no literal: always run
	nrules  int
	// extra[rule] are further literal sets (literal ids) the rule needs,
	// one of each, in the text (candidates) or the paragraph
	// (paragraphHits).
	extra map[int][][]int
}

// newPrefilter builds the prefilter for patterns (indexed like rules).
func newPrefilter(patterns []string) *prefilter {
	pf := &prefilter{nrules: len(patterns)}
	var lits []string
	litID := map[string]int{}
	idOf := func(l string) int {
		id, ok := litID[l]
		if !ok {
			id = len(lits)
			litID[l] = id
			lits = append(lits, l)
			pf.litRule = append(pf.litRule, nil)
		}
		return id
	}
	for i, p := range patterns {
		req := requiredLiterals(p)
		if req == nil {
			pf.always = append(pf.always, i)
			continue
		}
		for _, l := range req {
			id := idOf(l)
			pf.litRule[id] = append(pf.litRule[id], i)
		}
		for _, set := range extraLiterals(p, req) {
			ids := make([]int, len(set))
			for k, l := range set {
				ids[k] = idOf(l)
			}
			if pf.extra == nil {
				pf.extra = map[int][][]int{}
			}
			pf.extra[i] = append(pf.extra[i], ids)
		}
	}
	if len(lits) > 0 {
		pf.ac = newACMatcher(lits)
	}
	pf.ascii = true
	for _, l := range lits {
		pf.ascii = pf.ascii && !strings.ContainsFunc(l, func(r rune) bool { return r >= utf8.RuneSelf })
	}
	return pf
}

// candidatesIn returns which rules may match text. With ASCII literals the
// automaton reads the text as it is (it matches ASCII case-insensitively);
// only the two non-ASCII letters that fold to ASCII ones (the Kelvin sign
// and long s) force a folded copy.
func (pf *prefilter) candidatesIn(text string) []bool {
	var seen []bool
	return pf.candidatesInto(make([]bool, pf.nrules), &seen, text)
}

// candidatesInto is candidatesIn writing into run (nrules long) with
// *seen as scratch (grown when short): the link rules ask once per link target,
// and two new slices a target were a quarter of an evaluation's
// allocations on mail with links.
func (pf *prefilter) candidatesInto(run []bool, seen *[]bool, text string) []bool {
	if pf.ascii && !strings.Contains(text, "\u212a") && !strings.Contains(text, "\u017f") {
		return pf.candidates(run, seen, unsafeBytes(text))
	}
	return pf.candidates(run, seen, foldForSearch(text, nil))
}

// candidates fills run (nrules long) with which rules may match folded
// text; *scratch holds one flag per literal, grown when short.
func (pf *prefilter) candidates(run []bool, scratch *[]bool, folded []byte) []bool {
	clear(run)
	for _, i := range pf.always {
		run[i] = true
	}
	if pf.ac == nil {
		return run
	}
	if cap(*scratch) < len(pf.litRule) {
		*scratch = make([]bool, len(pf.litRule))
	}
	seen := (*scratch)[:len(pf.litRule)]
	clear(seen)
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
	for r, sets := range pf.extra {
		for _, set := range sets {
			if run[r] && !slices.ContainsFunc(set, func(id int) bool { return seen[id] }) {
				run[r] = false
			}
		}
	}
	return run
}

// paragraphStarts splits text into paragraphs at blank lines, returning
// the offset where each starts (the first is 0).
func paragraphStarts(text string) []int { return appendParagraphStarts(nil, text) }

// appendParagraphStarts is paragraphStarts appending to starts, so that an
// evaluation can keep them in a buffer on its stack: grown from one, they
// were two to four allocations a message.
func appendParagraphStarts(starts []int, text string) []int {
	starts = append(starts, 0)
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "\n\n")
		if j < 0 {
			break
		}
		i += j + 2
		for i < len(text) && text[i] == '\n' {
			i++
		}
		if i < len(text) {
			starts = append(starts, i)
		}
	}
	return starts
}

// paragraph returns paragraph k of text given its starts.
func paragraph(text string, starts []int, k int) string {
	end := len(text)
	if k+1 < len(starts) {
		end = starts[k+1]
	}
	return text[starts[k]:end]
}

// paragraphHits tells, for each rule, in which paragraphs one of its
// literals occurs, so its regex runs on those paragraphs only. every[i] is
// set for rules to run on every paragraph: those without literals, and all
// rules when the text needed folding (offsets in a folded copy are not
// offsets in the text).
func (pf *prefilter) paragraphHits(text string, starts []int) (every []bool, paras [][]int32) {
	every = make([]bool, pf.nrules)
	paras = make([][]int32, pf.nrules)
	for _, i := range pf.always {
		every[i] = true
	}
	if pf.ac == nil {
		return every, paras
	}
	if !pf.ascii || strings.Contains(text, "\u212a") || strings.Contains(text, "\u017f") {
		var seen []bool
		cand := pf.candidates(make([]bool, pf.nrules), &seen, foldForSearch(text, nil))
		for i, c := range cand {
			every[i] = every[i] || c
		}
		return every, paras
	}
	k := 0                       // paragraph of the current match: matches come in text order
	var litParas map[int][]int32 // paragraphs holding each literal of an extra set
	if len(pf.extra) > 0 {
		litParas = map[int][]int32{}
	}
	pf.ac.scan(unsafeBytes(text), func(id, end int) bool {
		start := end - pf.ac.lens[id]
		for k+1 < len(starts) && starts[k+1] <= start {
			k++
		}
		for _, r := range pf.litRule[id] {
			if n := len(paras[r]); n == 0 || paras[r][n-1] != int32(k) {
				paras[r] = append(paras[r], int32(k))
			}
		}
		if litParas != nil {
			if ps := litParas[id]; len(ps) == 0 || ps[len(ps)-1] != int32(k) {
				litParas[id] = append(ps, int32(k))
			}
		}
		return true
	})
	// A match lies within one paragraph, so a paragraph must hold one
	// literal of each of the rule's extra sets too.
	for r, sets := range pf.extra {
		paras[r] = slices.DeleteFunc(paras[r], func(k int32) bool {
			for _, set := range sets {
				if !slices.ContainsFunc(set, func(id int) bool { return slices.Contains(litParas[id], k) }) {
					return true
				}
			}
			return false
		})
	}
	return every, paras
}

// unsafeBytes views a string as bytes for reading only.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
