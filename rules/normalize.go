package rules

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"relayguard/rules/message"
)

// Text normalisation for phrase matching. Spam spells its words to slip
// past filters: v1agra, vi@gra, v i a g r a, v.i.a.g.r.a, Cyrillic letters
// inside Latin words, zero-width spaces, full-width letters. normaliseWords
// undoes those and returns the text as lower-case words separated by single
// spaces, with a space at each end, so that " word " finds a whole word and
// never a part of one (drugtreatment.org does not contain " drug ").

// zeroWidth are code points that render as nothing and so can split a word
// invisibly: the invisible characters and the bidirectional controls
// (message.IsInvisible, message.IsBidiControl).
func zeroWidth(r rune) bool {
	return message.IsInvisible(r) || message.IsBidiControl(r)
}

// leet maps the digits and symbols used as letters inside words.
var leet = map[rune]rune{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's', '!': 'i', '|': 'l'}

// confusables maps Cyrillic and Greek letters that look like Latin ones.
// They are mapped only inside a word that also has Latin letters: a word
// wholly in Cyrillic is Russian, not disguised English.
var confusables = map[rune]rune{
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
	'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w',
	'һ': 'h', 'ӏ': 'l', 'ɡ': 'g', 'α': 'a', 'β': 'b', 'ε': 'e', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o',
	'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x', 'γ': 'y', 'ω': 'w',
}

// wordRanges, when tracked, maps each output word back to the bytes of the
// input it came from, so a hit can quote the text as written.
type wordRange struct {
	out        int32 // offset of the word in the output
	start, end int32 // bytes of the input
}

type normaliser struct {
	// The output is out[:outLen] and the ranges ranges[:nRanges]: each
	// slice is kept at its full capacity, grown only when full, and the
	// count is kept apart, so that a word costs a store of an int where an
	// append stored a slice header, a pointer, which costs a write barrier
	// whenever the collector is running.
	out     []byte
	outLen  int
	track   bool
	ranges  []wordRange
	nRanges int
	// the token being read
	tok   []rune
	toff  []int32 // input offset of each token rune
	tend  int32   // input offset just past the token
	latin bool
	other bool // Cyrillic or Greek letters seen
	// plain: the token so far is ASCII letters only, the common case,
	// which needs no look-alike mapping or splitting
	notPlain bool
	// single-letter words waiting to be joined (v i a g r a)
	singles []rune
	sStart  int32
	sEnd    int32
	sLet    int
	// byteAtATime turns off the plain-word fast path (tests compare the
	// two).
	byteAtATime bool
}

// NormaliseWords returns the words of s as the wording rules see them
// (look-alikes, leet and spaced-out letters undone, lower case), so that
// other readers of the text, such as the classifier's tokenizer, count
// v1agra and viagra as one word.
func NormaliseWords(s string) []string {
	out, _ := normaliseWords(s, false)
	return strings.Fields(string(out))
}

// normaliseWords returns " w1 w2 ... wn " for s. With track set it also
// returns where each word came from in s.
func normaliseWords(s string, track bool) ([]byte, []wordRange) {
	return normaliseWordsIn(s, track, nil)
}

// normaliseWordsIn is normaliseWords writing into the buffers of sc (nil:
// new ones), which it keeps, grown if they had to grow; the result is good
// until sc is used again.
func normaliseWordsIn(s string, track bool, sc *phraseScratch) ([]byte, []wordRange) {
	// On the stack: one allocation fewer.
	var n normaliser
	n.initWith(s, track, sc)
	out, ranges := n.run(s)
	if sc != nil {
		sc.out, sc.ranges = n.out, n.ranges
	}
	return out, ranges
}

func newNormaliser(s string, track bool) *normaliser {
	n := new(normaliser)
	n.init(s, track)
	return n
}

func (n *normaliser) init(s string, track bool) { n.initWith(s, track, nil) }

