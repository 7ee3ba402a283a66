package rules

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"relayguard/rules/heuristics"
	"relayguard/rules/message"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Rule kinds, as written in a rule file's kind field.
const (
	KindHeader  = "header"  // regex on a named header field
	KindBody    = "body"    // regex on the visible text (Subject first)
	KindURI     = "uri"     // regex on each link (its URL, host or shown text)
	KindRaw     = "raw"     // regex on the raw message
	KindPhrases = "phrases" // weighted word lists on normalised text
	KindMeta    = "meta"    // boolean expression over other symbols
	KindBuiltin = "builtin" // a heuristic written in Go, tuned from the file
)

var kinds = []string{KindHeader, KindBody, KindURI, KindRaw, KindPhrases, KindMeta, KindBuiltin}

// Problem is one thing wrong (or worth a look) in a rule file.
type Problem struct {
	File    string
	Line    int // 0 when not known
	Msg     string
	Warning bool // the file loads anyway
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Warning {
		return loc + ": warning: " + p.Msg
	}
	return loc + ": " + p.Msg
}

// LoadError lists every error found in the rule files, each with its
// file and line, and the warnings found with them (Problem.Warning), so
// that one reading shows all there is to fix.
type LoadError struct{ Problems []Problem }

func (e *LoadError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// fileRule is a rule as written in a file, before compiling.
type fileRule struct {
	Name        string
	Kind        string
	Score       *float64
	Description string
	Pattern     string
	Header      string
	Negate      bool
	Part        string
	Expr        string
	Phrases     map[string]float64
	Min         *float64
	Domains     []string

	file string
	line int
	keys map[string]bool // fields written
}

// parsedFile is one rule file, decoded and checked on its own.
type parsedFile struct {
	name       string
	rules      []*fileRule
	scores     map[string]float64
	scoreLines map[string]int
	// failed names the rules written in the file that did not make it into
	// rules: the checks across files (a meta's names, [scores]) take them
	// as existing, so that one mistake is reported once.
	failed map[string]bool
	// brands are the file's [[brand]] tables (brandfile.go).
	brands []heuristics.Brand
}

// maxRuleFileBytes bounds a rule file: the default set is ~30 KB.
const maxRuleFileBytes = 8 << 20

var ruleNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// fieldsFor lists the fields each kind takes besides name, kind, score
// and description.
var fieldsFor = map[string][]string{
	KindHeader:  {"header", "pattern", "negate"},
	KindBody:    {"pattern", "negate"},
	KindURI:     {"pattern", "part"},
	KindRaw:     {"pattern", "negate"},
	KindPhrases: {"phrases"},
	KindMeta:    {"expr"},
	KindBuiltin: {"min", "domains"},
}

// parseRuleFile decodes one rule file and checks what can be checked
// without the other files: fields, names, patterns, phrase lists, meta
// syntax. Problems carry file:line.
//
// The file is decoded into plain TOML values and each field's type is
// checked here, rather than by decoding into a struct: the TOML decoder
// stops at the first value of the wrong type and names it in Go's terms
// ("destination has type float"), where an operator needs every problem
// of the file at once, in the rule file's words.
func parseRuleFile(name string, data []byte) (*parsedFile, []Problem) {
	pf := &parsedFile{name: name, scores: map[string]float64{}, scoreLines: map[string]int{}, failed: map[string]bool{}}
	var probs []Problem
	bad := func(line int, format string, args ...any) {
		probs = append(probs, Problem{File: name, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	if len(data) > maxRuleFileBytes {
		bad(0, "file is larger than %d bytes", maxRuleFileBytes)
		return pf, probs
	}
	var doc map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			bad(pe.Position.Line, "TOML: %s", pe.Message)
		} else {
			bad(0, "TOML: %v", err)
		}
		return pf, probs
	}
	lines := indexLines(data)
	var tables []map[string]any
	for _, key := range sortedKeys(doc) {
		v := doc[key]
		switch key {
		case "rule":
			var ok bool
			if tables, ok = ruleTables(v); !ok {
				bad(lines.topKeyLine(toml.Key{key}), "rule: write each rule as a [[rule]] table, got %s", tomlType(v))
			}
		case "scores":
			sc, ok := v.(map[string]any)
			if !ok {
				bad(lines.topKeyLine(toml.Key{key}), "scores: write a [scores] table of NAME = score, got %s", tomlType(v))
				continue
			}
			for _, n := range sortedKeys(sc) {
				l := lines.scoreLine(n)
				s, ok := tomlNumber(sc[n])
				if !ok {
					bad(l, "[scores] %s: score must be a number, got %s", n, tomlType(sc[n]))
					continue
				}
				if msg := checkScore(s); msg != "" {
					bad(l, "[scores] %s: %s", n, msg)
				}
				pf.scores[n] = s
				pf.scoreLines[n] = l
			}
		case "brand":
			b, p := decodeBrands(name, v, data)
			pf.brands = b
			probs = append(probs, p...)
		default:
			bad(lines.topKeyLine(toml.Key{key}), "unknown key %q (a rule file has [[rule]] tables, [[brand]] tables and a [scores] table)", key)
		}
	}
	seen := map[string]int{}
	for i, tbl := range tables {
		line := lines.ruleLine(i)
		at := func(field string) int {
			if l := lines.keyLine(i, field); l > 0 {
				return l
			}
			return line
		}
		r, typeProbs := decodeRule(tbl, i, at)
		r.file, r.line = name, line
		label := r.Name
		if !ruleNameRE.MatchString(r.Name) {
			label = fmt.Sprintf("#%d", i+1)
		}
		for _, tp := range typeProbs {
			bad(tp.line, "rule %s: %s", label, tp.msg)
		}
		if !ruleNameRE.MatchString(r.Name) {
			switch {
			case !r.keys["name"]:
				bad(line, "rule without a name")
			case r.Name != "":
				bad(at("name"), "rule name %q: use letters, digits and _ (at most 64), starting with a letter or _", r.Name)
			}
			continue
		}
		if prev, dup := seen[r.Name]; dup {
			bad(line, "rule %s is defined twice in this file (first at line %d)", r.Name, prev)
			continue
		}
		seen[r.Name] = line
		if len(typeProbs) > 0 {
			pf.failed[r.Name] = true
			continue
		}
		if msg := checkRule(r); msg != "" {
			field := ""
			if i := strings.Index(msg, "\x00"); i >= 0 {
				field, msg = msg[:i], msg[i+1:]
			}
			bad(at(field), "rule %s: %s", r.Name, msg)
			pf.failed[r.Name] = true
			continue
		}
		pf.rules = append(pf.rules, r)
	}
	return pf, probs
}

// ruleTables is the value of the rule key as a list of tables: [[rule]]
// sections, or (rarely) rule = [{...}, {...}].
func ruleTables(v any) ([]map[string]any, bool) {
	switch v := v.(type) {
	case []map[string]any:
		return v, true
	case []any:
		out := make([]map[string]any, 0, len(v))
		for _, e := range v {
			t, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			out = append(out, t)
		}
		return out, true
	}
	return nil, false
}

// fieldProblem is a field of the wrong type, at its line.
type fieldProblem struct {
	line int
	msg  string
}

// decodeRule reads one [[rule]] table, checking each field's type. at
// gives a field's line.
func decodeRule(tbl map[string]any, i int, at func(field string) int) (*fileRule, []fieldProblem) {
	r := &fileRule{keys: map[string]bool{}}
	var probs []fieldProblem
	wrong := func(field, want string, v any) {
		probs = append(probs, fieldProblem{at(field), fmt.Sprintf("%s must be %s, got %s", field, want, tomlType(v))})
	}
	str := func(field string, dst *string) {
		if s, ok := tbl[field].(string); ok {
			*dst = s
		} else {
			wrong(field, "a string", tbl[field])
		}
	}
	num := func(field string) *float64 {
		f, ok := tomlNumber(tbl[field])
		if !ok {
			wrong(field, "a number", tbl[field])
			return nil
		}
		return &f
	}
	for _, field := range sortedKeys(tbl) {
		r.keys[field] = true
		v := tbl[field]
		switch field {
		case "name":
			str(field, &r.Name)
		case "kind":
			str(field, &r.Kind)
		case "description":
			str(field, &r.Description)
		case "pattern":
			str(field, &r.Pattern)
		case "header":
			str(field, &r.Header)
		case "part":
			str(field, &r.Part)
		case "expr":
			str(field, &r.Expr)
		case "score":
			r.Score = num(field)
		case "min":
			r.Min = num(field)
		case "negate":
			b, ok := v.(bool)
			if !ok {
				wrong(field, "true or false", v)
			}
			r.Negate = b
		case "domains":
			list, ok := v.([]any)
			for _, d := range list {
				s, isStr := d.(string)
				ok = ok && isStr
				r.Domains = append(r.Domains, s)
			}
			if !ok {
				wrong(field, "a list of strings", v)
			}
		case "phrases":
			m, ok := v.(map[string]any)
			if !ok {
				wrong(field, "a [rule.phrases] table of \"phrase\" = weight", v)
				continue
			}
			r.Phrases = make(map[string]float64, len(m))
			for _, p := range sortedKeys(m) {
				w, ok := tomlNumber(m[p])
				if !ok {
					probs = append(probs, fieldProblem{at(p), fmt.Sprintf("phrase %q: weight must be a number, got %s", p, tomlType(m[p]))})
					continue
				}
				r.Phrases[p] = w
			}
		default:
			probs = append(probs, fieldProblem{at(field), fmt.Sprintf("unknown field %q", field)})
		}
	}
	return r, probs
}

// tomlNumber accepts a TOML integer or float: score = 2 and score = 2.0
// mean the same.
func tomlNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// tomlType names a TOML value's type in plain words, for "got ...".
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64, float64:
		return "a number"
	case bool:
		return "true or false"
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	case time.Time: // local dates and times decode as time.Time too
		return "a date or time"
	}
	return fmt.Sprintf("a value of type %T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkRule validates one rule on its own. A message starting with
// "field\x00" names the field at fault, for the line number.
func checkRule(r *fileRule) string {
	if !slices.Contains(kinds, r.Kind) {
		if r.Kind == "" {
			return "kind\x00no kind: want one of " + strings.Join(kinds, ", ")
		}
		return fmt.Sprintf("kind\x00unknown kind %q: want one of %s", r.Kind, strings.Join(kinds, ", "))
	}
	allowed := fieldsFor[r.Kind]
	for _, f := range []string{"pattern", "header", "negate", "part", "expr", "phrases", "min", "domains"} {
		if r.keys[f] && !slices.Contains(allowed, f) {
			return fmt.Sprintf("%s\x00field %q does not apply to %s rules", f, f, r.Kind)
		}
	}
	sub := strings.HasPrefix(r.Name, "__")
	if r.Score == nil {
		if !sub {
			return "score\x00no score (rules whose name starts with __ may leave it out: they only feed meta rules)"
		}
		zero := 0.0
		r.Score = &zero
	}
	if msg := checkScore(*r.Score); msg != "" {
		return "score\x00" + msg
	}
	if !sub && strings.TrimSpace(r.Description) == "" {
		return "description\x00no description: say in one line what the rule finds (operators and rejected senders read it)"
	}
	if strings.ContainsAny(r.Description, "\r\n") {
		return "description\x00the description must be one line"
	}
	switch r.Kind {
	case KindHeader, KindBody, KindURI, KindRaw:
		if r.Pattern == "" {
			return "pattern\x00no pattern"
		}
		if _, err := compileRE2(r.Pattern); err != nil {
			return "pattern\x00" + err.Error()
		}
		if r.Kind == KindHeader {
			if r.Header == "" {
				return "header\x00no header (the field to match, e.g. header = \"Subject\")"
			}
			name, part, _ := strings.Cut(r.Header, ":")
			if name != "ALL" && !validHeaderName(name) {
				return fmt.Sprintf("header\x00header %q is not a header field name", r.Header)
			}
			if part != "" && part != "addr" && part != "name" {
				return fmt.Sprintf("header\x00header %q: after the colon, want addr or name", r.Header)
			}
		}
		if r.Kind == KindURI {
			switch r.Part {
			case "", "url", "host", "text":
			default:
				return fmt.Sprintf("part\x00part %q: want url, host or text", r.Part)
			}
		}
	case KindPhrases:
		if len(r.Phrases) == 0 {
			return "phrases\x00no phrases (add a [rule.phrases] table: \"phrase\" = weight)"
		}
		for p, w := range r.Phrases {
			if math.IsNaN(w) || math.IsInf(w, 0) || w <= 0 || w > 100 {
				return fmt.Sprintf("phrases\x00phrase %q: weight %v must be above 0 and at most 100", p, w)
			}
			if strings.TrimSpace(normalisePhrase(p)) == "" {
				return fmt.Sprintf("phrases\x00phrase %q has no words to match", p)
			}
		}
	case KindMeta:
		if strings.TrimSpace(r.Expr) == "" {
			return "expr\x00no expr (e.g. expr = \"URI_IP_LITERAL && HTML_ONLY\")"
		}
		if _, err := parseMeta(r.Expr); err != nil {
			return "expr\x00" + err.Error()
		}
	case KindBuiltin:
		b, ok := heuristics.Lookup(r.Name)
		if !ok {
			return fmt.Sprintf("kind\x00no built-in heuristic named %s (built-ins: %s)", r.Name, strings.Join(heuristics.Names(), ", "))
		}
		if r.Min != nil && !b.TakesMin {
			return "min\x00this built-in takes no min"
		}
		if r.Min != nil && (math.IsNaN(*r.Min) || *r.Min < 0) {
			return "min\x00min must be a number at or above 0 (" + b.Doc + ")"
		}
		if len(r.Domains) > 0 && !b.TakesDomains {
			return "domains\x00this built-in takes no domains"
		}
	}
	return ""
}

func checkScore(s float64) string {
	if math.IsNaN(s) || math.IsInf(s, 0) || math.Abs(s) > 1000 {
		return fmt.Sprintf("score %v: want a number between -1000 and 1000", s)
	}
	return ""
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':' {
			return false
		}
	}
	return true
}

// perlOnly lists Perl regex syntax that RE2 (Go's regexp) does not have,
// with what to write instead.
var perlOnly = []struct{ syntax, what string }{
	{"(?=", "lookahead (?=...)"},
	{"(?!", "negative lookahead (?!...)"},
	{"(?<=", "lookbehind (?<=...)"},
	{"(?<!", "negative lookbehind (?<!...)"},
	{"(?>", "atomic group (?>...)"},
	{"(?R)", "recursion (?R)"},
	{"(?(", "conditional (?(...)...)"},
	{"(?#", "comment group (?#...)"},
	{"*+", "possessive quantifier *+"},
	{"++", "possessive quantifier ++"},
	{"?+", "possessive quantifier ?+"},
	{`\G`, `\G`},
	{`\Z`, `\Z (use \z)`},
	{`\K`, `\K`},
}

var backrefRE = regexp.MustCompile(`\\[1-9]|\\k<`)

// compileRE2 compiles a rule pattern, explaining Perl-only syntax.
func compileRE2(p string) (*regexp.Regexp, error) {
	if len(p) > 4096 {
		return nil, fmt.Errorf("pattern is longer than 4096 bytes")
	}
	if len(p) >= 2 && p[0] == '/' && strings.LastIndexByte(p, '/') > 0 {
		if i := strings.LastIndexByte(p, '/'); strings.Trim(p[i+1:], "imsx") == "" {
			return nil, fmt.Errorf("pattern %q looks like a Perl /.../flags literal: write the bare pattern and put flags inline, e.g. (?i)", message.ClipText(p, 60))
		}
	}
	unescaped := stripEscapedBackslashes(p)
	for _, po := range perlOnly {
		if strings.Contains(unescaped, po.syntax) {
			return nil, fmt.Errorf("%s is Perl-only syntax: patterns are RE2 (Go regexp), which has no lookaround, backreferences, atomic groups or possessive quantifiers", po.what)
		}
	}
	if backrefRE.MatchString(unescaped) {
		return nil, fmt.Errorf("backreferences (\\1, \\k<name>) are Perl-only syntax: patterns are RE2 (Go regexp)")
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %v (patterns are RE2, Go regexp syntax)", message.ClipText(p, 60), unwrapRegexErr(err))
	}
	return re, nil
}

// stripEscapedBackslashes removes \\ pairs and escaped metacharacters
// so that a literal \(?= or \++ is not taken for Perl syntax.
func stripEscapedBackslashes(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			switch p[i+1] {
			case '\\', '(', '?', '*', '+', '[', ')':
				b.WriteString("__")
				i++
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func unwrapRegexErr(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "error parsing regexp: ")
}

// lineIndex finds the lines of rules and keys in a rule file. TOML's
// decoder keeps key positions to itself, so the file is scanned for the
// [[rule]] headers and key = lines; MetaData.Keys gives the order.
type lineIndex struct {
	lines   []string
	rules   []int // line (0-based) of each [[rule]] header
	headers []int // every table header line, sorted
	scores  int   // line of [scores], -1 if none
}

var (
	ruleHeaderRE  = regexp.MustCompile(`^\s*\[\[\s*rule\s*\]\]`)
	tableHeaderRE = regexp.MustCompile(`^\s*\[`)
	scoresRE      = regexp.MustCompile(`^\s*\[\s*scores\s*\]`)
)

func indexLines(data []byte) *lineIndex {
	li := &lineIndex{lines: strings.Split(string(data), "\n"), scores: -1}
	inMulti := false
	for i, l := range li.lines {
		// Skip the inside of multi-line strings.
		if n := strings.Count(l, `"""`) + strings.Count(l, `'''`); n%2 == 1 {
			inMulti = !inMulti
			continue
		}
		if inMulti {
			continue
		}
		switch {
		case ruleHeaderRE.MatchString(l):
			li.rules = append(li.rules, i)
			li.headers = append(li.headers, i)
		case scoresRE.MatchString(l):
			li.scores = i
			li.headers = append(li.headers, i)
		case tableHeaderRE.MatchString(l):
			li.headers = append(li.headers, i)
		}
	}
	return li
}

// ruleLine is the 1-based line of the i-th [[rule]], 0 if unknown.
func (li *lineIndex) ruleLine(i int) int {
	if i < len(li.rules) {
		return li.rules[i] + 1
	}
	return 0
}

// keyLine finds key = ... inside the i-th rule (including its sub-tables
// such as [rule.phrases]).
func (li *lineIndex) keyLine(i int, key string) int {
	if i >= len(li.rules) || key == "" {
		return 0
	}
	start := li.rules[i]
	end := len(li.lines)
	if i+1 < len(li.rules) {
		end = li.rules[i+1]
	}
	if li.scores > start && li.scores < end {
		end = li.scores
	}
	for n := start; n < end; n++ {
		l := strings.TrimSpace(li.lines[n])
		if l == "[rule."+key+"]" {
			return n + 1
		}
		if keyIs(l, key) {
			return n + 1
		}
	}
	return 0
}

func (li *lineIndex) scoreLine(name string) int {
	if li.scores < 0 {
		return 0
	}
	for n := li.scores + 1; n < len(li.lines); n++ {
		l := strings.TrimSpace(li.lines[n])
		if tableHeaderRE.MatchString(l) {
			break
		}
		if keyIs(l, name) {
			return n + 1
		}
	}
	return li.scores + 1
}

func (li *lineIndex) topKeyLine(k toml.Key) int {
	last := k[len(k)-1]
	for n, l := range li.lines {
		t := strings.TrimSpace(l)
		if keyIs(t, last) || t == "["+k.String()+"]" || t == "[["+k.String()+"]]" {
			return n + 1
		}
	}
	return 0
}

func keyIs(line, key string) bool {
	for _, form := range []string{key, `"` + key + `"`, `'` + key + `'`} {
		if rest, ok := strings.CutPrefix(line, form); ok {
			if strings.HasPrefix(strings.TrimSpace(rest), "=") {
				return true
			}
		}
	}
	return false
}
