package heuristics

import (
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

// FuzzCountCases: the ASCII table and the rune decoding count every text,
// valid UTF-8 or not, exactly as the rune loop did.
func FuzzCountCases(f *testing.F) {
	for _, s := range []string{"BUY NOW", "Ünïcödé ÜBER", "\xff\xfeAb", "ǅ", "a\u0301B"} {
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
