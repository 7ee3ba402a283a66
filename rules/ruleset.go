package rules

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"relayguard/rules/heuristics"
	"relayguard/rules/message"
	"slices"
	"sort"
	"strings"
	"time"
)

// Options are the limits a rule set works within.
type Options struct {
	// MaxScanBytes caps the decoded text (and the raw bytes) the rules read
	// per message; 0 means DefaultMaxScanBytes (512 KiB).
	MaxScanBytes int64
	// KnownSymbols are symbol names other checks emit (DKIM_VALID,
	// SPF_FAIL...). Lint warns about meta rules naming anything else.
	KnownSymbols []string
}

// Message returns the options for parsing a message with this rule set's
// scan limit.
func (o Options) Message() message.Options { return message.Options{MaxScanBytes: o.MaxScanBytes} }

func (o Options) maxScan() int64 {
	if o.MaxScanBytes <= 0 {
		return message.DefaultMaxScanBytes
	}
	return o.MaxScanBytes
}

// Hit is one rule that fired on a message.
type Hit struct {
	Name        string
	Score       float64
	Description string
	// Match is the text that made the rule fire, as written in the
	// message (clipped), or a short account for heuristics ("31 links").
	Match string
}

// Rule describes a loaded rule, for listing.
type Rule struct {
	Name        string
	Kind        string
	Score       float64 // after [scores] overrides; 0 = disabled
	Description string
	File        string // where it was last defined ("default" for the built-in set)
	Line        int
}

// Ruleset is the compiled content rules. It is immutable and safe for
// concurrent use; SIGHUP loads a new one with a new engine.
type Ruleset struct {
	files []string
	opts  Options
	cur   *compiled
}

// compiled is one immutable compilation of the rule files.
type compiled struct {
	opts     Options
	rules    []*rule // non-meta rules to evaluate, in file order
	metas    []*rule // meta rules to evaluate, dependencies first
	all      []*rule // every rule, for listing
	byName   map[string]*rule
	warnings []Problem

	body, raw       *prefilter
	bodyRules       []*rule // indexes match the body prefilter
	rawRules        []*rule
	uri             map[string]*prefilter // by part: url, host, text
	uriRules        map[string][]*rule
	phrases         *phraseMatcher
	phraseOwners    [][]phraseRef // phrase id -> rules that list it
	phraseRuleCount int

	brands *heuristics.Brands // the brand table built-ins read
}

type phraseRef struct {
	rule   *rule
	weight float64
}

// rule is one compiled rule.
type rule struct {
	Rule
	sub    bool // __NAME: feeds metas, never reported
	active bool // evaluated (scored, a sub-rule, or needed by a meta)
	re     *regexp.Regexp
	header string // header rules: field name or ALL
	hpart  string // "", "addr", "name"
	negate bool
	part   string // uri rules
	meta   *metaNode
	bi     heuristics.Heuristic
	min    float64
	hasMin bool
	// domains given to a built-in, lower case, and their host parts that
	// carry a path (heuristics.DomainPaths)
	domains     map[string]bool
	domainPaths map[string]bool
	phrases     map[string]float64
	pos         int // index in compiled.rules, where an evaluation keeps its result
	// lead, for body rules, searches from the literals every match starts
	// with (nil: none known)
	lead *leadStart
	alt  *altSearch // body rules: their branches searched one by one
}

// findBody is findMatch for a body rule.
func (r *rule) findBody(text string) (string, bool) {
	if r.lead != nil {
		return r.lead.find(r.re, text)
	}
	if r.alt != nil {
		return r.alt.find(text)
	}
	return findMatch(r.re, text)
}

// Load compiles the built-in rules and then the operator files in order.
// A later file may redefine a rule (same name) or change scores in its
// [scores] table; NAME = 0 disables a rule. All problems are reported
// together, each with file:line, in a *LoadError.
func Load(files []string, opts Options) (*Ruleset, error) {
	c, err := compileFiles(files, opts)
	if err != nil {
		return nil, err
	}
	return &Ruleset{files: slices.Clone(files), opts: opts, cur: c}, nil
}

// Options returns the options the rule set was loaded with.
func (rs *Ruleset) Options() Options { return rs.opts }

// Files returns the operator files the rule set was loaded from.
func (rs *Ruleset) Files() []string { return slices.Clone(rs.files) }

// Warnings lists what loaded but deserves a look, each with file:line
// (Problem.String): a meta rule naming a symbol that no content rule and
// no check in Options.KnownSymbols emits, which is most often a typo. The
// proxy logs them at start and after each reload.
func (rs *Ruleset) Warnings() []Problem { return slices.Clone(rs.cur.warnings) }