// initWith readies n for s in the buffers of sc, when given and large
// enough, instead of new ones.
func (n *normaliser) initWith(s string, track bool, sc *phraseScratch) {
	var out []byte
	var ranges []wordRange
	var tok []int32
	if sc != nil {
		out, ranges, tok = sc.out, sc.ranges, sc.tok
	}
	// Sized for the usual case, output about as long as the input and a
	// word per six bytes, so the buffers seldom grow.
	if cap(out) < len(s)+2 {
		out = make([]byte, len(s)+2)
	}
	n.out = out[:cap(out)]
	n.track = track
	if track {
		if cap(ranges) < len(s)/6+1 {
			ranges = make([]wordRange, len(s)/6+1)
		}
		n.ranges = ranges[:cap(ranges)]
	}
	n.out[0] = ' '
	n.outLen = 1
	// One allocation backs both token buffers (a token seldom outgrows
	// them, where growing the slices from empty cost a few allocations a
	// text); buffers inside the normaliser itself would point into it and
	// so move it to the heap.
	if len(tok) < 2*tokCap {
		tok = make([]int32, 2*tokCap)
		if sc != nil {
			sc.tok = tok
		}
	}
	n.tok, n.toff = tok[:0:tokCap], tok[tokCap:tokCap:2*tokCap]
}

const tokCap = 32

func (n *normaliser) run(s string) ([]byte, []wordRange) {
	// The iterator points into itself and so lives on the heap: made only
	// for text that is not all ASCII.
	var it *norm.Iter
	for i := 0; i < len(s); {
		// ASCII is its own NFKC form: read runs of it directly. The last
		// ASCII character before non-ASCII text goes to the normaliser with
		// it, as a combining mark may attach to it (e + U+0301 = é).
		j := asciiRunEnd(s, i)
		end := j
		if j < len(s) && end > i {
			end--
		}
		for k := i; k < end; {
			if w := n.plainWord(s, k, end); w > 0 {
				k += w
				continue
			}
			// Between tokens, a byte that starts none (a space, most
			// punctuation) would only end the token there is not.
			if len(n.tok) == 0 && !asciiToken[s[k]] && !n.byteAtATime {
				k++
				continue
			}
			n.ascii(s[k], int32(k))
			k++
		}
		if end >= len(s) {
			break
		}
		k := j
		for k < len(s) && s[k] >= utf8.RuneSelf {
			k++
		}
		if it == nil {
			it = new(norm.Iter)
		}
		it.InitString(norm.NFKC, s[end:k])
		for !it.Done() {
			start := int32(end + it.Pos())
			seg := it.Next()
			stop := int32(end + it.Pos())
			for len(seg) > 0 {
				r, size := utf8.DecodeRune(seg)
				seg = seg[size:]
				n.rune(r, start, stop)
			}
		}
		i = k
	}
	n.flushToken()
	n.flushSingles()
	return n.out[:n.outLen], n.ranges[:n.nRanges]
}

// room makes room for k more bytes of output.
func (n *normaliser) room(k int) {
	if n.outLen+k > len(n.out) {
		n.out = append(n.out[:n.outLen], make([]byte, k+len(n.out))...)
		n.out = n.out[:cap(n.out)]
	}
}

// addRange records where the word about to be written came from.
func (n *normaliser) addRange(start, end int32) {
	if n.nRanges == len(n.ranges) {
		n.ranges = append(n.ranges, make([]wordRange, len(n.ranges)+1)...)
		n.ranges = n.ranges[:cap(n.ranges)]
	}
	n.ranges[n.nRanges] = wordRange{out: int32(n.outLen), start: start, end: end}
	n.nRanges++
}

// asciiRunEnd returns the offset of the first non-ASCII byte of s at or
// after i, or len(s); it tests eight bytes at a time.
func asciiRunEnd(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if x := binary.LittleEndian.Uint64(unsafeBytes(s[i : i+8])); x&highBits != 0 {
			return i + bits.TrailingZeros64(x&highBits)/8
		}
	}
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	return i
}

