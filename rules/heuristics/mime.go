package heuristics

import (
	"fmt"
	"relayguard/rules/message"
	"slices"
	"unicode"
	"unicode/utf8"
)

// Heuristics that read the MIME structure and the HTML.

func htmlOnly(in *Input) (string, bool) {
	c := in.Msg.Structure()
	return "", c.HasHTML && !c.HasPlain
}

// altDifferent compares the two versions of a multipart/alternative: real
// mail programs write the same words twice; spam often puts a decoy in the
// text part ("your mail reader cannot show this message") or unrelated text.
func altDifferent(in *Input) (string, bool) {
	for _, a := range in.Msg.Structure().Alternatives {
		hw := wordHashes(a.HTML)
		if len(hw) < 10 {
			continue
		}
		pw := wordHashes(a.Plain)
		common := 0
		for i, j := 0, 0; i < len(hw) && j < len(pw); {
			switch {
			case hw[i] < pw[j]:
				i++
			case hw[i] > pw[j]:
				j++
			default:
				common++
				i++
				j++
			}
		}
		share := float64(common) / float64(len(hw))
		if share < in.Min {
			return fmt.Sprintf("%.0f%% of the HTML words are in the text part", share*100), true
		}
	}
	return "", false
}

// wordHashes is the set of words of three letters or more of
// strings.ToLower(s), each word as a 64-bit FNV-1a hash of its lower-case
// bytes, sorted and without repeats. Hashing while reading lowers nothing
// into a copy and fills no map: the map of substrings it replaces was the
// most expensive rule on multipart mail. Two distinct words of a message
// share a hash with odds of about n²/2⁶⁵, far below any other error here.
func wordHashes(s string) []uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	out := make([]uint64, 0, len(s)/8+1)
	h, runes := uint64(offset), 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			i++
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if 'a' <= c && c <= 'z' {
				h = (h ^ uint64(c)) * prime
				runes++
				continue
			}
		} else {
			// As strings.ToLower does: each rune lowered alone, invalid
			// UTF-8 read as U+FFFD, which is no letter.
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			r = unicode.ToLower(r)
			if !(r == utf8.RuneError && size == 1) && unicode.IsLetter(r) {
				var b [utf8.UTFMax]byte
				n := utf8.EncodeRune(b[:], r)
				for _, c := range b[:n] {
					h = (h ^ uint64(c)) * prime
				}
				runes++
				continue
			}
		}
		if runes >= 3 {
			out = append(out, h)
		}
		h, runes = offset, 0
	}
	if runes >= 3 {
		out = append(out, h)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// imageNoText fires on HTML that is mostly picture: few visible words and
// at least one image that is more than a spacer or tracking pixel.
func imageNoText(in *Input) (string, bool) {
	c := in.Msg.Structure()
	if !c.HasHTML {
		return "", false
	}
	big := 0
	for _, im := range in.Msg.Images() {
		switch {
		case im.Source == "part" && im.Bytes >= 4096:
			big++
		case im.Source == "img" && (im.Width == 0 || im.Height == 0 || im.Width*im.Height >= 100*100):
			big++
		}
	}
	if big == 0 {
		return "", false
	}
	words, whole := countWords(in.Msg.VisibleText(), in.Min)
	if whole && float64(words) < in.Min {
		return fmt.Sprintf("%d words, %d images", words, big), true
	}
	return "", false
}

func hiddenText(in *Input) (string, bool) {
	h := in.Msg.HiddenText()
	n := 0
	for _, c := range h {
		if !unicode.IsSpace(c) {
			n++
		}
	}
	if float64(n) >= in.Min {
		return h, true
	}
	return "", false
}

func mimeMalformed(in *Input) (string, bool) {
	if f := in.Msg.MIMEFindings(); len(f) > 0 {
		return f[0], true
	}
	return "", false
}

func base64Text(in *Input) (string, bool) {
	return "", in.Msg.Structure().Base64Text
}

func commentSplits(in *Input) (string, bool) {
	n := in.Msg.Structure().CommentSplits
	return fmt.Sprintf("%d words", n), n > 0
}

// htmlCount makes a built-in that fires when the HTML parse counted at
// least one of something.
func htmlCount(count func(message.Structure) int, what string) func(*Input) (string, bool) {
	return func(in *Input) (string, bool) {
		n := count(in.Msg.Structure())
		return fmt.Sprintf("%d %s", n, what), n > 0
	}
}

// countWords counts the words of text as strings.Fields splits them (runs
// of anything but Unicode white space), without the slice of them. It
// stops once the count reaches limit, returning whole false, since callers
// only ask whether a text has fewer words than that.
func countWords(text string, limit float64) (n int, whole bool) {
	if limit <= 0 {
		return 0, false
	}
	inWord := false
	for i := 0; i < len(text); {
		var space bool
		if c := text[i]; c < utf8.RuneSelf {
			space = asciiSpace[c]
			i++
		} else {
			// An invalid byte decodes as U+FFFD, not a space, as in Fields.
			r, size := utf8.DecodeRuneInString(text[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		if !space && !inWord {
			n++
			if float64(n) >= limit {
				return n, false
			}
		}
		inWord = !space
	}
	return n, true
}

// asciiSpace marks the ASCII bytes unicode.IsSpace calls white space.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}
