package heuristics

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"relayguard/rules/message"
)

// Heuristics that find text disguised to slip past word filters while the
// reader sees ordinary words: invisible and bidirectional characters inside
// Latin words, letters drawn in a style (𝐏𝐚𝐲𝐏𝐚𝐥, ⓅⓐⓨⓅⓐⓛ, ＰａｙＰａｌ), and
// combining marks stacked on Latin letters. The phrase normaliser (package
// rules) undoes the same disguises for matching; these rules score them.
//
// What legitimate text does with the same characters is left alone: a
// joiner between emoji (👨‍👩‍👧), joiners and marks in Persian, Indic or
// Hebrew text, bidi marks in a right-to-left signature, full-width Latin in
// Japanese or Chinese text, flags, and soft hyphens a newsletter puts into
// long words for line breaking (in the body only).

// marks is what one text field shows of the disguises.
type marks struct {
	invisible      int // invisible characters in or at the edge of Latin words
	invisibleWords int // words with one inside (letters on both sides)
	bidi           int // bidi controls inside Latin words
	styled         int // styled letters (not counting flags, nor full-width in CJK text)
	marked         int // Latin letters carrying combining marks NFC could not compose
	// the first word showing each, for the symbol's detail
	invisibleEx, bidiEx, styledEx, markedEx string
}

// Keys under which each field's marks are memoised on the message.
type marksKey int

const (
	subjectMarks marksKey = iota
	fromNameMarks
	bodyMarks
)

// fieldMarks returns the marks of one field, scanned once per message.
func fieldMarks(in *Input, k marksKey) *marks {
	return in.Msg.Memo(k, func() any {
		switch k {
		case subjectMarks:
			return scanMarks(in.Msg.HeaderText("Subject"), true)
		case fromNameMarks:
			a, _ := in.Msg.FirstAddress("From")
			return scanMarks(a.Name, true)
		default:
			return scanMarks(in.Msg.VisibleText(), false)
		}
	}).(*marks)
}

// scanMarks reads s word by word. In a header (Subject, display name) an
// invisible character counts at the edge of a Latin word too, and a soft
// hyphen counts; in the body only inside a word, and soft hyphens, which
// newsletters use for hyphenation, do not.
func scanMarks(s string, header bool) *marks { return scanMarksPaced(s, header, true) }

// scanMarksPaced is scanMarks; asciiWords off decodes ASCII words rune by
// rune too (tests compare the two).
func scanMarksPaced(s string, header, asciiWords bool) *marks {
	m := &marks{}
	if isASCII(s) {
		return m // every mark counted here is outside ASCII: most mail stops here
	}
	if !norm.NFC.IsNormalString(s) {
		s = norm.NFC.String(s)
	}
	fullWidth, cjk := 0, false
	first := true
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf && asciiWords {
			// ASCII, most of any text: separators, and words of ASCII
			// letters and digits only, which can show no mark (word
			// returns 0 for them), are passed over without decoding, up
			// to the next non-ASCII byte. A word of letters and digits
			// ending there is read from its start, as the rune-by-rune
			// reading would: the rune may continue it.
			k := i + 1
			for k < len(s) && s[k] < utf8.RuneSelf {
				k++
			}
			if k == len(s) {
				break
			}
			j := k
			for j > i && asciiAlnum(s[j-1]) {
				j--
			}
			if j > i {
				i = j
				first = false
			}
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !inWord(r) {
			cjk = cjk || r >= utf8.RuneSelf && message.IsCJK(r)
			i += size
			first = false
			continue
		}
		j := i
		for j < len(s) {
			r, size := utf8.DecodeRuneInString(s[j:])
			if !inWord(r) {
				break
			}
			cjk = cjk || r >= utf8.RuneSelf && message.IsCJK(r)
			j += size
		}
		w := s[i:j]
		if first && header {
			w = strings.TrimPrefix(w, "\ufeff") // a byte-order mark some encoders put first
		}
		fullWidth += m.word(w, header)
		i = j
		first = false
	}
	if cjk {
		m.styled -= fullWidth
		if m.styled == 0 {
			m.styledEx = ""
		}
	}
	return m
}

func asciiAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// inWord tells a rune that belongs to a word being scanned: letters,
// digits, marks, the invisible and bidi characters, styled letters.
func inWord(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
		return true
	}
	if message.IsInvisible(r) || message.IsBidiControl(r) {
		return true
	}
	_, ok := message.StyledLetter(r)
	return ok
}

