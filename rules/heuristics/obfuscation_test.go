package heuristics

import (
	"hash/fnv"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// FuzzScanMarks: any text, valid UTF-8 or not, is scanned without a panic
// and with counts that make sense (the examples exist when the counts do).
func FuzzScanMarks(f *testing.F) {
	for _, s := range []string{"Pay\u200bPal", "𝐏𝐚𝐲", "🇵🇦🇾", "🇧🇷🇵🇹", "a\u0301\u0302", "ＰＤＦファイル", "\ufeff\u034fx", "שלום\u200f", "\xff\u202e"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, header bool) {
		m := scanMarks(s, header)
		if m.invisible < 0 || m.invisibleWords < 0 || m.bidi < 0 || m.styled < 0 || m.marked < 0 {
			t.Fatalf("negative count %+v for %q", m, s)
		}
		if m.bidi > 0 && m.bidiEx == "" || m.styled > 0 && m.styledEx == "" || m.marked > 0 && m.markedEx == "" {
			t.Fatalf("count without example %+v for %q", m, s)
		}
	})
}

// FuzzWordHashes holds wordHashes, which hashes words as it reads them, to
// its plain definition: the distinct words of three letters or more of
// strings.ToLower(s), hashed.
func FuzzWordHashes(f *testing.F) {
	for _, s := range []string{"", "Hello World, hello AGAIN abc ab", "x1yz Abc-def_ghi\tJKL\n", "@@@aBc[]`{~", "Ünïcödé ÄÖÜ straße \u00a0nbsp\u00a0", "\xffab\xfecdé", "ΣΊΣΥΦΟΣ İstanbul"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []uint64
		for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) }) {
			if len([]rune(w)) >= 3 {
				h := fnv.New64a()
				h.Write([]byte(w))
				want = append(want, h.Sum64())
			}
		}
		slices.Sort(want)
		want = slices.Compact(want)
		if got := wordHashes(s); !slices.Equal(got, want) {
			t.Fatalf("wordHashes(%q) = %x, want %x", s, got, want)
		}
	})
}

// FuzzBrandWordsASCII holds the ASCII shortcut of brandWords to the
// Unicode path it skips.
func FuzzBrandWordsASCII(f *testing.F) {
	for _, s := range []string{"PayPal Account Team", "  Bank-of-America!! ", "x|y 0l1 UPS", "", "---", "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !isASCII(s) {
			return
		}
		if got, want := brandWordsASCII(s), brandWordsUnicode(s); got != want {
			t.Fatalf("brandWordsASCII(%q) = %q, want %q", s, got, want)
		}
	})
}

// FuzzScanMarksASCIIWords holds scanMarks' pass over ASCII words to the
// rune-by-rune reading: the same counts and examples.
func FuzzScanMarksASCIIWords(f *testing.F) {
	for _, s := range []string{"Pay\u200bPal now", "abc 𝐏𝐚𝐲 def", "x1 a\u0301b c", "\ufeffHello", "ＰＤＦファイル abc", "ok ab\u200dcd", "plain ascii only, 123"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, header bool) {
		got, want := scanMarks(s, header), scanMarksPaced(s, header, false)
		if *got != *want {
			t.Fatalf("scanMarks(%q, %v) = %+v, rune by rune %+v", s, header, *got, *want)
		}
	})
}