// leetASCII is leet as a table, for the ASCII fast path.
var leetASCII = func() (t [128]bool) {
	for r := range leet {
		t[r] = true
	}
	return t
}()

// asciiToken marks the ASCII bytes ascii keeps in a token: letters,
// digits and the leet symbols.
var asciiToken = func() (t [256]bool) {
	for c := 0; c < 128; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || leetASCII[c]
	}
	return t
}()

// plainWord is the fast path for most of the text: a token of two or more
// ASCII letters and digits starting at s[k] (an ordinary word, a number, a
// code such as mp3 or a1b2c3), no token pending, ending before a byte that
// ends tokens (or at the end of s). It emits the token as flushToken would,
// digits used as letters mapped as mapLeet maps them, without collecting
// its runes one by one, and returns its length; 0 when s[k] starts no such
// token (ascii then takes it).
func (n *normaliser) plainWord(s string, k, end int) int {
	if n.byteAtATime || len(n.tok) > 0 || plainClass[s[k]] == 0 {
		return 0
	}
	// One table lookup a byte classes it; the counts are sums of its bits.
	letters, leets, upper := 0, 0, 0
	e := k
	for ; e < end; e++ {
		cl := plainClass[s[e]]
		if cl == 0 {
			break
		}
		letters += int(cl & classLetter)
		leets += int(cl >> 1 & 1)
		upper |= int(cl & classUpper)
	}
	digits := e - k - letters
	// After the token: a byte that ends it, or the end of the text (not
	// the end of the ASCII run: a combining mark may follow).
	if e-k < 2 || e < end && asciiToken[s[e]] || e == end && end < len(s) {
		return 0
	}
	n.flushSingles()
	if n.track {
		n.addRange(int32(k), int32(e))
	}
	n.room(e - k + 1)
	w := n.outLen
	copy(n.out[w:], s[k:e])
	if upper != 0 {
		for i := w; i < w+e-k; i++ {
			n.out[i] = lowerASCII[n.out[i]]
		}
	}
	if leets != 0 && letters >= 2 && digits <= letters {
		// mapLeet in place: a digit next to a letter, where a digit mapped
		// just before counts as a letter (v11agra is viagra).
		for i := range e - k {
			c := n.out[w+i]
			if c <= '9' && leetDigit[c-'0'] != 0 &&
				(i > 0 && n.out[w+i-1] > '9' || k+i+1 < e && s[k+i+1] > '9') {
				n.out[w+i] = leetDigit[c-'0']
			}
		}
	}
	n.out[w+e-k] = ' '
	n.outLen = w + e - k + 1
	n.tend = int32(e)
	n.latin, n.other, n.notPlain = false, false, false
	return e - k
}

// plainClass classes the bytes of a plain word for plainWord: 0 for any
// other byte, else classPlain and the bits that apply.
var plainClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'a' && c <= 'z':
			t[c] = classPlain | classLetter
		case c >= 'A' && c <= 'Z':
			t[c] = classPlain | classLetter | classUpper
		case c >= '0' && c <= '9' && leetDigit[c-'0'] != 0:
			t[c] = classPlain | classLeet
		case c >= '0' && c <= '9':
			t[c] = classPlain
		}
	}
	return t
}()

const (
	classLetter = 1 << iota // counted by adding the bit
	classLeet               // counted by shifting it down
	classUpper
	classPlain
)

// lowerASCII lower-cases ASCII letters and leaves every other byte.
var lowerASCII = func() (t [256]byte) {
	for c := range 256 {
		t[c] = byte(c)
		if c >= 'A' && c <= 'Z' {
			t[c] += 'a' - 'A'
		}
	}
	return t
}()

// leetDigit is leet for the digits, 0 for those not used as letters.
var leetDigit = func() (t [10]byte) {
	for c := byte('0'); c <= '9'; c++ {
		t[c-'0'] = byte(leet[rune(c)])
	}
	return t
}()