// Rules lists every rule, sorted by name.
func (rs *Ruleset) Rules() []Rule {
	c := rs.cur
	out := make([]Rule, 0, len(c.all))
	for _, r := range c.all {
		if r.sub {
			continue
		}
		out = append(out, r.Rule)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lint checks rule files as Load would, returning every problem, errors
// and warnings together, in file and line order. An empty result means
// the files are clean.
func Lint(files []string, opts Options) []Problem {
	c, err := compileFiles(files, opts)
	if err != nil {
		if le, ok := err.(*LoadError); ok {
			return le.Problems
		}
		return []Problem{{Msg: err.Error()}}
	}
	return c.warnings
}

// defaultFileName names the embedded rules in problems and listings.
const defaultFileName = "default"

// compileFiles compiles the built-in rules and the operator files. Every
// problem is found in one pass: a rule with an error is left out and the
// rest are still compiled, so that the checks across rules (meta names,
// [scores]) run too and their warnings come out with the errors. The
// rules an error left out count as existing for those checks, so that one
// mistake is reported once.
func compileFiles(files []string, opts Options) (*compiled, error) {
	var probs []Problem
	var parsed []*parsedFile
	pf, p := parseRuleFile(defaultFileName, defaultRules)
	probs = append(probs, p...)
	parsed = append(parsed, pf)
	order := map[string]int{defaultFileName: 0}
	for i, f := range files {
		order[f] = i + 1
		data, err := readRuleFile(f)
		if err != nil {
			probs = append(probs, Problem{File: f, Msg: err.Error()})
			continue
		}
		pf, p := parseRuleFile(f, data)
		probs = append(probs, p...)
		parsed = append(parsed, pf)
	}
	c, p2 := build(parsed, opts)
	probs = append(probs, p2...)
	brands, err := brandTable(parsed)
	if err != nil {
		probs = append(probs, Problem{Msg: err.Error()})
	}
	c.brands = brands
	var errs, kept []Problem
	for _, p := range probs {
		// The built-in rules' warnings (metas naming other checks'
		// symbols, such as DKIM_VALID) are by design.
		if p.Warning && p.File == defaultFileName {
			continue
		}
		if !p.Warning {
			errs = append(errs, p)
		}
		kept = append(kept, p)
	}
	// In the order of the files, then of the lines, as an editor shows them.
	sort.SliceStable(kept, func(i, j int) bool {
		a, b := kept[i], kept[j]
		if order[a.File] != order[b.File] {
			return order[a.File] < order[b.File]
		}
		return a.Line < b.Line
	})
	if len(errs) > 0 {
		return nil, &LoadError{Problems: kept}
	}
	c.warnings = kept
	return c, nil
}

func readRuleFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRuleFileBytes+1))
	if err != nil {
		return nil, err
	}
	return data, nil
}

// build merges the parsed files (later ones win) and compiles the result.
func build(files []*parsedFile, opts Options) (*compiled, []Problem) {
	var probs []Problem
	c := &compiled{opts: opts, byName: map[string]*rule{}}
	var order []string
	defs := map[string]*fileRule{}
	for _, f := range files {
		for _, fr := range f.rules {
			if _, ok := defs[fr.Name]; !ok {
				order = append(order, fr.Name)
			}
			defs[fr.Name] = fr
		}
	}
	for _, name := range order {
		fr := defs[name]
		r, err := compileRule(fr)
		if err != nil {
			probs = append(probs, Problem{File: fr.file, Line: fr.line, Msg: fmt.Sprintf("rule %s: %v", name, err)})
			continue
		}
		c.all = append(c.all, r)
		c.byName[name] = r
	}
	failed := map[string]bool{}
	for _, f := range files {
		for n := range f.failed {
			failed[n] = true
		}
	}
	for _, f := range files {
		names := make([]string, 0, len(f.scores))
		for n := range f.scores {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			r, ok := c.byName[n]
			if !ok && failed[n] {
				continue // the rule's own error is reported
			}
			if !ok {
				probs = append(probs, Problem{File: f.name, Line: f.scoreLines[n],
					Msg: fmt.Sprintf("[scores] %s: no content rule has that name (see `relayguard rules list`)", n)})
				continue
			}
			r.Score = f.scores[n]
		}
	}
	c.shareDomains()
	probs = append(probs, c.orderMetas(opts, failed)...)
	c.activate()
	c.index()
	return c, probs
}

// shareDomains gives a built-in whose rule lists no domains those of the
// built-in its heuristic names (Heuristic.DomainsOf), after every file is
// read, so an operator's change to that list reaches both; then works out
// each built-in's DomainPaths once, for every message.
func (c *compiled) shareDomains() {
	for _, r := range c.all {
		if r.Kind != KindBuiltin || r.bi.DomainsOf == "" || r.domains != nil {
			continue
		}
		if src, ok := c.byName[r.bi.DomainsOf]; ok {
			r.domains = src.domains
		}
	}
	for _, r := range c.all {
		if r.Kind == KindBuiltin && r.domains != nil {
			r.domainPaths = heuristics.DomainPaths(r.domains)
		}
	}
}

