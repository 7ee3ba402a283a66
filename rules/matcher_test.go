package rules

import (
	"math/rand"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestACMatchesNaive compares the automaton with strings.Index on random
// patterns and texts over a small alphabet (so that overlaps abound).
func TestACMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcab\xffé"[rng.Intn(7)]
		}
		return string(b)
	}
	for round := 0; round < 300; round++ {
		pats := make([]string, 1+rng.Intn(20))
		for i := range pats {
			pats[i] = word(1 + rng.Intn(5))
		}
		text := word(rng.Intn(200))
		ac := newACMatcher(pats)
		found := make([]bool, len(pats))
		ac.present([]byte(text), found)
		for i, p := range pats {
			if want := strings.Contains(text, p); found[i] != want {
				t.Fatalf("pattern %q in %q: found %v, want %v", p, text, found[i], want)
			}
		}
		// Every reported end offset is a real occurrence.
		ac.scan([]byte(text), func(id, end int) bool {
			if !strings.HasSuffix(text[:end], pats[id]) {
				t.Fatalf("pattern %q reported ending at %d of %q", pats[id], end, text)
			}
			return true
		})
	}
}

func TestACEmpty(t *testing.T) {
	ac := newACMatcher([]string{"", ""})
	ac.scan([]byte("anything"), func(int, int) bool { t.Fatal("match from empty patterns"); return false })
	var nilAC *acMatcher
	nilAC.scan([]byte("x"), func(int, int) bool { t.Fatal("match from nil"); return false })
}

// TestPrefilterNeverHidesAMatch: whatever literals are picked, a pattern
// that matches the text is always a candidate.
func TestPrefilterNeverHidesAMatch(t *testing.T) {
	patterns := []string{
		`(?i)free\s+money`, `(?i)\bviagra\b`, `click\s*here`, `(?i)(?:cheap|discount)\s+(?:meds|pills)`,
		`[0-9]{3}-[0-9]{4}`, `(?i)unsubscribe|opt.?out`, `a+b+c+`, `(?i)ſtraße`, `(?i)\x{212a}elvin`,
		`(?i)(?:abc){2,}x`, `x(?:yz)?w`, `(?i)caf[eé]`, `^Subject`, `(?m)^dear\s+friend`, `€uro`,
		`(?i)ÉCOLE`, `(hello|world)+ again`, `(?:a|b|c)(?:d|e)`,
	}
	texts := []string{
		"Get FREE\tMoney now", "VIAGRA", "clickhere", "Discount PILLS", "call 555-1234", "OPT-OUT",
		"aaabbbccc", "STRASSE straße", "kelvin", "abcABCx", "xw xyzw", "CAFÉ", "Subject: x", "\nDear  Friend",
		"€uro", "école", "world hello again", "ae",
	}
	pf := newPrefilter(patterns)
	for _, text := range texts {
		cand := pf.candidates(foldForSearch(text, nil))
		for i, p := range patterns {
			if regexp.MustCompile(p).MatchString(text) && !cand[i] {
				t.Errorf("pattern %q matches %q but the prefilter ruled it out (literals %q)", p, text, requiredLiterals(p))
			}
		}
	}
}

func TestRequiredLiterals(t *testing.T) {
	tests := map[string][]string{
		`(?i)free\s+money`:         {"MONEY"},
		`hello`:                    {"HELLO"},
		`(?:cheap|discount) pills`: {" PILLS"},
		`(?:cheap|discount)`:       {"CHEAP", "DISCOUNT"},
		`a.b`:                      nil,
		`(?:abc)?`:                 nil,
		`x*`:                       nil,
		`(?:ab|c)`:                 nil, // "c" is too short to filter on
	}
	for p, want := range tests {
		got := requiredLiterals(p)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("requiredLiterals(%q) = %q, want %q", p, got, want)
		}
	}
}
