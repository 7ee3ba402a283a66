package heuristics

import (
	"fmt"
	"relayguard/rules/message"
	"strings"
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
		pw := wordSet(a.Plain)
		hw := wordSet(a.HTML)
		if len(hw) < 10 {
			continue
		}
		common := 0
		for w := range hw {
			if pw[w] {
				common++
			}
		}
		share := float64(common) / float64(len(hw))
		if share < in.Min {
			return fmt.Sprintf("%.0f%% of the HTML words are in the text part", share*100), true
		}
	}
	return "", false
}

// wordSet is the set of words of three letters or more, lower case. The
// words are read in place from the lower-cased text (no slice of them is
// built) and the set holds substrings of it.
func wordSet(s string) map[string]bool {
	s = strings.ToLower(s)
	set := make(map[string]bool, len(s)/16)
	for i := 0; i < len(s); {
		size := wordLetter(s, i)
		for i < len(s) && size == 0 {
			i += runeLen(s, i)
			size = wordLetter(s, i)
		}
		j, runes := i, 0
		for size > 0 {
			j += size
			runes++
			size = wordLetter(s, j)
		}
		if runes >= 3 {
			set[s[i:j]] = true
		}
		i = j
	}
	return set
}

// wordLetter returns the length of the rune at s[i] when it is a letter,
// else 0 (also at the end of s and for invalid UTF-8).
func wordLetter(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
			return 1
		}
		return 0
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size == 1 || !unicode.IsLetter(r) {
		return 0
	}
	return size
}

func runeLen(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, size := utf8.DecodeRuneInString(s[i:])
	return size
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
	words := len(strings.Fields(in.Msg.VisibleText()))
	if float64(words) < in.Min {
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