func compileRule(fr *fileRule) (*rule, error) {
	r := &rule{Rule: Rule{Name: fr.Name, Kind: fr.Kind, Score: *fr.Score, Description: fr.Description,
		File: fr.file, Line: fr.line}, sub: strings.HasPrefix(fr.Name, "__"), negate: fr.Negate, part: fr.Part}
	var err error
	switch fr.Kind {
	case KindHeader, KindBody, KindURI, KindRaw:
		if r.re, err = compileRE2(fr.Pattern); err != nil {
			return nil, err
		}
		if fr.Kind == KindHeader {
			r.header, r.hpart, _ = strings.Cut(fr.Header, ":")
		}
		if r.part == "" {
			r.part = "url"
		}
	case KindMeta:
		if r.meta, err = parseMeta(fr.Expr); err != nil {
			return nil, err
		}
	case KindBuiltin:
		r.bi, _ = heuristics.Lookup(fr.Name)
		r.min, r.hasMin = r.bi.DefMin, r.bi.TakesMin
		if fr.Min != nil {
			r.min = *fr.Min
		}
		if len(fr.Domains) > 0 {
			r.domains = map[string]bool{}
			for _, d := range fr.Domains {
				r.domains[strings.ToLower(strings.TrimSpace(d))] = true
			}
		}
	case KindPhrases:
		// compiled into the shared automaton by index()
	}
	r.phrases = fr.Phrases
	return r, nil
}

// orderMetas sorts meta rules so that a meta naming another meta comes
// after it, and reports cycles (errors) and unknown names (warnings).
func (c *compiled) orderMetas(opts Options, failed map[string]bool) []Problem {
	var probs []Problem
	known := map[string]bool{}
	for n := range failed {
		known[n] = true
	}
	for _, n := range opts.KnownSymbols {
		known[n] = true
	}
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	var visit func(r *rule, path []string) bool
	visit = func(r *rule, path []string) bool {
		switch state[r.Name] {
		case 1:
			probs = append(probs, Problem{File: r.File, Line: r.Line,
				Msg: fmt.Sprintf("meta rule %s depends on itself: %s", r.Name, strings.Join(append(path, r.Name), " -> "))})
			return false
		case 2:
			return true
		}
		state[r.Name] = 1
		ok := true
		for _, n := range r.meta.names(nil) {
			dep, found := c.byName[n]
			if found && dep.Kind == KindMeta {
				if !visit(dep, append(path, r.Name)) {
					ok = false
				}
			}
		}
		state[r.Name] = 2
		c.metas = append(c.metas, r)
		return ok
	}
	for _, r := range c.all {
		if r.Kind != KindMeta {
			continue
		}
		for _, n := range r.meta.names(nil) {
			if _, ok := c.byName[n]; !ok && !known[n] {
				probs = append(probs, Problem{File: r.File, Line: r.Line, Warning: true,
					Msg: fmt.Sprintf("meta rule %s names %s, which is no content rule (fine if another check emits it)", r.Name, n)})
			}
		}
		if state[r.Name] == 0 {
			visit(r, nil)
		}
	}
	return probs
}

// activate decides which rules run: those that score, the __ sub-rules,
// and any rule an active meta names (even when its own score is 0).
func (c *compiled) activate() {
	for _, r := range c.all {
		r.active = r.Score != 0 || r.sub
	}
	// Metas last-first, so a meta activated by a later meta activates its
	// own dependencies in turn.
	for i := len(c.metas) - 1; i >= 0; i-- {
		m := c.metas[i]
		if !m.active {
			continue
		}
		for _, n := range m.meta.names(nil) {
			if dep, ok := c.byName[n]; ok {
				dep.active = true
			}
		}
	}
	for _, r := range c.all {
		if r.active && r.Kind != KindMeta {
			c.rules = append(c.rules, r)
		}
	}
	metas := c.metas[:0]
	for _, m := range c.metas {
		if m.active {
			metas = append(metas, m)
		}
	}
	c.metas = metas
}