// ascii is rune for one ASCII byte at offset off.
func (n *normaliser) ascii(c byte, off int32) {
	if c >= 'A' && c <= 'Z' {
		c += 'a' - 'A'
	}
	letter := c >= 'a' && c <= 'z'
	if letter || c >= '0' && c <= '9' || leetASCII[c] {
		if len(n.tok) == 0 && (c == '!' || c == '|') {
			return
		}
		n.tok = append(n.tok, rune(c))
		n.toff = append(n.toff, off)
		n.tend = off + 1
		if !letter {
			n.notPlain = true
		}
		if letter {
			n.latin = true
		}
		return
	}
	n.flushToken()
}

func (n *normaliser) rune(r rune, start, end int32) {
	if r < utf8.RuneSelf {
		n.ascii(byte(r), start)
		n.tend = max(n.tend, end)
		return
	}
	if zeroWidth(r) {
		return
	}
	// Styled letters NFKC leaves alone (regional indicators, negative
	// circled and squared letters) are the letters they draw.
	if c, ok := message.StyledLetter(r); ok {
		n.ascii(byte(c), start)
		n.tend = max(n.tend, end)
		return
	}
	// A combining mark NFKC could not compose with the Latin letter before
	// it (P̶a̶y̶P̶a̶l̶, stacked "Zalgo" marks) only decorates it: the letter
	// is read bare, without the accent it may have composed with. ü, é, ç
	// arrive composed with nothing left over and never reach here.
	if unicode.Is(unicode.Mn, r) && len(n.tok) > 0 && isLatinLetter(n.tok[len(n.tok)-1]) {
		last := &n.tok[len(n.tok)-1]
		if *last >= utf8.RuneSelf {
			if base, _ := utf8.DecodeRuneInString(norm.NFD.String(string(*last))); base < utf8.RuneSelf {
				*last = base
			}
		}
		n.tend = max(n.tend, end)
		return
	}
	r = unicode.ToLower(r)
	if isWordRune(r) {
		n.notPlain = true
		n.tok = append(n.tok, r)
		n.toff = append(n.toff, start)
		n.tend = end
		if unicode.In(r, unicode.Cyrillic, unicode.Greek) {
			n.other = true
		} else if unicode.Is(unicode.Latin, r) {
			n.latin = true
		}
		return
	}
	n.flushToken()
}

