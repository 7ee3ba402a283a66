package message

import "unicode"

// Characters that change how text looks without being letters of it: the
// invisible ones, the bidirectional controls, and letters drawn in a style
// (mathematical bold, circled, full-width). Mail uses them legitimately
// (emoji sequences, Persian and Indic text, right-to-left signatures,
// Japanese full-width Latin); spam puts them inside Latin words so that a
// filter's words no longer match while the reader sees the same text. The
// phrase normaliser (package rules) undoes them; the obfuscation heuristics
// count them. One list serves both.

// IsInvisible tells a code point that renders as nothing and so can split
// a word invisibly: zero-width space, non-joiner and joiner, word joiner
// and the invisible operators, byte-order mark, soft hyphen, combining
// grapheme joiner, Mongolian vowel separator.
func IsInvisible(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\u2061', '\u2062', '\u2063', '\u2064',
		'\ufeff', '\u00ad', '\u034f', '\u180e':
		return true
	}
	return false
}

// IsBidiControl tells the Unicode bidirectional formatting characters
// (UAX #9 §2): the marks (LRM, RLM, ALM), embeddings and overrides
// (U+202A–U+202E) and isolates (U+2066–U+2069). Right-to-left text uses
// them; inside a Latin word they only reorder or hide what is shown.
func IsBidiControl(r rune) bool {
	switch {
	case r == '\u200e', r == '\u200f', r == '\u061c':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// StyledLetter returns the plain lower-case Latin letter or digit a styled
// letter stands for, and whether r is one: mathematical alphanumerics
// (U+1D400–U+1D7FF), enclosed letters (circled U+24B6–U+24E9, parenthesised
// U+249C–U+24B5, squared and negative circled or squared U+1F130–U+1F189),
// full-width Latin letters and digits (U+FF10–U+FF5A) and regional
// indicator symbols (U+1F1E6–U+1F1FF, the letters flags are made of).
func StyledLetter(r rune) (rune, bool) {
	switch {
	case r >= 0x1d400 && r <= 0x1d7ff:
		return mathLetter(r)
	case r >= 0x24b6 && r <= 0x24cf:
		return 'a' + r - 0x24b6, true
	case r >= 0x24d0 && r <= 0x24e9:
		return 'a' + r - 0x24d0, true
	case r >= 0x249c && r <= 0x24b5:
		return 'a' + r - 0x249c, true
	case r >= 0x1f130 && r <= 0x1f149:
		return 'a' + r - 0x1f130, true
	case r >= 0x1f150 && r <= 0x1f169:
		return 'a' + r - 0x1f150, true
	case r >= 0x1f170 && r <= 0x1f189:
		return 'a' + r - 0x1f170, true
	case r >= 0xff21 && r <= 0xff3a:
		return 'a' + r - 0xff21, true
	case r >= 0xff41 && r <= 0xff5a:
		return 'a' + r - 0xff41, true
	case r >= 0xff10 && r <= 0xff19:
		return '0' + r - 0xff10, true
	case IsRegionalIndicator(r):
		return 'a' + r - 0x1f1e6, true
	}
	return 0, false
}

// IsRegionalIndicator tells the letters flags are written with (🇧 🇷).
func IsRegionalIndicator(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }

// mathLetter maps the Mathematical Alphanumeric Symbols block: 13 alphabets
// of 52 letters from U+1D400, then Greek (not mapped), then 5 styles of the
// ten digits from U+1D7CE. Holes in the block (letters encoded earlier,
// such as ℎ) are simply not in it.
func mathLetter(r rune) (rune, bool) {
	switch {
	case r >= 0x1d400 && r < 0x1d400+13*52:
		i := (r - 0x1d400) % 52
		if i < 26 {
			return 'a' + i, true
		}
		return 'a' + i - 26, true
	case r >= 0x1d7ce && r <= 0x1d7ff:
		return '0' + (r-0x1d7ce)%10, true
	}
	return 0, false
}

// IsRTLLetter tells a letter of a right-to-left script, whose text uses
// bidi marks legitimately.
func IsRTLLetter(r rune) bool {
	return unicode.In(r, unicode.Arabic, unicode.Hebrew, unicode.Syriac, unicode.Thaana, unicode.Nko) && unicode.IsLetter(r)
}

// IsCJK tells a Han, kana or Hangul character: text in these scripts
// writes Latin letters and digits full-width as a matter of course.
func IsCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}
