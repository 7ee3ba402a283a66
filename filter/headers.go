package filter

import (
	"bytes"
	"io"
	"net/netip"
	"strings"
	"time"

	"relayguard/rules/message"
	"relayguard/scoring"
	"relayguard/scoring/auth"

	"github.com/emersion/go-message/textproto"
)

// hop describes this hop of the message, for our Received header.
type hop struct {
	hostname string // ours
	id       string // session reference
	clientIP netip.Addr
	helo     string
	tls      bool
	auth     bool
	rcpts    []string
	at       time.Time
}

// received is our Received header (RFC 5321 §4.4). The recipient is named
// only when there is one: listing many would disclose Bcc recipients.
func (h *hop) received() string { return string(h.appendReceived(nil)) }

// appendReceived appends the Received value to b: it is built once per
// relayed message, so without fmt or intermediate strings.
func (h *hop) appendReceived(b []byte) []byte {
	b = append(b, "from "...)
	b = appendTraceWord(b, h.helo)
	b = append(b, " (["...)
	b = h.clientIP.AppendTo(b)
	b = append(b, "]) by "...)
	b = append(b, h.hostname...)
	b = append(b, " (relayguard) with ESMTP"...)
	if h.tls {
		b = append(b, 'S')
	}
	if h.auth {
		b = append(b, 'A')
	}
	b = append(b, " id "...)
	b = append(b, h.id...)
	if len(h.rcpts) == 1 && len(h.rcpts[0]) <= maxTraceWord {
		b = append(b, " for <"...)
		b = append(b, h.rcpts[0]...)
		b = append(b, '>')
	}
	b = append(b, "; "...)
	return h.at.AppendFormat(b, time.RFC1123Z)
}

// maxTraceWord bounds what the client chose (its HELO name, a recipient)
// in our Received field: a domain name is at most 255 octets, and a field
// line must stay under RFC 5322's 998.
const maxTraceWord = 255

// appendTraceWord appends the client's HELO argument made safe for the Received field:
// printable ASCII only, no parentheses (which would open a comment), cut
// to maxTraceWord. An empty or unusable name reads "unknown".
func appendTraceWord(b []byte, s string) []byte {
	if len(s) > maxTraceWord {
		s = s[:maxTraceWord]
	}
	if s == "" {
		return append(b, "unknown"...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '(' || c == ')' {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// addedHeader renders the fields we put on top of a relayed message:
// Received, Authentication-Results (RFC 8601; "none" until the sender
// checks add results), then the X-Spam fields SpamAssassin users filter on.
// Long values are folded as go-message folds them (appendField), into one
// buffer: this runs for every relayed message.
func addedHeader(h *hop, v *scoring.Verdict) []byte {
	var scratch [512]byte // the Received value, before folding; on the stack
	b := make([]byte, 0, 512)
	b = appendField(b, "Received", string(h.appendReceived(scratch[:0])))
	b = appendField(b, auth.HeaderName, auth.FormatHeader(h.hostname, v.Auth))
	if v.Spam() {
		b = appendField(b, "X-Spam-Flag", "YES")
	}
	b = appendField(b, "X-Spam-Score", v.ScoreHeader())
	return appendField(b, "X-Spam-Status", v.StatusHeader())
}

// Line lengths for folding, as go-message's: RFC 5322 §2.1.1 asks for 78
// characters and allows 998.
const (
	preferredFieldLen = 76
	maxFieldLen       = 998
)

// appendField appends "key: value" CRLF to b, folded at whitespace before
// preferredFieldLen where it can be, byte for byte as go-message's
// textproto.WriteHeader renders it (TestAppendFieldAsGoMessage holds them
// together), without its per-field allocations. CR and LF in a value
// would end the field early; they become spaces (go-message refuses such
// a field and the rest of the header with it).
func appendField(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	if strings.ContainsAny(v, "\r\n") {
		v = strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' {
				return ' '
			}
			return r
		}, v)
	}
	if v == "" {
		return append(b, "\r\n"...)
	}
	keylen := len(k) + 2
	for len(v) > 0 {
		at, fold, ok := foldAt(v, preferredFieldLen-keylen)
		if !ok {
			at, fold, _ = foldAt(v, maxFieldLen-keylen)
		}
		b = append(b, v[:at]...)
		b = append(b, fold...)
		v = v[at:]
		keylen = 0
	}
	return b
}

// foldAt is go-message's foldLine without building the line: where to cut
// v so the line stays within maxlen, and what to insert there. ok is false
// when no whitespace was found and a space had to be inserted, which
// changes the value.
func foldAt(v string, maxlen int) (at int, fold string, ok bool) {
	before := maxlen + 1
	if before > len(v) {
		if v[len(v)-1] != '\n' {
			return len(v), "\r\n", true
		}
		return len(v), "", true
	}
	at = strings.LastIndexAny(v[:before], " \t\n")
	if at == 0 { // the whitespace found is the previous fold's
		at = before - 1
	} else if at < 0 {
		at = before - 2
	}
	switch v[at] {
	case ' ', '\t':
		if v[at-1] != '\n' {
			return at, "\r\n", true
		}
		return at, "", true
	case '\n':
		return at, "", true
	}
	return at, "\r\n ", false
}

// ourSpamFields are the fields we add; copies a sender wrote are removed,
// or a downstream filter could read "X-Spam-Flag: NO" from the spammer.
var ourSpamFields = []string{"X-Spam-Flag", "X-Spam-Score", "X-Spam-Status"}

// hasFieldToStrip tells whether the header has any field relayedMessage
// may remove, so that most messages are relayed without copying their
// header.
func hasFieldToStrip(h *textproto.Header) bool {
	if h.Has(auth.HeaderName) {
		return true
	}
	for _, k := range ourSpamFields {
		if h.Has(k) {
			return true
		}
	}
	return false
}

// relayedMessage is the message as the next hop gets it: incoming
// Authentication-Results fields that claim our authserv-id are removed
// (RFC 8601 §5: a sender could otherwise forge a result we seem to vouch
// for), and so are incoming X-Spam fields of the names we add; every other
// byte is as received. A header that could not be parsed is left as it is,
// since we cannot rewrite what we cannot read; the content rules score it.
func relayedMessage(msg *message.Message, authservID string) (io.Reader, int) {
	if msg.HeaderErr != nil || !hasFieldToStrip(&msg.Header) {
		return msg.Raw(), 0
	}
	h := msg.Header.Copy()
	n := auth.StripSpoofed(&h, authservID)
	for _, k := range ourSpamFields {
		for f := h.FieldsByKey(k); f.Next(); {
			f.Del()
			n++
		}
	}
	if n == 0 {
		return msg.Raw(), 0
	}
	var b bytes.Buffer
	textproto.WriteHeader(&b, h)
	return io.MultiReader(&b, msg.Body()), n
}
