package rules

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"relayguard/rules/heuristics"
	"slices"
	"strings"
	"testing"
)

func writeRules(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultRulesLoadCleanly(t *testing.T) {
	if probs := Lint(nil, Options{}); len(probs) > 0 {
		t.Fatalf("default rules: %v", probs)
	}
	rs := defaultRuleset(t)
	if n := len(rs.Rules()); n < 40 {
		t.Errorf("only %d default rules", n)
	}
	for _, r := range rs.Rules() {
		if r.Description == "" || r.Score == 0 {
			t.Errorf("default rule %s: score %v, description %q", r.Name, r.Score, r.Description)
		}
	}
	// Every built-in heuristic is in the default file, so its score can be
	// tuned (a __ built-in, which only feeds metas, too).
	listed := map[string]bool{}
	pf, _ := parseRuleFile("default.toml", defaultRules)
	for _, r := range pf.rules {
		listed[r.Name] = true
	}
	for _, n := range heuristics.Names() {
		if !listed[n] {
			t.Errorf("built-in %s is not in default.toml", n)
		}
	}
	if !bytes.Equal(DefaultRules(), defaultRules) {
		t.Error("DefaultRules differs from the embedded file")
	}
}

func TestRuleFileErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string // substring of the error, which starts with file:line
	}{
		{"TOML syntax", "[[rule]]\nname = \"X\nkind = \"body\"\n", ":2: TOML"},
		{"unknown kind", "[[rule]]\nname = \"X\"\nkind = \"bdy\"\nscore = 1\ndescription = \"d\"\npattern = \"x\"\n", `:3: rule X: unknown kind "bdy"`},
		{"no score", "[[rule]]\nname = \"X\"\nkind = \"body\"\ndescription = \"d\"\npattern = \"x\"\n", ":1: rule X: no score"},
		{"no description", "[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\npattern = \"x\"\n", ":1: rule X: no description"},
		{"bad name", "[[rule]]\nname = \"bad-name\"\n", `:2: rule name "bad-name"`},
		{"lookahead", "# c\n[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\ndescription = \"d\"\npattern = 'foo(?=bar)'\n", ":7: rule X: lookahead (?=...) is Perl-only syntax: patterns are RE2"},
		{"lookbehind", "[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\ndescription = \"d\"\npattern = '(?<!x)y'\n", "negative lookbehind (?<!...) is Perl-only"},
		{"backreference", "[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\ndescription = \"d\"\npattern = '(a)\\1'\n", "backreferences"},
		{"possessive", "[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\ndescription = \"d\"\npattern = 'a++'\n", "possessive quantifier ++ is Perl-only"},
		{"perl literal", "[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\ndescription = \"d\"\npattern = '/free money/i'\n", "Perl /.../flags literal"},
		{"bad regex", "[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\ndescription = \"d\"\npattern = 'a(b'\n", ":6: rule X: pattern \"a(b\": missing closing )"},
		{"field of another kind", "[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\ndescription = \"d\"\npattern = 'x'\nexpr = \"A\"\n", `:7: rule X: field "expr" does not apply to body rules`},
		{"unknown field", "[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\ndescription = \"d\"\npatern = 'x'\n", `:6: rule X: unknown field "patern"`},
		{"header without header", "[[rule]]\nname = \"X\"\nkind = \"header\"\nscore = 1\ndescription = \"d\"\npattern = 'x'\n", "no header"},
		{"duplicate in one file", "[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\ndescription = \"d\"\npattern = 'x'\n[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\ndescription = \"d\"\npattern = 'y'\n", ":7: rule X is defined twice in this file (first at line 1)"},
		{"unknown builtin", "[[rule]]\nname = \"NOPE\"\nkind = \"builtin\"\nscore = 1\ndescription = \"d\"\n", "no built-in heuristic named NOPE"},
		{"meta syntax", "[[rule]]\nname = \"M\"\nkind = \"meta\"\nscore = 1\ndescription = \"d\"\nexpr = \"A & B\"\n", ":6: rule M: use &&, not &"},
		{"meta cycle", "[[rule]]\nname = \"M1\"\nkind = \"meta\"\nscore = 1\ndescription = \"d\"\nexpr = \"M2\"\n[[rule]]\nname = \"M2\"\nkind = \"meta\"\nscore = 1\ndescription = \"d\"\nexpr = \"M1 && HTML_ONLY\"\n", "depends on itself"},
		{"score for no rule", "[scores]\nHTML_ONLY = 2\nNO_SUCH_RULE = 0\n", ":3: [scores] NO_SUCH_RULE: no content rule has that name"},
		{"bad phrase weight", "[[rule]]\nname = \"P\"\nkind = \"phrases\"\nscore = 1\ndescription = \"d\"\n[rule.phrases]\n\"x y\" = -1\n", ":6: rule P: phrase \"x y\": weight -1"},
		{"phrase without words", "[[rule]]\nname = \"P\"\nkind = \"phrases\"\nscore = 1\ndescription = \"d\"\n[rule.phrases]\n\"$$$\" = 1\n", "has no words"},
		{"rule as a single table", "[rule]\nname = \"X\"\n", ":1: rule: write each rule as a [[rule]] table"},
		{"unknown top-level key", "colour = \"red\"\n", `:1: unknown key "colour"`},
		{"score out of range", "[scores]\nHTML_ONLY = 1e9\n", ":2: [scores] HTML_ONLY: score 1e+09"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeRules(t, "local.toml", tt.text)
			_, err := Load([]string{p}, Options{})
			if err == nil {
				t.Fatalf("loaded; want error containing %q", tt.want)
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T, want *LoadError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n  %v\nwant it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), p) {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

// TestRuleFileTypeErrors: a value of the wrong TOML type is named in the
// rule file's words, at its line, not in the TOML library's.
func TestRuleFileTypeErrors(t *testing.T) {
	rule := func(fields string) string {
		return "[[rule]]\nname = \"X\"\n" + fields
	}
	tests := []struct {
		name string
		text string
		want string // the whole message after the file name
	}{
		{"score as text", rule("kind = \"body\"\npattern = 'x'\nscore = \"high\"\ndescription = \"d\"\n"),
			":5: rule X: score must be a number, got a string"},
		{"pattern as a number", rule("kind = \"body\"\npattern = 5\nscore = 1\ndescription = \"d\"\n"),
			":4: rule X: pattern must be a string, got a number"},
		{"negate as text", rule("kind = \"body\"\npattern = 'x'\nnegate = \"yes\"\nscore = 1\ndescription = \"d\"\n"),
			":5: rule X: negate must be true or false, got a string"},
		{"description as a list", rule("kind = \"body\"\npattern = 'x'\nscore = 1\ndescription = [\"d\"]\n"),
			":6: rule X: description must be a string, got a list"},
		{"min as text", "[[rule]]\nname = \"URI_MANY\"\nkind = \"builtin\"\nmin = \"3\"\nscore = 1\ndescription = \"d\"\n",
			":4: rule URI_MANY: min must be a number, got a string"},
		{"domains as text", "[[rule]]\nname = \"URI_SHORTENER\"\nkind = \"builtin\"\ndomains = \"bit.ly\"\nscore = 1\ndescription = \"d\"\n",
			":4: rule URI_SHORTENER: domains must be a list of strings, got a string"},
		{"phrase weight as text", rule("kind = \"phrases\"\nscore = 1\ndescription = \"d\"\n[rule.phrases]\n\"free money\" = \"high\"\n"),
			":7: rule X: phrase \"free money\": weight must be a number, got a string"},
		{"name as a number", "[[rule]]\nname = 7\nkind = \"body\"\n",
			":2: rule #1: name must be a string, got a number"},
		{"score override as text", "[scores]\nHTML_ONLY = \"off\"\n",
			":2: [scores] HTML_ONLY: score must be a number, got a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeRules(t, "local.toml", tt.text)
			probs := Lint([]string{p}, Options{})
			var got []string
			for _, pr := range probs {
				got = append(got, pr.String())
				if strings.Contains(pr.Msg, "toml") || strings.Contains(pr.Msg, "TOML") || strings.Contains(pr.Msg, "type") {
					t.Errorf("library wording in %q", pr)
				}
			}
			if !slices.Contains(got, p+tt.want) {
				t.Errorf("problems:\n  %s\nwant one to read %q", strings.Join(got, "\n  "), p+tt.want)
			}
		})
	}
}

// TestRuleFileProblemsInOnePass: every error and warning of a file comes
// out of one lint, so an operator fixes them all in one round.
func TestRuleFileProblemsInOnePass(t *testing.T) {
	p := writeRules(t, "local.toml", `[[rule]]
name = "LOCAL_A"
kind = "body"
pattern = 'x'
score = "high"
description = "d"

[[rule]]
name = "LOCAL_B"
kind = "bdy"
pattern = 'y'
score = 1
description = "d"

[[rule]]
name = "LOCAL_META"
kind = "meta"
expr = 'LOCAL_A && LOCAL_B && TYPO_RULE'
score = 1
description = "d"

[scores]
LOCAL_A = 2
NO_SUCH_RULE = 1
`)
	want := []string{
		p + ":5: rule LOCAL_A: score must be a number, got a string",
		p + `:10: rule LOCAL_B: unknown kind "bdy": want one of header, body, uri, raw, phrases, meta, builtin`,
		p + ":15: warning: meta rule LOCAL_META names TYPO_RULE, which is no content rule (fine if another check emits it)",
		p + ":24: [scores] NO_SUCH_RULE: no content rule has that name (see \x60relayguard rules list\x60)",
	}
	var got []string
	for _, pr := range Lint([]string{p}, Options{}) {
		got = append(got, pr.String())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// Load refuses the file and its error says the same, warning included.
	_, err := Load([]string{p}, Options{})
	if err == nil {
		t.Fatal("loaded a file with errors")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Load error lacks %q:\n%v", w, err)
		}
	}
}

// TestRulesetWarnings: a rule set that loads hands out its warnings with
// file:line, for the proxy to log at start and on reload.
func TestRulesetWarnings(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "local.toml")
	typo := "[[rule]]\nname = \"LOCAL_META\"\nkind = \"meta\"\nexpr = 'HTML_ONLY && SPF_FAIL && TYPO_RULE'\nscore = 1\ndescription = \"d\"\n"
	if err := os.WriteFile(p, []byte(typo), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := Load([]string{p}, Options{KnownSymbols: []string{"SPF_FAIL"}})
	if err != nil {
		t.Fatal(err)
	}
	want := p + ":1: warning: meta rule LOCAL_META names TYPO_RULE, which is no content rule (fine if another check emits it)"
	ws := rs.Warnings()
	if len(ws) != 1 || ws[0].String() != want {
		t.Fatalf("Warnings() = %v, want [%s]", ws, want)
	}
	ws[0].Msg = "changed by the caller"
	if rs.Warnings()[0].String() != want {
		t.Error("a caller changed the rule set's warnings")
	}
	// Fixing the typo clears the warning.
	if err := os.WriteFile(p, []byte(strings.Replace(typo, " && TYPO_RULE", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if rs, err = Load([]string{p}, Options{KnownSymbols: []string{"SPF_FAIL"}}); err != nil {
		t.Fatal(err)
	}
	if ws := rs.Warnings(); len(ws) != 0 {
		t.Errorf("after the fix, Warnings() = %v", ws)
	}
	// The built-in rules name other checks' symbols by design: no warning.
	if ws := defaultRuleset(t).Warnings(); len(ws) != 0 {
		t.Errorf("default rules warn: %v", ws)
	}
}

func TestRuleFileMissing(t *testing.T) {
	_, err := Load([]string{"/nonexistent/rules.toml"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/rules.toml") {
		t.Fatalf("err = %v", err)
	}
}

func TestOperatorRules(t *testing.T) {
	p := writeRules(t, "local.toml", `
[[rule]]
name = "LOCAL_CASINO"
kind = "body"
pattern = '(?i)\bonline casino\b'
score = 3
description = "Casino advertising"

[[rule]]
name = "LOCAL_FROM_BULK"
kind = "header"
header = "From:addr"
pattern = '@bulk\.example$'
score = 2
description = "From a known bulk sender"

[[rule]]
name = "LOCAL_NO_XMAILER"
kind = "header"
header = "X-Mailer"
pattern = '.'
negate = true
score = 0.1
description = "No X-Mailer"

[[rule]]
name = "LOCAL_URI_HOST"
kind = "uri"
part = "host"
pattern = '(^|\.)casino\.example$'
score = 4
description = "Links to the casino"

[[rule]]
name = "LOCAL_RAW_CHARSET"
kind = "raw"
pattern = '(?i)charset="?gb2312'
score = 1
description = "Chinese charset"

[[rule]]
name = "__LOCAL_SUB"
kind = "body"
pattern = 'jackpot'

[[rule]]
name = "LOCAL_META"
kind = "meta"
expr = '__LOCAL_SUB && LOCAL_CASINO && !DKIM_VALID'
score = 2.5
description = "Casino with a jackpot, unsigned"

[[rule]]
name = "LOCAL_COUNT"
kind = "meta"
expr = '(LOCAL_CASINO + LOCAL_URI_HOST + LOCAL_FROM_BULK) >= 2'
score = 1
description = "Two casino signs"

[[rule]]
name = "LOCAL_WORDS"
kind = "phrases"
score = 2.5
description = "Gambling words"
[rule.phrases]
"jackpot" = 1
"free spins" = 1
"roulette" = 1
"slot machine*" = 1

[[rule]]
name = "URI_MANY"
kind = "builtin"
min = 3
score = 0.7
description = "Many links (local threshold)"

[scores]
HTML_ONLY = 0
PHRASE_ACTION = 0.25
`)
	rs, err := Load([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: Promo <promo@bulk.example>\nTo: x@example.net\nSubject: Jackpot!\nContent-Type: text/html\n\n" +
		`<p>Play at our online casino: free spins, roulette and slot machines. Win the jackpot.</p>` +
		`<a href="http://www.casino.example/">click here</a> <a href="http://a.example/">a</a> <a href="http://b.example/">b</a>` +
		`<meta charset="gb2312">`
	m := parse(raw)
	hits := rs.Evaluate(m, received)
	got := map[string]Hit{}
	var names []string
	for _, h := range hits {
		got[h.Name] = h
		names = append(names, h.Name)
	}
	for _, h := range rs.EvaluateMeta(m, names) {
		got[h.Name] = h
	}
	want := map[string]float64{
		"LOCAL_CASINO": 3, "LOCAL_FROM_BULK": 2, "LOCAL_NO_XMAILER": 0.1, "LOCAL_URI_HOST": 4,
		"LOCAL_META": 2.5, "LOCAL_COUNT": 1, "LOCAL_WORDS": 2.5, "URI_MANY": 0.7, "PHRASE_ACTION": 0.25,
	}
	for n, s := range want {
		h, ok := got[n]
		if !ok {
			t.Errorf("%s did not fire; got %v", n, names)
			continue
		}
		if h.Score != s {
			t.Errorf("%s score %v, want %v", n, h.Score, s)
		}
	}
	if h := got["LOCAL_WORDS"]; !strings.Contains(h.Match, "roulette") || !strings.Contains(h.Match, "free spins") {
		t.Errorf("LOCAL_WORDS match %q", h.Match)
	}
	if _, ok := got["HTML_ONLY"]; ok {
		t.Error("HTML_ONLY fired although [scores] turned it off")
	}
	if _, ok := got["__LOCAL_SUB"]; ok {
		t.Error("a __ sub-rule was reported")
	}
	if _, ok := got["LOCAL_RAW_CHARSET"]; !ok {
		t.Error("raw rule did not fire")
	}
	// The meta sees symbols of other checks.
	for _, h := range rs.EvaluateMeta(m, append(names, "DKIM_VALID")) {
		if h.Name == "LOCAL_META" {
			t.Error("LOCAL_META fired although DKIM_VALID was present")
		}
	}
	// Listing shows the local threshold and overrides.
	for _, r := range rs.Rules() {
		switch r.Name {
		case "HTML_ONLY":
			if r.Score != 0 {
				t.Errorf("HTML_ONLY listed with score %v", r.Score)
			}
		case "URI_MANY":
			if r.File != p {
				t.Errorf("URI_MANY listed from %q, want the operator file", r.File)
			}
		case "__LOCAL_SUB":
			t.Error("sub-rule listed")
		}
	}
}

func TestZeroScoreRuleStillFeedsMeta(t *testing.T) {
	p := writeRules(t, "local.toml", `
[[rule]]
name = "LOCAL_META"
kind = "meta"
expr = 'HTML_ONLY && URI_IP_LITERAL'
score = 5
description = "HTML linking to an IP"

[scores]
HTML_ONLY = 0
`)
	rs, err := Load([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := parse("Content-Type: text/html\n\n<a href=\"http://192.0.2.1/\">x</a>")
	hits := rs.Evaluate(m, received)
	var names []string
	for _, h := range hits {
		if h.Name == "HTML_ONLY" {
			t.Error("HTML_ONLY reported at score 0")
		}
		names = append(names, h.Name)
	}
	meta := rs.EvaluateMeta(m, names)
	found := false
	for _, h := range meta {
		found = found || h.Name == "LOCAL_META"
	}
	if !found {
		t.Errorf("LOCAL_META did not fire: %v / %v", hits, meta)
	}
}

func TestLintWarnsOnUnknownMetaNames(t *testing.T) {
	p := writeRules(t, "local.toml", `
[[rule]]
name = "LOCAL_META"
kind = "meta"
expr = 'HTML_ONLY && SPF_FAIL && TYPO_RULE'
score = 1
description = "d"
`)
	probs := Lint([]string{p}, Options{KnownSymbols: []string{"SPF_FAIL"}})
	if len(probs) != 1 || !probs[0].Warning || !strings.Contains(probs[0].Msg, "TYPO_RULE") || probs[0].Line != 2 {
		t.Fatalf("problems = %v", probs)
	}
	if _, err := Load([]string{p}, Options{}); err != nil {
		t.Fatalf("warnings must not stop loading: %v", err)
	}
}

func TestMetaExpressions(t *testing.T) {
	fired := map[string]bool{"A": true, "B": true, "C": false}
	tests := map[string]bool{
		"A":                     true,
		"!A":                    false,
		"A && B":                true,
		"A && C":                false,
		"A && !C":               true,
		"C || B":                true,
		"(A + B + C) >= 2":      true,
		"(A + B + C) > 2":       false,
		"A + B == 2 && !(C)":    true,
		"!(A || C) || (B && A)": true,
		"UNKNOWN":               false,
		"2 > 1":                 true,
	}
	for expr, want := range tests {
		n, err := parseMeta(expr)
		if err != nil {
			t.Errorf("%q: %v", expr, err)
			continue
		}
		if got := n.eval(func(s string) bool { return fired[s] }) != 0; got != want {
			t.Errorf("%q = %v, want %v", expr, got, want)
		}
	}
	for _, bad := range []string{"", "A &&", "(A", "A B", "A & B", "A ) B", strings.Repeat("(", 100) + "A" + strings.Repeat(")", 100), "A @ B"} {
		if _, err := parseMeta(bad); err == nil {
			t.Errorf("%q parsed; want an error", bad)
		}
	}
}

func TestPhraseScoreCap(t *testing.T) {
	p := writeRules(t, "local.toml", `
[[rule]]
name = "LOCAL_P"
kind = "phrases"
score = 2
description = "d"
[rule.phrases]
"alpha" = 1.5
"beta" = 1.5
"risk free" = 0.5
"risk-free" = 0.7

[[rule]]
name = "LOCAL_HAM"
kind = "phrases"
score = -1
description = "wanted words"
[rule.phrases]
"invoice attached" = 0.4
`)
	rs, err := Load([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	score := func(body, name string) float64 {
		for _, h := range rs.Evaluate(parse("Subject: x\n\n"+body), received) {
			if h.Name == name {
				return h.Score
			}
		}
		return 0
	}
	tests := []struct {
		body, rule string
		want       float64
	}{
		{"alpha", "LOCAL_P", 1.5},
		{"alpha alpha alpha", "LOCAL_P", 1.5}, // each phrase counts once
		{"alpha beta", "LOCAL_P", 2},          // capped at the rule's score
		{"risk free, risk-free", "LOCAL_P", 0.7},
		{"alphabet", "LOCAL_P", 0}, // whole words only
		{"invoice attached", "LOCAL_HAM", -0.4},
	}
	for _, tt := range tests {
		if got := score(tt.body, tt.rule); got != tt.want {
			t.Errorf("%q: %s = %v, want %v", tt.body, tt.rule, got, tt.want)
		}
	}
}
