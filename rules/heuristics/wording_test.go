package heuristics

import (
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