func isLatinLetter(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= utf8.RuneSelf && unicode.Is(unicode.Latin, r)
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// flushToken ends the current token: maps look-alikes, splits it into
// words at what is left of punctuation, and emits them.
func (n *normaliser) flushToken() {
	tok := n.tok
	if len(tok) == 0 {
		return
	}
	if !n.notPlain && len(tok) > 1 {
		// An ordinary ASCII word: emit it as it is.
		n.flushSingles()
		if n.track {
			n.addRange(n.toff[0], n.tend)
		}
		n.room(len(tok) + 1)
		for i, r := range tok {
			n.out[n.outLen+i] = byte(r)
		}
		n.out[n.outLen+len(tok)] = ' '
		n.outLen += len(tok) + 1
		n.tok, n.toff = n.tok[:0], n.toff[:0]
		n.latin, n.other = false, false
		return
	}
	n.notPlain = false
	// Trailing ! and | are punctuation (cash!!!), not letters.
	for len(tok) > 0 && (tok[len(tok)-1] == '!' || tok[len(tok)-1] == '|') {
		tok = tok[:len(tok)-1]
	}
	if n.latin && n.other {
		for i, r := range tok {
			if c, ok := confusables[r]; ok {
				tok[i] = c
			}
		}
	}
	mapLeet(tok)
	// Split into words at the symbols that stayed symbols.
	i := 0
	for i < len(tok) {
		for i < len(tok) && !isWordRune(tok[i]) {
			i++
		}
		j := i
		for j < len(tok) && isWordRune(tok[j]) {
			j++
		}
		if j > i {
			end := n.tend
			if j < len(n.toff) {
				end = n.toff[j]
			}
			n.word(tok[i:j], n.toff[i], end)
		}
		i = j
	}
	n.tok, n.toff = n.tok[:0], n.toff[:0]
	n.latin, n.other = false, false
}

// mapLeet rewrites digits and symbols used as letters (v1agra, vi@gra,
// fr33, $ave) in a token that is mostly letters; numbers are left alone.
func mapLeet(tok []rune) {
	letters, digits, leets := 0, 0, 0
	for _, r := range tok {
		switch {
		case unicode.IsLetter(r):
			letters++
		case leet[r] != 0:
			leets++
			if r >= '0' && r <= '9' {
				digits++
			}
		case unicode.IsDigit(r):
			digits++
		}
	}
	if leets == 0 || letters < 2 || digits > letters {
		return
	}
	isLet := func(i int) bool { return i >= 0 && i < len(tok) && unicode.IsLetter(tok[i]) }
	for i, r := range tok {
		c := leet[r]
		if c == 0 {
			continue
		}
		switch r {
		case '!', '|':
			// only between two letters: v!agra, but never cash!
			if isLet(i-1) && isLet(i+1) {
				tok[i] = c
			}
		default:
			if isLet(i-1) || isLet(i+1) {
				tok[i] = c
			}
		}
	}
}

// word takes one word. Single letters are held back: a run of three or
// more close together is one word written apart (v i a g r a, v.i.a.g.r.a).
func (n *normaliser) word(w []rune, start, end int32) {
	if len(w) == 1 {
		if len(n.singles) > 0 && start-n.sEnd > 3 {
			n.flushSingles()
		}
		if len(n.singles) == 0 {
			n.sStart = start
		}
		n.singles = append(n.singles, w[0])
		n.sEnd = end
		if unicode.IsLetter(w[0]) {
			n.sLet++
		}
		return
	}
	n.flushSingles()
	n.emit(w, start, end)
}

func (n *normaliser) flushSingles() {
	s := n.singles
	if len(s) == 0 {
		return
	}
	if len(s) >= 3 && n.sLet >= 2 {
		joined := append([]rune(nil), s...)
		mapLeet(joined)
		n.emit(joined, n.sStart, n.sEnd)
	} else {
		// emit each on its own; their exact ranges are not kept, the run's is
		for _, r := range s {
			n.emit([]rune{r}, n.sStart, n.sEnd)
		}
	}
	n.singles = n.singles[:0]
	n.sLet = 0
}

func (n *normaliser) emit(w []rune, start, end int32) {
	if n.track {
		n.addRange(start, end)
	}
	n.room(len(w)*utf8.UTFMax + 1)
	for _, r := range w {
		n.outLen += utf8.EncodeRune(n.out[n.outLen:], r)
	}
	n.out[n.outLen] = ' '
	n.outLen++
}

// normalisePhrase turns a phrase from a rule file into the form it is
// searched for: " w1 w2 " for whole words, or " w1 w2" without the final
// space when it ends in * (a prefix: "refinanc*").
func normalisePhrase(p string) string {
	prefix := false
	if len(p) > 1 && p[len(p)-1] == '*' {
		prefix = true
		p = p[:len(p)-1]
	}
	out, _ := normaliseWords(p, false)
	s := string(out)
	if prefix && len(s) > 1 {
		s = s[:len(s)-1]
	}
	return s
}

// foldForSearch case-folds s for the literal prefilter: every rune becomes
// the smallest member of its Unicode simple-fold orbit (so ASCII letters
// become upper case, and K, k and the Kelvin sign all become K). A literal
// that occurs in s, with or without (?i), occurs in fold(s) as fold(lit).
func foldForSearch(s string, buf []byte) []byte {
	buf = buf[:0]
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			buf = append(buf, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		buf = utf8.AppendRune(buf, foldRune(r))
	}
	return buf
}

func foldRune(r rune) rune {
	min := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < min {
			min = f
		}
	}
	return min
}
