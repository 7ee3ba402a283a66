package rules

import (
	"io"
	"regexp"
	"relayguard/rules/heuristics"
	"relayguard/rules/message"
	"slices"
	"sort"
	"strings"
	"time"
)

// evalCtx is one evaluation of one compilation on one message. The texts
// each kind of rule reads are made on first use.
type evalCtx struct {
	m        *message.Message
	c        *compiled
	received time.Time
	rcpts    []string

	bodyDone bool
	body     string // Subject, then the visible text

	refDone bool
	ref     time.Time
}

// bodyText is what body and phrase rules read: the decoded Subject on the
// first line, then the visible text, as SpamAssassin's body rules do.
func (e *evalCtx) bodyText() string {
	if !e.bodyDone {
		e.bodyDone = true
		subj := strings.TrimSpace(e.m.HeaderText("Subject"))
		vis := e.m.VisibleText()
		if subj == "" {
			e.body = vis
		} else {
			e.body = subj + "\n" + vis
		}
	}
	return e.body
}

func (e *evalCtx) refTime() time.Time {
	if !e.refDone {
		e.refDone = true
		e.ref = message.ReferenceTime(e.m, e.received)
	}
	return e.ref
}

// maxMatch bounds the quoted text of a hit: enough to recognise it.
const maxMatch = 80

