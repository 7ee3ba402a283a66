package rules

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestNormaliseWords(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Buy VIAGRA now", " buy viagra now "},
		{"v1agra", " viagra "},
		{"vi@gra", " viagra "},
		{"V!AGRA", " viagra "},
		{"fr33 m0ney", " free money "},
		{"v i a g r a", " viagra "},
		{"v.i.a.g.r.a", " viagra "},
		{"V-I-A-G-R-A!", " viagra "},
		{"v i 4 g r a", " viagra "},
		{"vi\u200bag\u200dra", " viagra "},           // zero-width
		{"ｖｉａｇｒａ", " viagra "},                       // full-width (NFKC)
		{"vіagra", " viagra "},                       // Cyrillic і inside a Latin word
		{"Привет мир", " привет мир "},               // Russian stays Russian
		{"cash!!! now", " cash now "},                // ! after a word is punctuation
		{"drugtreatment.org", " drugtreatment org "}, // no "drug" word
		{"100% free", " 100 free "},                  // numbers are not letters
		{"$100 and 2002", " 100 and 2002 "},          // numbers stay numbers
		{"don't", " don t "},                         // apostrophes split like the phrase does
		{"e-mail", " e mail "},                       //
		{"A B", " a b "},                             // two single letters: not joined
		{"ﬁnancial", " financial "},                  // ligature
		{"Straße", " straße "},                       //
		{"\xff\xfe broken utf8", " broken utf8 "},    // invalid bytes do not crash
	}
	for _, tt := range tests {
		got, _ := normaliseWords(tt.in, false)
		if string(got) != tt.want {
			t.Errorf("normaliseWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormaliseWordsTracksSource(t *testing.T) {
	in := "Get cheap v1agra today"
	out, ranges := normaliseWords(in, true)
	if string(out) != " get cheap viagra today " {
		t.Fatalf("out = %q", out)
	}
	if len(ranges) != 4 {
		t.Fatalf("ranges = %v", ranges)
	}
	if got := in[ranges[2].start:ranges[2].end]; got != "v1agra" {
		t.Errorf("word 3 came from %q, want v1agra", got)
	}
}

func TestNormalisePhrase(t *testing.T) {
	tests := map[string]string{
		"Click Here":  " click here ",
		"refinanc*":   " refinanc",
		"don't delay": " don t delay ",
		"100% free":   " 100 free ",
	}
	for in, want := range tests {
		if got := normalisePhrase(in); got != want {
			t.Errorf("normalisePhrase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFoldForSearch(t *testing.T) {
	tests := map[string]string{
		"Hello":   "HELLO",
		"\u212a":  "K", // Kelvin sign folds with k
		"ſ":       "S", // long s folds with s
		"straße":  "STRAßE",
		"\xffabc": "\ufffdABC",
		"ÉCOLE é": "ÉCOLE É",
	}
	for in, want := range tests {
		if got := string(foldForSearch(in, nil)); got != want {
			t.Errorf("foldForSearch(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzNormaliseWords(f *testing.F) {
	for _, s := range []string{"v i a g r a", "vі@gra", "ｖｉａ", "a\u0301b", "x\u200by"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ranges := normaliseWords(s, true)
		if !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		if len(out) == 0 || out[0] != ' ' || out[len(out)-1] != ' ' {
			t.Fatalf("out %q not space-framed", out)
		}
		if n := strings.Count(strings.TrimSpace(string(out)), " ") + 1; strings.TrimSpace(string(out)) != "" && n != len(ranges) {
			t.Fatalf("%d words, %d ranges for %q", n, len(ranges), s)
		}
		for _, r := range ranges {
			if r.start < 0 || r.end > int32(len(s)) || r.start > r.end {
				t.Fatalf("range %v out of %d bytes", r, len(s))
			}
		}
	})
}

func TestExportedNormaliseWordsSplitsWords(t *testing.T) {
	got := NormaliseWords("Buy V1AGRA now, v i a g r a!")
	want := []string{"buy", "viagra", "now", "viagra"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("NormaliseWords = %q, want %q", got, want)
	}
}

// FuzzNormaliseWordsPlainPath holds the plain-word fast path to the byte
// at a time reading it shortcuts: the same words, the same ranges.
func FuzzNormaliseWordsPlainPath(f *testing.F) {
	for _, s := range []string{"Hello world", "v i a g r a now", "cash!!! v1agra |x| !hi", "word\u0301 next", "ab\u200bcd ef", "Ünï ab cd", "x", "ab", "ab1 a b c d", "the end", "v1agra FR33 a1b2c3 2fa 12345 h264 0a0 l33t 007 V11AGRA 1a", "x9 99 9x9 4ll 5ex\u0301 12ab!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, fastRanges := normaliseWords(s, true)
		slow := newNormaliser(s, true)
		slow.byteAtATime = true
		want, wantRanges := slow.run(s)
		if string(fast) != string(want) || !slices.Equal(fastRanges, wantRanges) {
			t.Fatalf("normaliseWords(%q) = %q %v, byte at a time %q %v", s, fast, fastRanges, want, wantRanges)
		}
	})
}

// FuzzASCIIRunEnd holds the eight-bytes-at-a-time search for the end of
// an ASCII run to the byte loop it replaced, from every start.
func FuzzASCIIRunEnd(f *testing.F) {
	for _, s := range []string{"", "plain ascii text", "abcdefgh\x80", "abcdefghi\xffj", "é", "ab\u200bcd efghijklmnop"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i <= len(s); i++ {
			want := i
			for want < len(s) && s[want] < utf8.RuneSelf {
				want++
			}
			if got := asciiRunEnd(s, i); got != want {
				t.Fatalf("asciiRunEnd(%q, %d) = %d, want %d", s, i, got, want)
			}
		}
	})
}

// TestNormaliseWordsOutgrowsItsBuffers: the output is sized for the input;
// a text whose words expand (one NFKC ligature becomes 18 bytes) or are
// all short (a range per three bytes) must grow them, and keep every word
// and range.
func TestNormaliseWordsOutgrowsItsBuffers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ﷺ", " " + norm.NFKC.String("ﷺ") + " "},
		{"ﷺﷺ x", " " + norm.NFKC.String("ﷺﷺ") + " x "},
		{strings.Repeat("ab ", 40), " " + strings.Repeat("ab ", 40)},
		{strings.Repeat("ﬀ ", 50), strings.Repeat(" ff", 50) + " "},
	}
	for _, tt := range tests {
		got, ranges := normaliseWords(tt.in, true)
		if string(got) != tt.want {
			t.Errorf("normaliseWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if n := len(strings.Fields(tt.want)); len(ranges) != n {
			t.Errorf("normaliseWords(%q): %d ranges for %d words", tt.in, len(ranges), n)
		}
	}
}
