package rules

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// automatonFirsts is what phraseHits did before the word matcher: the
// first report of each pattern by the Aho-Corasick scan, in scan order.
func automatonFirsts(pats []string, text []byte) []phraseOcc {
	var hits []phraseOcc
	seen := map[int]bool{}
	newACMatcher(pats).scan(text, func(id, end int) bool {
		if !seen[id] {
			seen[id] = true
			hits = append(hits, phraseOcc{id, end})
		}
		return true
	})
	return hits
}

// phrasePatterns normalises raw phrases as the rule compiler does,
// dropping those the rule file refuses (no words) and duplicates.
func phrasePatterns(raw []string) []string {
	var pats []string
	for _, p := range raw {
		np := normalisePhrase(p)
		if strings.TrimSpace(np) == "" || slices.Contains(pats, np) {
			continue
		}
		pats = append(pats, np)
	}
	return pats
}

func checkPhraseMatcher(t *testing.T, pats []string, text string) {
	t.Helper()
	words, _ := normaliseWords(text, false)
	want := automatonFirsts(pats, words)
	m := newPhraseMatcher(pats)
	seen := make([]bool, len(pats))
	got := m.firsts(words, nil, seen)
	if !slices.Equal(got, want) {
		t.Fatalf("patterns %q in %q: word matcher %v, automaton %v", pats, words, got, want)
	}
	// seen marks exactly what was found, so a caller can reset it.
	for _, h := range got {
		seen[h.id] = false
	}
	if slices.Contains(seen, true) {
		t.Fatalf("seen marks a pattern not reported")
	}
}

// TestPhraseMatcherFindsWhatTheAutomatonFinds compares the two on random
// phrases and texts over a few short words, so that phrases overlap, share
// first words, end where others end, and prefixes ("ab*") abound.
func TestPhraseMatcherFindsWhatTheAutomatonFinds(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	vocab := []string{"a", "ab", "abc", "b", "ba", "abcdefghij", "abcdefghijk", "v1agra", "viagra", "é", "ab!"}
	phrase := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = vocab[rng.Intn(len(vocab))]
		}
		s := strings.Join(w, " ")
		if rng.Intn(4) == 0 {
			s += "*"
		}
		return s
	}
	for round := 0; round < 2000; round++ {
		raw := make([]string, 1+rng.Intn(12))
		for i := range raw {
			raw[i] = phrase(1 + rng.Intn(3))
		}
		checkPhraseMatcher(t, phrasePatterns(raw), phrase(rng.Intn(40)))
	}
}

// TestPhraseMatcherOnTheDefaultLists runs the default phrase lists over
// the golden messages' body text.
func TestPhraseMatcherOnTheDefaultLists(t *testing.T) {
	c := defaultRuleset(t).cur
	msgs := loadGoldenMessages(t)
	if len(msgs) == 0 {
		t.Fatal("no golden messages")
	}
	found := 0
	for _, data := range msgs {
		text := (&evalCtx{m: parsedAndWalked(data), c: c}).bodyText()
		words, _ := normaliseWords(text, false)
		want := automatonFirsts(c.phrases.pats, words)
		got := c.phrases.firsts(words, nil, make([]bool, len(c.phrases.pats)))
		if !slices.Equal(got, want) {
			t.Fatalf("word matcher %v, automaton %v", got, want)
		}
		found += len(got)
	}
	if found == 0 {
		t.Fatal("no phrase found in any golden message: the comparison proved nothing")
	}
}

// FuzzPhraseMatcher holds the word matcher to the automaton it replaced:
// phrases separated by newlines, any text.
func FuzzPhraseMatcher(f *testing.F) {
	f.Add("risk free\nfree*\nact now", "Act NOW: risk-free, freebies, v1agra")
	f.Add("a b\nb c*\nc", "a b c cd a b")
	f.Add("abcdefgh ij\nabcdefghi*\nabcdefgh", "abcdefgh ij abcdefghij abcdefgh")
	f.Add("ab*\na*", "a ab abc b")
	f.Fuzz(func(t *testing.T, phrases, text string) {
		pats := phrasePatterns(strings.Split(phrases, "\n"))
		if len(pats) == 0 {
			return
		}
		checkPhraseMatcher(t, pats, text)
	})
}

// TestPhraseHitsDoNotCarryOverBetweenMessages: the phrase search keeps its
// buffers from message to message; what one message found must not change
// what the next finds, so each golden message gets the same phrase hits
// whatever message went before it.
func TestPhraseHitsDoNotCarryOverBetweenMessages(t *testing.T) {
	c := defaultRuleset(t).cur
	msgs := loadGoldenMessages(t)
	hitsOf := func(i int) map[string]phraseResult {
		out := map[string]phraseResult{}
		for r, res := range (&evalCtx{m: parsedAndWalked(msgs[i]), c: c}).phraseHits() {
			out[r.Name] = res
		}
		return out
	}
	forward := make([]map[string]phraseResult, len(msgs))
	for i := range msgs {
		forward[i] = hitsOf(i)
	}
	shared := 0
	for i := len(msgs) - 1; i >= 0; i-- {
		back := hitsOf(i)
		if len(back) != len(forward[i]) {
			t.Fatalf("message %d: %v after the later messages, %v after the earlier", i, back, forward[i])
		}
		for name, res := range back {
			if forward[i][name] != res {
				t.Fatalf("message %d, %s: %v after the later messages, %v after the earlier", i, name, res, forward[i][name])
			}
			if i > 0 {
				if _, ok := forward[i-1][name]; ok {
					shared++
				}
			}
		}
	}
	if shared == 0 {
		t.Fatal("no phrase rule fires on two neighbouring messages: the test proves nothing")
	}
}