// index builds the multi-pattern matchers over the active rules.
func (c *compiled) index() {
	var bodyPats, rawPats []string
	uriPats := map[string][]string{}
	c.uri = map[string]*prefilter{}
	c.uriRules = map[string][]*rule{}
	var phrases []string
	phraseID := map[string]int{}
	for i, r := range c.rules {
		r.pos = i
		switch r.Kind {
		case KindBody:
			c.bodyRules = append(c.bodyRules, r)
			bodyPats = append(bodyPats, r.re.String())
			if r.lead = newLeadStart(r.re.String()); r.lead == nil {
				r.alt = newAltSearch(r.re.String())
			}
		case KindRaw:
			c.rawRules = append(c.rawRules, r)
			rawPats = append(rawPats, r.re.String())
		case KindURI:
			c.uriRules[r.part] = append(c.uriRules[r.part], r)
			uriPats[r.part] = append(uriPats[r.part], r.re.String())
		case KindPhrases:
			c.phraseRuleCount++
			keys := make([]string, 0, len(r.phrases))
			for p := range r.phrases {
				keys = append(keys, p)
			}
			sort.Strings(keys)
			for _, p := range keys {
				np := normalisePhrase(p)
				id, ok := phraseID[np]
				if !ok {
					id = len(phrases)
					phraseID[np] = id
					phrases = append(phrases, np)
					c.phraseOwners = append(c.phraseOwners, nil)
				}
				// Two spellings of one phrase in a rule ("risk free",
				// "risk-free") are one phrase: keep the higher weight.
				dup := false
				for k, ref := range c.phraseOwners[id] {
					if ref.rule == r {
						c.phraseOwners[id][k].weight = max(ref.weight, r.phrases[p])
						dup = true
					}
				}
				if !dup {
					c.phraseOwners[id] = append(c.phraseOwners[id], phraseRef{rule: r, weight: r.phrases[p]})
				}
			}
		}
	}
	c.body = newPrefilter(bodyPats)
	c.raw = newPrefilter(rawPats)
	for part, pats := range uriPats {
		c.uri[part] = newPrefilter(pats)
	}
	if len(phrases) > 0 {
		c.phrases = newPhraseMatcher(phrases)
	}
}

// evaluation is what one compilation found in one message.
type evaluation struct {
	hits  []Hit           // reported: scored, not __ sub-rules
	fired map[string]bool // every rule that fired, sub-rules included
}

// Evaluate runs every non-meta rule on m and returns the hits that score,
// in rule order. received is when the message arrived (zero: now); the
// date rules judge the Date header against it (see referenceTime). The
// result is computed once per message and rule set; later calls return it.
func (rs *Ruleset) Evaluate(m *message.Message, received time.Time) []Hit {
	return rs.EvaluateEnvelope(m, Envelope{Received: received})
}

// Envelope is what the SMTP transaction tells about a message that the
// content rules compare it with.
type Envelope struct {
	// Received is when the message arrived (zero: now).
	Received time.Time
	// Rcpts are the envelope recipients (RCPT TO), when known: the
	// heuristics that spot the recipient's own domain used as bait read
	// them.
	Rcpts []string
}

// EvaluateEnvelope is Evaluate with the whole envelope. Like Evaluate, it
// computes the result once per message and rule set.
func (rs *Ruleset) EvaluateEnvelope(m *message.Message, env Envelope) []Hit {
	c := rs.cur
	return evaluate(m, c, env).hits
}

// EvaluateMeta runs the meta rules given the names of every symbol found
// so far (by any check). Sub-rules (__NAME) that fired in an earlier
// Evaluate of m count too; m may be nil.
func (rs *Ruleset) EvaluateMeta(m *message.Message, symbols []string) []Hit {
	c := rs.cur
	fired := make(map[string]bool, len(symbols))
	for _, s := range symbols {
		fired[s] = true
	}
	if m != nil {
		if ev, ok := m.Memoized(c); ok {
			for n := range ev.(*evaluation).fired {
				fired[n] = true
			}
		}
	}
	var hits []Hit
	for _, r := range c.metas {
		if fired[r.Name] {
			continue // already found (a symbol of the same name)
		}
		if r.meta.eval(func(n string) bool { return fired[n] }) != 0 {
			fired[r.Name] = true
			if !r.sub && r.Score != 0 {
				hits = append(hits, Hit{Name: r.Name, Score: r.Score, Description: r.Description, Match: metaMatch(r.meta, fired)})
			}
		}
	}
	return hits
}

// metaMatch lists the names that made a meta rule true.
func metaMatch(n *metaNode, fired map[string]bool) string {
	var on []string
	for _, name := range n.names(nil) {
		if fired[name] && !strings.HasPrefix(name, "__") && !slices.Contains(on, name) {
			on = append(on, name)
		}
	}
	return strings.Join(on, " + ")
}

// evaluate is c's evaluation of m, computed once per message and rule
// set however many checks ask.
func evaluate(m *message.Message, c *compiled, env Envelope) *evaluation {
	return m.Memo(c, func() any { return c.evaluate(m, env) }).(*evaluation)
}