// word scores one word and returns how many of its styled letters were
// full-width (discounted when the text turns out to be CJK).
func (m *marks) word(w string, header bool) (fullWidth int) {
	if isASCII(w) {
		return 0 // every mark is outside ASCII: most words of most mail
	}
	var latin, rtl bool
	for _, r := range w {
		_, styled := message.StyledLetter(r)
		switch {
		case styled, r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			latin = true
		case message.IsRTLLetter(r):
			rtl = true
		case unicode.IsLetter(r) && unicode.Is(unicode.Latin, r):
			latin = true
		}
	}
	if !latin {
		return 0
	}
	runes := []rune(w)
	core := func(r rune) bool { return !message.IsInvisible(r) && !message.IsBidiControl(r) }
	// coreBefore[i]: a letter or digit somewhere before i in the word
	seen := false
	coreBefore := make([]bool, len(runes))
	for i, r := range runes {
		coreBefore[i] = seen
		seen = seen || core(r)
	}
	seen = false
	coreAfter := make([]bool, len(runes))
	for i := len(runes) - 1; i >= 0; i-- {
		coreAfter[i] = seen
		seen = seen || core(runes[i])
	}
	inside := false
	styled, flags := 0, flagRun(runes)
	for i, r := range runes {
		switch {
		case message.IsBidiControl(r):
			if rtl || !coreBefore[i] || !coreAfter[i] {
				continue
			}
			m.bidi++
			if m.bidiEx == "" {
				m.bidiEx = showMarks(w)
			}
			if header {
				m.countInvisible(w)
			}
		case message.IsInvisible(r):
			if r == '\u00ad' && !header {
				continue
			}
			if !coreBefore[i] || !coreAfter[i] {
				if !header || r == '\u200d' || r == '\u200c' {
					continue // joiners at an edge belong to emoji or scripts
				}
			} else {
				inside = true
			}
			m.countInvisible(w)
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
			if i > 0 && isLatinBase(runes[i-1]) {
				m.marked++
				if m.markedEx == "" {
					m.markedEx = showMarks(w)
				}
			}
		default:
			if _, ok := message.StyledLetter(r); ok && !flags {
				styled++
				if r >= 0xff10 && r <= 0xff5a {
					fullWidth++
				}
			}
		}
	}
	if inside {
		m.invisibleWords++
	}
	if styled > 0 {
		m.styled += styled
		if m.styledEx == "" {
			m.styledEx = w
		}
	}
	return fullWidth
}

func (m *marks) countInvisible(w string) {
	m.invisible++
	if m.invisibleEx == "" {
		m.invisibleEx = showMarks(w)
	}
}

// isLatinBase tells a Latin letter a combining mark may sit on (a mark
// after a mark counts too: a stack).
func isLatinBase(r rune) bool {
	return unicode.Is(unicode.Latin, r) || unicode.Is(unicode.Mn, r)
}

// flagRun tells a word that is nothing but flags: regional indicators in
// pairs that each name a region (🇧🇷🇵🇹), as newsletters and signatures use.
func flagRun(runes []rune) bool {
	if len(runes) == 0 || len(runes)%2 != 0 {
		return false
	}
	for i := 0; i < len(runes); i += 2 {
		a, b := runes[i], runes[i+1]
		if !message.IsRegionalIndicator(a) || !message.IsRegionalIndicator(b) {
			return false
		}
		code := string([]rune{'A' + a - 0x1f1e6, 'A' + b - 0x1f1e6})
		if !strings.Contains(regionCodes, code+" ") {
			return false
		}
	}
	return true
}

// regionCodes are the ISO 3166-1 alpha-2 codes (and EU, UN) flags are
// drawn for, each followed by a space.
const regionCodes = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET EU FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT " +
	"MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG " +
	"UM UN US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW "

// showMarks writes a word with its invisible, bidi and combining
// characters spelled out (Pay<U+200B>Pal), so a postmaster reading the
// reply sees what was hidden; long words are cut.
func showMarks(w string) string {
	var b strings.Builder
	n := 0
	for _, r := range w {
		if n >= 40 {
			b.WriteString("...")
			break
		}
		n++
		if message.IsInvisible(r) || message.IsBidiControl(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
			fmt.Fprintf(&b, "<U+%04X>", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// count returns a heuristic that fires when pick's count on a field
// reaches the rule's min, quoting the example word.
func count(k marksKey, pick func(*marks) (int, string), what string) func(*Input) (string, bool) {
	return func(in *Input) (string, bool) {
		n, ex := pick(fieldMarks(in, k))
		if n == 0 || float64(n) < in.Min {
			return "", false
		}
		return fmt.Sprintf("%d %s: %s", n, what, ex), true
	}
}

func invisibleChars(m *marks) (int, string) { return m.invisible, m.invisibleEx }
func invisibleWords(m *marks) (int, string) { return m.invisibleWords, m.invisibleEx }
func bidiControls(m *marks) (int, string)   { return m.bidi, m.bidiEx }
func styledLetters(m *marks) (int, string)  { return m.styled, m.styledEx }
func markedLetters(m *marks) (int, string)  { return m.marked, m.markedEx }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
