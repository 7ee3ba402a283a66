package heuristics

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

// countCasesByRune is how bodyCaps counted before countCases: a rune at a
// time, every rune through unicode.IsUpper and IsLower.
func countCasesByRune(text string) (upper, cased int) {
	for _, c := range text {
		switch {
		case unicode.IsUpper(c):
			upper++
			cased++
		case unicode.IsLower(c):
			cased++
		}
	}
	return upper, cased
}

func TestCountCasesCountsAsUnicodeDoes(t *testing.T) {
	for _, s := range []string{"", "FREE money", "ÀÉ àé", "Σσς", "\xffA\xc3", "ǅ dž", "123 !?", "ＡＢＣ ａｂｃ"} {
		u, c := countCases(s)
		wu, wc := countCasesByRune(s)
		if u != wu || c != wc {
			t.Errorf("countCases(%q) = %d, %d; want %d, %d", s, u, c, wu, wc)
		}
	}
}

// FuzzCountCases: eight ASCII bytes at a time, the ASCII table and the
// rune decoding count every text, valid UTF-8 or not, exactly as the rune
// loop did.
func FuzzCountCases(f *testing.F) {
	for _, s := range []string{"BUY NOW", "Ünïcödé ÜBER", "\xff\xfeAb", "ǅ", "a\u0301B", "THE QUICK brown fox JUMPS over 12 lazy dogs, @[`{ Ünïcödé then MORE ascii AZaz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, c := countCases(s)
		wu, wc := countCasesByRune(s)
		if u != wu || c != wc {
			t.Fatalf("countCases(%q) = %d, %d; want %d, %d", s, u, c, wu, wc)
		}
	})
}

// FuzzCountWords: up to its limit, countWords counts what strings.Fields
// would split, on any text, valid UTF-8 or not.
func FuzzCountWords(f *testing.F) {
	for _, s := range []string{"", "one two\tthree", "a\u00a0b\u0085c\u2003d", "\xff \xfe", "  lead and trail  ", "\u3000全角\u3000空白"} {
		f.Add(s, 3.5)
		f.Add(s, 100.0)
	}
	f.Fuzz(func(t *testing.T, s string, limit float64) {
		n, whole := countWords(s, limit)
		want := len(strings.Fields(s))
		switch {
		case whole && n != want:
			t.Fatalf("countWords(%q) = %d; Fields splits %d", s, n, want)
		case !whole && (float64(n) < limit || n > want):
			t.Fatalf("countWords(%q, %v) stopped at %d of %d words", s, limit, n, want)
		case whole && float64(want) >= limit:
			t.Fatalf("countWords(%q, %v) counted all %d words, past its limit", s, limit, want)
		}
	})
}

// spacedOutByByte is spacedOut before it skipped whole words: every
// letter tested on both sides.
func spacedOutByByte(text string, min float64) (string, bool) {
	start, n := -1, 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !isLetterByte(c) {
			continue
		}
		if i > 0 && isWordByte(text[i-1]) || i+1 < len(text) && isWordByte(text[i+1]) {
			n = 0
			continue
		}
		if n == 0 || i != start+2*n {
			start, n = i, 0
		}
		n++
		if float64(n) >= min && !(i+2 < len(text) && spacer[text[i+1]] && isLetterByte(text[i+2])) {
			return text[start : i+1], true
		}
		if !(i+1 < len(text) && spacer[text[i+1]]) {
			n = 0
		}
	}
	return "", false
}

// FuzzSpacedOut: skipping words finds what testing every letter found.
func FuzzSpacedOut(f *testing.F) {
	for _, s := range []string{"f r e e money", "v.i.a.g.r.a", "a b c d é f g", "x1 y z w", "ab c d e f_g h i", "\xffa b c d e", "some words then f r e e m o n e y, a long line_of_words x y z w v", "12345678a b c d e fghijklm n o p q r"} {
		f.Add(s, 4.0)
	}
	f.Fuzz(func(t *testing.T, s string, min float64) {
		in := &Input{Min: min, Body: func() string { return s }}
		got, ok := spacedOut(in)
		want, wok := spacedOutByByte(s, min)
		if got != want || ok != wok {
			t.Fatalf("spacedOut(%q, %v) = %q, %v; want %q, %v", s, min, got, ok, want, wok)
		}
	})
}

// FuzzSpaceSpans: on brandWords' output, for any text, spaceSpans finds
// the words strings.Fields splits.
func FuzzSpaceSpans(f *testing.F) {
	for _, s := range []string{"PayPal Account Team", "  Bank-of-America!! ", "Ünïcödé Bänk\u00a0x", "", "\xff a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w := brandWords(s)
		var got []string
		for _, sp := range spaceSpans(nil, w) {
			got = append(got, w[sp.start:sp.end])
		}
		want := strings.Fields(w)
		if !slices.Equal(got, want) {
			t.Fatalf("spaceSpans(%q) = %q; Fields %q", w, got, want)
		}
	})
}

// FuzzMayHoldSingleLetter: wherever eight bytes hold a single letter,
// mayHoldSingleLetter says they may.
func FuzzMayHoldSingleLetter(f *testing.F) {
	for _, s := range []string{"a b c d e f g h i", "word a word", "12345678a", "abcdefg h", "x\xffy z_w 9 q", "________a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i+8 <= len(s); i++ {
			single := false
			for j := i; j < i+8; j++ {
				single = single || isLetterByte(s[j]) && (j == 0 || !isWordByte(s[j-1])) && (j+1 == len(s) || !isWordByte(s[j+1]))
			}
			if single && !mayHoldSingleLetter(s, i) {
				t.Fatalf("%q at %d holds a single letter, mayHoldSingleLetter says not", s, i)
			}
		}
	})
}
