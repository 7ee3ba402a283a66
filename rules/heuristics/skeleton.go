package heuristics

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Look-alike names, after UTS #39 (Unicode Security Mechanisms) §4:
// two strings are confusable when their skeletons are equal. The
// skeleton here is a compact, hand-written subset aimed at what domain
// look-alikes use against Latin names: Cyrillic and Greek letters that
// render as Latin ones, the digits 0 and 1, Latin letters with
// diacritics, and the letter pairs rn→m, vv→w, cl→d.
//
// It is hand-written because golang.org/x/text ships no confusables
// table. github.com/mtibben/confusables does ship the full table, but it
// has been unmaintained since 2021 and its skeletons map in the other
// direction (m→rn, to Latin-1 "prototypes" that are not always the
// letters a reader sees); the few dozen mappings below cover the
// look-alikes phishing domains use, and keep the dependency list short.

// skeletonRunes maps a lower-case rune to the Latin letter it is mistaken
// for. Letters with diacritics are handled by decomposition (skeleton).
var skeletonRunes = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'г': 'r', 'е': 'e', 'ё': 'e', 'һ': 'h', 'і': 'i', 'ї': 'i', 'ј': 'j',
	'к': 'k', 'ӏ': 'l', 'м': 'm', 'н': 'h', 'о': 'o', 'п': 'n', 'р': 'p', 'с': 'c', 'т': 't',
	'у': 'y', 'х': 'x', 'ѕ': 's', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ь': 'b', 'ү': 'y', 'ց': 'g',
	// Greek
	'α': 'a', 'β': 'b', 'γ': 'y', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o',
	'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w', 'ϲ': 'c', 'ϳ': 'j', 'μ': 'u',
	// Latin letters that decomposition leaves alone
	'ı': 'i', 'ł': 'l', 'ø': 'o', 'đ': 'd', 'ħ': 'h', 'ŀ': 'l', 'ɡ': 'g', 'ɑ': 'a', 'ǀ': 'l',
	// digits and symbols
	'0': 'o', '1': 'l', '|': 'l',
}

// skeletonPairs are the letter pairs read as one letter, applied after
// the rune mapping.
var skeletonPairs = strings.NewReplacer("rn", "m", "vv", "w", "cl", "d")

// skeleton returns the name a reader would take s for: lower case, marks
// removed (é→e, ü→u), look-alike letters and digits mapped to Latin,
// rn→m, vv→w, cl→d. Only look-alikes are folded: a German ü becomes u,
// so müller.de is compared as muller, which is no brand's name.
func skeleton(s string) string {
	if len(s) <= maxASCIISkeleton && isASCII(s) {
		return skeletonASCII(s)
	}
	return skeletonUnicode(s)
}

// maxASCIISkeleton bounds the labels skeletonASCII folds on its stack (a
// DNS label has at most 63 bytes).
const maxASCIISkeleton = 64

// skeletonASCII is skeleton for an ASCII s, without the copies NFKD,
// ToLower, the builder and the Replacer make: most host names in mail are
// ASCII, and the look-alike check takes the skeleton of each. ASCII is
// its own NFKD and has no marks; of the rune map only 0, 1 and | apply.
// The pairs need no Replacer: they start with three different letters,
// so at most one of them matches at a byte, and the replacement is never
// read again, as the Replacer does not.
func skeletonASCII(s string) string {
	var buf [maxASCIISkeleton]byte
	b := buf[:len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '0':
			c = 'o'
		case c == '1' || c == '|':
			c = 'l'
		}
		b[i] = c
	}
	w := 0
	for r := 0; r < len(b); r++ {
		c := b[r]
		if r+1 < len(b) {
			switch {
			case c == 'r' && b[r+1] == 'n':
				c, r = 'm', r+1
			case c == 'v' && b[r+1] == 'v':
				c, r = 'w', r+1
			case c == 'c' && b[r+1] == 'l':
				c, r = 'd', r+1
			}
		}
		b[w] = c
		w++
	}
	if string(b[:w]) == s {
		return s // already its own skeleton, as most names are: no copy
	}
	return string(b[:w])
}

// skeletonUnicode is skeleton for any s.
func skeletonUnicode(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(strings.ToLower(s)) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if m, ok := skeletonRunes[r]; ok {
			r = m
		}
		b.WriteRune(r)
	}
	return skeletonPairs.Replace(b.String())
}

// editDistance is the Damerau-Levenshtein distance of a and b (optimal
// string alignment: insertions, deletions, substitutions and swaps of two
// neighbours, each costing 1), counted in runes. It stops early and
// returns max+1 once the distance must exceed max.
func editDistance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > max || -d > max {
		return max + 1
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > max {
			return max + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	if prev[len(rb)] > max {
		return max + 1
	}
	return prev[len(rb)]
}

// scriptMix tells whether a label mixes Latin letters with Cyrillic or
// Greek ones, which no real name does (UTS #39 §5.1, "mixed-script
// confusables"): the other script's letters are there to look Latin.
func scriptMix(label string) bool {
	latin, other := false, false
	for _, r := range label {
		switch {
		case unicode.Is(unicode.Latin, r):
			latin = true
		case unicode.Is(unicode.Cyrillic, r), unicode.Is(unicode.Greek, r):
			other = true
		}
	}
	return latin && other
}
