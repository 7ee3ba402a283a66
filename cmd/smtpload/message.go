package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// gtube is the Generic Test for Unsolicited Bulk Email: a spam filter must
// treat any message containing it as spam, so it exercises the reject path
// without real spam.
const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// maxLineText is the longest body line generated, without its CRLF, so every
// line stays under the 78 characters RFC 5322 §2.1.1 recommends.
const maxLineText = 76

// words is the vocabulary of generated bodies: ordinary business English,
// so content rules see something like real mail. Every length from 1 to
// 12 occurs, which lets a line be filled to an exact width.
var words = strings.Fields(`
a I an at be by do go he if in is it me my no of on or so to up us we
all and any are but can day for get had has her him his how its let may
new not now off old one our out own put say see she the too two use was
way who why yes you also back been both call come down each even find
from give good have here into just keep know last life like long look
made make many more most much must name need next only open over part
plan road same seem show side some such take team than that them then
they this time turn very want week well what when will with work year
about above after again along asked below bring build check clear close
could early every first found given going great group hands large later
leave might money month never night order other place point quite right
small sound start state still study table their there these thing think
those three today under until water where which while whole world would
write agenda almost always answer around before better budget called
change coming course during enough family figure follow friend having
health inside letter little making matter member minute moment mother
number office people period policy market report school second should
simple social status street system though update around account
another because between brought certain company council country current
evening example federal general however improve interest meeting minutes
morning nothing perhaps picture present problem process program project
provide quality receive service several support through without working
attached business question possible schedule customer delivery response
director document practice progress purchase services shipment
available different education important including interested invoice
committee community yesterday tomorrow reference
agreement
department
management
information
opportunity
`)

// wordsByLen indexes words by length, for filling a line to an exact width.
var wordsByLen = func() map[int][]string {
	m := make(map[int][]string)
	for _, w := range words {
		m[len(w)] = append(m[len(w)], w)
	}
	return m
}()

// maxWordLen is the length of the longest word.
var maxWordLen = func() int {
	n := 0
	for _, w := range words {
		n = max(n, len(w))
	}
	return n
}()

// makeBody returns a plain-text body of exactly size bytes: paragraphs of
// words, CRLF line endings, lines shorter than 78 characters. With
// withGTUBE the GTUBE string is its first line. The same seed gives the same
// body. size must be 0 or at least 2 (one empty line), and at least
// len(gtube)+2 with withGTUBE.
func makeBody(size int, withGTUBE bool, seed uint64) ([]byte, error) {
	if size == 1 || size < 0 {
		return nil, fmt.Errorf("body size %d: must be 0 or at least 2 bytes", size)
	}
	if withGTUBE && size < len(gtube)+2 {
		return nil, fmt.Errorf("body size %d: a GTUBE body needs at least %d bytes", size, len(gtube)+2)
	}
	rng := rand.New(rand.NewPCG(seed, 0x736d74706c6f6164))
	body := make([]byte, 0, size)
	if withGTUBE {
		body = append(body, gtube...)
		if size-len(gtube)-2 == 1 {
			body = append(body, '.') // one byte cannot hold a line of its own
		}
		body = append(body, "\r\n"...)
	}
	linesLeft := paragraphLines(rng)
	for len(body) < size {
		remaining := size - len(body)
		if remaining == 2 {
			body = append(body, "\r\n"...)
			break
		}
		if linesLeft == 0 && remaining > 4 && len(body) > 0 {
			body = append(body, "\r\n"...) // blank line between paragraphs
			linesLeft = paragraphLines(rng)
			continue
		}
		n := min(50+rng.IntN(maxLineText-50+1), remaining-2)
		if remaining-n-2 == 1 {
			// One byte cannot hold a line; move it into this one.
			if n < maxLineText {
				n++
			} else {
				n--
			}
		}
		body = appendLine(body, n, rng)
		body = append(body, "\r\n"...)
		linesLeft--
	}
	return body, nil
}

// paragraphLines is how many lines the next paragraph has.
func paragraphLines(rng *rand.Rand) int { return 3 + rng.IntN(6) }

// appendLine appends exactly n characters of words separated by spaces,
// starting with a capital letter and usually ending with a full stop.
func appendLine(b []byte, n int, rng *rand.Rand) []byte {
	start := len(b)
	for len(b)-start < n {
		rem := n - (len(b) - start)
		sep := 0
		if len(b) > start {
			sep = 1
		}
		if rem-sep <= 0 {
			b = append(b, '.')
			continue
		}
		var w string
		switch room := rem - sep; {
		case room <= maxWordLen && rng.IntN(3) == 0:
			// Close the line exactly.
			pick := wordsByLen[room]
			w = pick[rng.IntN(len(pick))]
		default:
			// Any word that leaves room for a full stop, or exactly fits.
			for {
				w = words[rng.IntN(len(words))]
				if len(w) <= room-2 || len(w) == room {
					break
				}
				if room <= 2 {
					pick := wordsByLen[room]
					w = pick[rng.IntN(len(pick))]
					break
				}
			}
		}
		if sep == 1 {
			b = append(b, ' ')
		}
		b = append(b, w...)
	}
	// Capitalise, but never into an mbox "From " line.
	if c := b[start]; c >= 'a' && c <= 'z' && !bytes.HasPrefix(b[start:], []byte("from ")) {
		b[start] = c - 'a' + 'A'
	}
	return b
}

// headerFields is what every message's header varies on.
type headerFields struct {
	From, To  string
	Seq, N    int
	RunID     string
	Hostname  string
	Date      time.Time
	WithGTUBE bool
}

// appendHeader appends an RFC 5322 header block, ending in the empty line
// that separates it from the body.
func appendHeader(b []byte, h headerFields) []byte {
	subject := "Quarterly report draft for review"
	if h.WithGTUBE {
		subject = "Test spam message (GTUBE)"
	}
	b = append(b, "Date: "...)
	b = h.Date.AppendFormat(b, time.RFC1123Z)
	b = append(b, "\r\nFrom: Load Generator <"...)
	b = append(b, h.From...)
	b = append(b, ">\r\nTo: <"...)
	b = append(b, h.To...)
	b = append(b, ">\r\nSubject: "...)
	b = append(b, subject...)
	b = fmt.Appendf(b, " [%d/%d]\r\nMessage-ID: <%s.%d@%s>\r\n", h.Seq+1, h.N, h.RunID, h.Seq, h.Hostname)
	b = append(b, "MIME-Version: 1.0\r\n"...)
	b = append(b, "Content-Type: text/plain; charset=us-ascii\r\n"...)
	b = append(b, "Content-Transfer-Encoding: 7bit\r\n"...)
	b = append(b, "\r\n"...)
	return b
}
