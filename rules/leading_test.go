package rules

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// leadPatterns are the default body rules' patterns and others that
// exercise the start literals: assertions before them, optional and
// repeated parts, alternations, groups, (?m)^, and case folding with the
// Kelvin sign and long s.
func leadPatterns(t testing.TB) []string {
	pats := []string{
		`(?i)\blose\s+(?:up\s+to\s+)?\d+\s*(?:lbs?|kg)\b`, `(?i)\b(?:for\s+)?(?:only|just)\s+\$\s?\d+`,
		`(?im)^\W?dear\s+(friend|sir)\b`, `(?m)^ab+c`, `a*bc`, `(x|yz)+w`, `\Bark`, `(?i)ſtraße|kelvin`,
		`\$\d+|(?i:\bfree\b)`, `\$\s?\d+|\d+ million`, `(?i)\bfoo|\d+ kelvin`, `x+y|abc|\$`, `(?:ab){2,}c`, `(?:ab){0,2}cd`, `(?i)(sk)(y)`, `^foo`, `\Afoo|bar\z`,
	}
	for _, r := range defaultRuleset(t).cur.bodyRules {
		pats = append(pats, r.re.String())
	}
	return pats
}

func TestLeadingLiteralsOnlyWhereEveryMatchStartsWithOne(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{`(?i)\blose\s+\d+`, []string{"LOSE"}},
		{`(?i)\b(?:for\s+)?(?:only|just)\s+\$`, []string{"FOR", "JUST", "ONLY"}},
		{`(?im)^\W{0,3}dear`, nil},    // may start with any non-word character
		{`\b\d{2,3}\s?%`, nil},        // starts with a digit
		{`a*bc`, []string{"A", "BC"}}, // either the a's or bc
		{`(?:ab){0,2}cd`, []string{"AB", "CD"}},
		{`x?`, nil}, // may match empty
		{`\$\s?\d|(?i:\bmillion)`, []string{"$", "MILLION"}},
		{`\$\s?\d|\d+ million`, nil},
	} {
		if got := leadingLiterals(tc.pattern); !slices.Equal(got, tc.want) {
			t.Errorf("leadingLiterals(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

// Nested optional parts that may match empty make the sequence after them
// be read again for each: without a bound, 40 of them would take 3^40 steps.
func TestLeadingLiteralsGiveUpOnNestedOptionalParts(t *testing.T) {
	p := strings.Repeat(`(?:(?:a|b?)c?)?`, 40) + "z"
	if got := leadingLiterals(p); got != nil {
		t.Errorf("leadingLiterals(40 nested optional parts) = %q, want none", got)
	}
}

// FuzzLeadStartFindsWhatTheRegexFinds holds the search from start literals
// to the unanchored regex search it shortcuts: the same match or none.
func FuzzLeadStartFindsWhatTheRegexFinds(f *testing.F) {
	for _, s := range []string{
		"Earn up to $5,000 a week", "lose 20 lbs now; Lose 3-5 kg", "only $19.99, for just $ 5",
		"Dear friend,\nDEAR SIR", "xabbbc abc", "aabc bc", "yzxw xxw", "bark ark", "\u212aelvin ſtraße",
		"é$12 free", "ababababc", "abcd cd", "sky SKY \u212ay", "foo bar", "make an extra $100",
		"50% off \u00e9lose 5 kg", "$ 12 and 3 million, 5 Million", "Foo 3 \u212aelvin", "xxy abc $", "a $1,000,000.00 or 2.5 billion US dollars", "\xe2\x82lose 1 kg", "only\u00a0$5", "\xf0\x9f\x98lose 2 lbs",
	} {
		f.Add(s)
	}
	type pair struct {
		re *regexp.Regexp
		ls *leadStart
	}
	var rules []pair
	for _, p := range leadPatterns(f) {
		if ls := newLeadStart(p); ls != nil {
			rules = append(rules, pair{regexp.MustCompile(p), ls})
		}
	}
	if len(rules) < 8 {
		f.Fatalf("only %d patterns have start literals", len(rules))
	}
	type alt struct {
		re *regexp.Regexp
		as *altSearch
	}
	var alts []alt
	for _, p := range leadPatterns(f) {
		if as := newAltSearch(p); as != nil && newLeadStart(p) == nil {
			alts = append(alts, alt{regexp.MustCompile(p), as})
		}
	}
	if len(alts) < 4 {
		f.Fatalf("only %d patterns are searched branch by branch", len(alts))
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range rules {
			want, wantOK := findMatch(r.re, s)
			got, ok := r.ls.find(r.re, s)
			if got != want || ok != wantOK {
				t.Fatalf("%s on %q: from start literals %q %v, regex %q %v", r.re, s, got, ok, want, wantOK)
			}
		}
		for _, a := range alts {
			want, wantOK := findMatch(a.re, s)
			got, ok := a.as.find(s)
			if got != want || ok != wantOK {
				t.Fatalf("%s on %q: branch by branch %q %v, regex %q %v", a.re, s, got, ok, want, wantOK)
			}
		}
	})
}
