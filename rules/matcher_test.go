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
		`(?i)^[a-z]+://[^/?#]+[/?#][^#]*[a-z0-9._-](?:@|%40)[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}`,
		`(?i)(win|won)\s+\$\d+ (?:cash|prize)`,
	}
	texts := []string{
		"Get FREE\tMoney now", "VIAGRA", "clickhere", "Discount PILLS", "call 555-1234", "OPT-OUT",
		"aaabbbccc", "STRASSE straße", "kelvin", "abcABCx", "xw xyzw", "CAFÉ", "Subject: x", "\nDear  Friend",
		"€uro", "école", "world hello again", "ae",
		"HTTPS://example.com/track?u=jo%40example.org", "http://x.example/a@b.example", "You WON $500 Prize",
	}
	pf := newPrefilter(patterns)
	for _, text := range texts {
		cand := pf.candidates(make([]bool, pf.nrules), new([]bool), foldForSearch(text, nil))
		for i, p := range patterns {
			if regexp.MustCompile(p).MatchString(text) && !cand[i] {
				t.Errorf("pattern %q matches %q but the prefilter ruled it out (literals %q)", p, text, requiredLiterals(p))
			}
		}
		// The same per paragraph, as body rules are run.
		text += "\n\nfiller paragraph\n\n" + text
		starts := paragraphStarts(text)
		every, paras := pf.paragraphHits(text, starts)
		for i, p := range patterns {
			for k := range starts {
				if regexp.MustCompile(p).MatchString(paragraph(text, starts, k)) && !every[i] && !slices.Contains(paras[i], int32(k)) {
					t.Errorf("pattern %q matches paragraph %d of %q but the prefilter ruled it out", p, k, text)
				}
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

// TestExtraLiterals: the further literal sets of a pattern's top-level
// sequence, beside its best one.
func TestExtraLiterals(t *testing.T) {
	tests := map[string][][]string{
		`(?i)^[a-z]+://[^/?#]+[/?#][^#]*(?:@|%40)[a-z]+`: {{"%40", "@"}},
		`(?i)free\s+money`: {{"FREE"}},
		// best: "$"; win|won is parsed as w(?:in|on), too short to use
		`(?i)(win|won)\s+\$\d+ (?:cash|prize)`: {{"CASH", "PRIZE"}},
		`(?:cheap|discount)`:                   nil, // not a sequence
		`a.b`:                                  nil, // no literal at all
	}
	for p, want := range tests {
		got := extraLiterals(p, requiredLiterals(p))
		for _, set := range got {
			slices.Sort(set)
		}
		if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
			t.Errorf("extraLiterals(%q) = %q, want %q", p, got, want)
		}
	}
}

// TestPrefilterNeedsEveryPart: a rule whose best literal is present but
// another required part is absent is not a candidate (a URL rule needing
// "://" and "@" skips a URL without "@").
func TestPrefilterNeedsEveryPart(t *testing.T) {
	pf := newPrefilter([]string{`(?i)^[a-z]+://[^/?#]+[/?#][^#]*(?:@|%40)[a-z]+`})
	for text, want := range map[string]bool{
		"https://example.com/plain/path":        false,
		"https://example.com/x?u=a@example.org": true,
		"https://example.com/x?u=a%40example":   true,
		"mailto:a@example.org":                  false,
	} {
		if got := pf.candidates(make([]bool, pf.nrules), new([]bool), foldForSearch(text, nil))[0]; got != want {
			t.Errorf("candidate for %q = %v, want %v", text, got, want)
		}
	}
}

// TestParagraphNeedsEveryPart: a body rule runs only on paragraphs holding
// one literal of each of its sets ("%" and "off"), not on a paragraph with
// "%" when "off" is in another.
func TestParagraphNeedsEveryPart(t *testing.T) {
	pf := newPrefilter([]string{`\b\d{2,3}\s?%\s?(?i:off|discount)\b`})
	for text, want := range map[string][]int32{
		"width 100% here\n\nbig discount today": nil,
		"intro\n\nnow 50% OFF\n\n30% discount":  {1, 2},
		"50% off, 20% off":                      {0},
	} {
		starts := paragraphStarts(text)
		_, paras := pf.paragraphHits(text, starts)
		if !slices.Equal(paras[0], want) {
			t.Errorf("paragraphs for %q = %v, want %v", text, paras[0], want)
		}
	}
}

// FuzzCandidatesIntoReusedBuffers holds the link rules' reused candidate
// and literal buffers to a fresh candidatesIn: whatever the target before
// left in them, each target gets the same candidates.
func FuzzCandidatesIntoReusedBuffers(f *testing.F) {
	rs, err := Load(nil, Options{})
	if err != nil {
		f.Fatal(err)
	}
	c := rs.cur
	f.Add("https://bit.ly/x", "http://3232235777/a@b.example", "url")
	f.Add("HTTPS://example.com/track?u=jo%40example.org", "x.exe", "host")
	f.Add("http://0x7f.0x00.0x00.0x01/", "\u212aelvin", "text")
	f.Fuzz(func(t *testing.T, a, b, part string) {
		pf := c.uri[part]
		if pf == nil {
			return
		}
		run := make([]bool, pf.nrules)
		var lits []bool
		for _, text := range []string{a, b, a} {
			got := slices.Clone(pf.candidatesInto(run, &lits, text))
			if want := pf.candidatesIn(text); !slices.Equal(got, want) {
				t.Fatalf("%s %q: reused buffers give %v, fresh ones %v", part, text, got, want)
			}
		}
	})
}