func clipMatch(s string) string {
	s = message.ClipText(s, maxMatch)
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func (c *compiled) evaluate(m *message.Message, env Envelope) *evaluation {
	e := &evalCtx{m: m, c: c, received: env.Received, rcpts: env.Rcpts}
	type result struct {
		score float64
		match string
		fired bool
	}
	// By rule position: one allocation, where a map grew with each hit.
	found := make([]result, len(c.rules))
	fired := 0
	fire := func(r *rule, score float64, match string) {
		if !found[r.pos].fired {
			fired++
		}
		found[r.pos] = result{score, clipMatch(match), true}
	}

	if len(c.bodyRules) > 0 {
		// Body rules match within one paragraph, as SpamAssassin's do,
		// and run only on the paragraphs holding one of their literals.
		text := e.bodyText()
		var startBuf [64]int // paragraphs of most messages
		starts := appendParagraphStarts(startBuf[:0], text)
		every, paras := c.body.paragraphHits(text, starts)
		for i, r := range c.bodyRules {
			match, ok := "", false
			if every[i] {
				for k := range starts {
					if match, ok = r.findBody(paragraph(text, starts, k)); ok {
						break
					}
				}
			} else {
				for _, k := range paras[i] {
					if match, ok = r.findBody(paragraph(text, starts, int(k))); ok {
						break
					}
				}
			}
			switch {
			case ok && !r.negate:
				fire(r, r.Score, match)
			case !ok && r.negate:
				fire(r, r.Score, "")
			}
		}
	}
	if len(c.rawRules) > 0 {
		raw := readRaw(m, c.opts.maxScan())
		cand := c.raw.candidatesIn(raw)
		for i, r := range c.rawRules {
			runRegex(r, cand[i], raw, fire)
		}
	}
	if len(c.uriRules) > 0 {
		links := m.Links()
		// Scratch shared by the three parts: the distinct targets, and
		// the candidate rules of each target in one flat slice.
		seen := make(map[string]bool, len(links))
		targets := make([]string, 0, len(links))
		var cands, lits []bool
		for part, rs := range c.uriRules {
			// Each distinct target once, in order of first appearance
			// (links share hosts), with the rules its literals allow: a
			// rule's regex runs only on the targets holding them.
			clear(seen)
			targets = targets[:0]
			n := len(rs)
			for _, l := range links {
				t := linkPart(l, part)
				if seen[t] {
					continue
				}
				seen[t] = true
				targets = append(targets, t)
			}
			cands = slices.Grow(cands[:0], n*len(targets))[:n*len(targets)]
			for k, t := range targets {
				c.uri[part].candidatesInto(cands[k*n:(k+1)*n], &lits, t)
			}
			for i, r := range rs {
				for k, t := range targets {
					if cands[k*n+i] && r.re.MatchString(t) {
						fire(r, r.Score, t)
						break
					}
				}
			}
		}
	}
	// One Input for every built-in, each rule setting its own knobs: built
	// per rule it escaped to the heap, with its two method values, some
	// 200 allocations a message.
	in := heuristics.Input{Msg: m, Body: e.bodyText, Arrival: e.refTime, Rcpts: e.rcpts, Brands: c.brands}
	var hv headerValues
	for _, r := range c.rules {
		switch r.Kind {
		case KindHeader:
			v := hv.value(m, r.header, r.hpart)
			match, ok := findMatch(r.re, v)
			if ok != r.negate {
				fire(r, r.Score, match)
			}
		case KindBuiltin:
			in.Min, in.Domains, in.DomainPaths = r.min, r.domains, r.domainPaths
			if match, ok := r.bi.Fn(&in); ok {
				fire(r, r.Score, match)
			}
		}
	}
	if c.phrases != nil {
		for r, res := range e.phraseHits() {
			fire(r, res.score, res.match)
		}
	}

	ev := &evaluation{fired: make(map[string]bool, fired)}
	for _, r := range c.rules {
		res := found[r.pos]
		if !res.fired {
			continue
		}
		ev.fired[r.Name] = true
		if r.sub || r.Score == 0 {
			continue
		}
		ev.hits = append(ev.hits, Hit{Name: r.Name, Score: res.score, Description: r.Description, Match: res.match})
	}
	return ev
}

// runRegex runs one body or raw rule whose prefilter verdict is cand.
func runRegex(r *rule, cand bool, text string, fire func(*rule, float64, string)) {
	var match string
	found := false
	if cand {
		match, found = findMatch(r.re, text)
	}
	switch {
	case found && !r.negate:
		fire(r, r.Score, match)
	case !found && r.negate:
		fire(r, r.Score, "")
	}
}

// findMatch returns what a rule quotes: the first capture group when the
// pattern has one that took part in the match (so a rule can match context
// but quote only the telling part), else the whole match.
func findMatch(re *regexp.Regexp, text string) (string, bool) {
	if re.NumSubexp() == 0 {
		loc := re.FindStringIndex(text)
		if loc == nil {
			return "", false
		}
		return text[loc[0]:loc[1]], true
	}
	loc := re.FindStringSubmatchIndex(text)
	if loc == nil {
		return "", false
	}
	if loc[2] >= 0 {
		return text[loc[2]:loc[3]], true
	}
	return text[loc[0]:loc[1]], true
}

func readRaw(m *message.Message, limit int64) string {
	n := m.Size()
	if n > limit {
		n = limit
	}
	buf := make([]byte, n)
	k, _ := io.ReadFull(m.Raw(), buf)
	return string(buf[:k])
}

func linkPart(l message.Link, part string) string {
	switch part {
	case "host":
		return l.Host
	case "text":
		return l.Text
	}
	return l.URL
}

// headerValue is what a header rule reads: every field of that name,
// decoded, one per line; with :addr or :name the addresses or display
// names; ALL is the whole header as "Name: value" lines.
// headerValues keeps the values the header rules read, by header and
// part, for one evaluation: four default rules read the Subject, and each
// read made a new slice of its values and decoded them again.
type headerValues struct {
	kept [8]struct{ name, part, value string }
	n    int
}

// value is headerValue(m, name, part), worked out once per header and part
// (the first eight asked; the rest every time).
func (hv *headerValues) value(m *message.Message, name, part string) string {
	for i := range hv.kept[:hv.n] {
		if k := &hv.kept[i]; k.name == name && k.part == part {
			return k.value
		}
	}
	v := headerValue(m, name, part)
	if hv.n < len(hv.kept) {
		hv.kept[hv.n] = struct{ name, part, value string }{name, part, v}
		hv.n++
	}
	return v
}

func headerValue(m *message.Message, name, part string) string {
	if name == "ALL" {
		var b strings.Builder
		f := m.Header.Fields()
		for f.Next() {
			b.WriteString(f.Key())
			b.WriteString(": ")
			b.WriteString(message.DecodeHeader(f.Value()))
			b.WriteByte('\n')
		}
		return b.String()
	}
	switch part {
	case "addr", "name":
		var vals []string
		for _, a := range m.HeaderAddresses(name) {
			if part == "addr" {
				vals = append(vals, a.Addr)
			} else {
				vals = append(vals, a.Name)
			}
		}
		return strings.Join(vals, "\n")
	}
	vals := m.Header.Values(name)
	for i, v := range vals {
		vals[i] = message.DecodeHeader(v)
	}
	return strings.Join(vals, "\n")
}

type phraseResult struct {
	score float64
	match string
}

// maxPhraseQuotes bounds the phrases quoted per hit.
const maxPhraseQuotes = 3

// phraseHits finds the phrase lists' words in the normalised body text.
// Each distinct phrase counts once; a rule scores the sum of the weights
// of its phrases found, up to its own score.
func (e *evalCtx) phraseHits() map[*rule]phraseResult {
	c := e.c
	text := e.bodyText()
	sc := getPhraseScratch(len(c.phrases.pats))
	defer sc.put()
	// Track where words came from in the same pass, to quote them.
	words, ranges := normaliseWordsIn(text, true, sc)
	hits := c.phrases.firsts(words, sc.hits[:0], sc.seen)
	sc.hits = hits
	if len(hits) == 0 {
		return nil
	}
	quote := func(start, end int) string {
		i := sort.Search(len(ranges), func(i int) bool { return int(ranges[i].out) >= start })
		j := sort.Search(len(ranges), func(i int) bool { return int(ranges[i].out) >= end }) - 1
		if i >= len(ranges) || j < i {
			return ""
		}
		return text[ranges[i].start:ranges[j].end]
	}
	type acc struct {
		sum    float64
		quotes []string
	}
	per := map[*rule]*acc{}
	for _, h := range hits {
		plen := len(c.phrases.pats[h.id])
		start := h.end - plen + 1 // past the leading space
		q := quote(start, h.end-1)
		for _, ref := range c.phraseOwners[h.id] {
			a := per[ref.rule]
			if a == nil {
				a = &acc{}
				per[ref.rule] = a
			}
			a.sum += ref.weight
			if len(a.quotes) < maxPhraseQuotes && q != "" {
				a.quotes = append(a.quotes, message.ClipText(q, 40))
			}
		}
	}
	out := make(map[*rule]phraseResult, len(per))
	for r, a := range per {
		// Negative scores mark phrases of wanted mail: the weights
		// then count down, to at most the (negative) score.
		score := min(a.sum, r.Score)
		if r.Score < 0 {
			score = max(-a.sum, r.Score)
		}
		out[r] = phraseResult{score: score, match: strings.Join(a.quotes, "; ")}
	}
	return out
}
