package heuristics

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Heuristics that read how the text is written.

// bodyCaps measures shouting: the share of capital letters among the
// cased letters of the visible text.
func bodyCaps(in *Input) (string, bool) {
	upper, cased := countCases(in.Msg.VisibleText())
	if cased < 200 {
		return "", false
	}
	pct := float64(upper) * 100 / float64(cased)
	if pct >= in.Min {
		return fmt.Sprintf("%.0f%% capitals", pct), true
	}
	return "", false
}

// countCases counts the upper-case letters and all cased letters (upper
// or lower) of text, as unicode.IsUpper and IsLower class its runes. ASCII
// bytes, most of any text, are counted eight at a time where eight in a
// row are ASCII, else classed by a table, without decoding a rune:
// the loop was a tenth of the evaluation of a message.
func countCases(text string) (upper, cased int) {
	for i := 0; i < len(text); {
		if i+8 <= len(text) {
			if x := binary.LittleEndian.Uint64(unsafeBytes(text[i : i+8])); x&highBits == 0 {
				u, l := asciiCases8(x)
				upper += u
				cased += u + l
				i += 8
				continue
			}
		}
		if c := text[i]; c < utf8.RuneSelf {
			k := asciiCase[c]
			upper += int(k >> 1)
			cased += int(k & 1)
			i++
			continue
		}
		// An invalid byte decodes as U+FFFD, which has no case, as in a
		// range loop.
		r, n := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsUpper(r):
			upper++
			cased++
		case unicode.IsLower(r):
			cased++
		}
		i += n
	}
	return upper, cased
}

// highBits is the top bit of each byte of a word: none set, eight ASCII
// bytes.
const highBits = 0x8080808080808080

// asciiCases8 counts the upper- and lower-case letters among eight ASCII
// bytes (the top bit of each clear) at once.
func asciiCases8(x uint64) (upper, lower int) {
	return bits.OnesCount64(bytesIn(x, 'A', 'Z')), bits.OnesCount64(bytesIn(x, 'a', 'z'))
}

// bytesIn sets the top bit of each byte of x that lies in [lo, hi], for x
// whose bytes are all below 0x80: adding 0x80-lo sets a byte's top bit
// from lo up, adding 0x80-(hi+1) from past hi, and no sum carries into the
// next byte.
func bytesIn(x uint64, lo, hi byte) uint64 {
	const ones = 0x0101010101010101
	return (x + uint64(0x80-lo)*ones) &^ (x + uint64(0x80-hi-1)*ones) & highBits
}

// unsafeBytes views a string as bytes, for reading only.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// asciiCase classes an ASCII byte: 3 an upper-case letter (upper and
// cased), 1 a lower-case one, 0 anything else.
var asciiCase = func() (t [utf8.RuneSelf]uint8) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = 3
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = 1
	}
	return t
}()

// capsLines finds several lines in a row written in capitals (at least
// one run of three capitals, no lower-case letter): shouted sales copy.
// A Go loop rather than a (?m) regex, which would run on every message
// for want of a literal to prefilter on.
func capsLines(in *Input) (string, bool) {
	text := in.Body()
	run, first := 0, ""
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if capsLine(line) {
			if run == 0 {
				first = line
			}
			run++
			if float64(run) >= in.Min {
				return first, true
			}
			continue
		}
		run = 0
	}
	return "", false
}

func capsLine(line string) bool {
	caps, best := 0, 0
	for _, c := range line {
		switch {
		case unicode.IsLower(c):
			return false
		case unicode.IsUpper(c):
			caps++
			best = max(best, caps)
		default:
			caps = 0
		}
	}
	return best >= 3
}

// blankGap finds a long run of blank lines, used to push small print
// (removal notes, the real sender) below what the reader scrolls to.
func blankGap(in *Input) (string, bool) {
	text := in.Body()
	run := 0
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			break // the last line has no end: not a blank line in a run
		}
		if strings.TrimSpace(line) == "" {
			run++
			if float64(run) >= in.Min {
				return fmt.Sprintf("%d blank lines", run), true
			}
			continue
		}
		run = 0
	}
	return "", false
}

// spacedOut finds words written with their letters apart (f r e e,
// v.i.a.g.r.a): single letters each followed by one separator.
func spacedOut(in *Input) (string, bool) {
	text := in.Body()
	start, n := -1, 0
	byteWise := 0 // below it, read byte by byte
	for i := 0; i < len(text); i++ {
		// The state below changes only at single letters (between two
		// singles two bytes apart no word letter can reset it), so eight
		// bytes that hold none are passed over at once.
		if i >= byteWise && i+8 <= len(text) {
			if !mayHoldSingleLetter(text, i) {
				i += 7
				continue
			}
			byteWise = i + 8
		}
		c := text[i]
		if !isLetterByte(c) {
			continue
		}
		// A single letter: a word byte on neither side.
		if i > 0 && isWordByte(text[i-1]) {
			n = 0
			continue
		}
		if i+1 < len(text) && isWordByte(text[i+1]) {
			// A word: none of its letters is single, so skip to its
			// last byte rather than test each of them on both sides.
			n = 0
			for i+1 < len(text) && isWordByte(text[i+1]) {
				i++
			}
			continue
		}
		if n == 0 || i != start+2*n {
			start, n = i, 0
		}
		n++
		if float64(n) >= in.Min && !(i+2 < len(text) && spacer[text[i+1]] && isLetterByte(text[i+2])) {
			return text[start : i+1], true
		}
		if !(i+1 < len(text) && spacer[text[i+1]]) {
			n = 0
		}
	}
	return "", false
}

// mayHoldSingleLetter tells whether text[i:i+8] may hold a single letter
// (an ASCII letter with no word byte on either side, the bytes around the
// eight included); false is certain.
func mayHoldSingleLetter(text string, i int) bool {
	const ones = 0x0101010101010101
	x := binary.LittleEndian.Uint64(unsafeBytes(text[i : i+8]))
	// Seven bits a byte: no sum below carries into the next byte.
	y := x &^ highBits
	letters := (bytesIn(y, 'A', 'Z') | bytesIn(y, 'a', 'z')) &^ x
	if letters == 0 {
		return false
	}
	under := y ^ '_'*ones
	isUnder := ^(under + 0x7f*ones) & highBits // a zero byte of under
	word := letters | bytesIn(y, '0', '9')&^x | isUnder&^x | x&highBits
	var before, after uint64 // the bytes around the eight
	if i > 0 && isWordByte(text[i-1]) {
		before = 0x80
	}
	if i+8 < len(text) && isWordByte(text[i+8]) {
		after = 0x80 << 56
	}
	return letters&^(word<<8|before)&^(word>>8|after) != 0
}

// spacer marks the separators of letters written apart.
var spacer = [256]bool{' ': true, '.': true, '_': true, '*': true, '-': true}

// isLetterByte tells an ASCII letter; isWordByte a byte of a word (ASCII
// letters, digits, '_' and any byte of a UTF-8 sequence).
func isLetterByte(c byte) bool {
	c |= 0x20
	return c >= 'a' && c <= 'z'
}

func isWordByte(c byte) bool { return wordByte[c] }

// wordByte is isWordByte as a table: one load where the comparisons cost
// five branches for every byte of every word spacedOut and its like skip.
var wordByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isWordByteSlow(byte(c))
	}
	return t
}()

func isWordByteSlow(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}
