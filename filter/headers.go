package filter

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
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

// protocol is the RFC 3848 "with" keyword.
func (h *hop) protocol() string {
	p := "ESMTP"
	if h.tls {
		p += "S"
	}
	if h.auth {
		p += "A"
	}
	return p
}

// received is our Received header (RFC 5321 §4.4). The recipient is named
// only when there is one: listing many would disclose Bcc recipients.
func (h *hop) received() string {
	v := fmt.Sprintf("from %s ([%s]) by %s (relayguard) with %s id %s",
		traceWord(h.helo), h.clientIP, h.hostname, h.protocol(), h.id)
	if len(h.rcpts) == 1 && len(h.rcpts[0]) <= maxTraceWord {
		v += fmt.Sprintf(" for <%s>", h.rcpts[0])
	}
	return v + "; " + h.at.Format(time.RFC1123Z)
}

// maxTraceWord bounds what the client chose (its HELO name, a recipient)
// in our Received field: a domain name is at most 255 octets, and a field
// line must stay under RFC 5322's 998.
const maxTraceWord = 255

// traceWord makes the client's HELO argument safe for the Received field:
// printable ASCII only, no parentheses (which would open a comment), cut
// to maxTraceWord. An empty or unusable name reads "unknown".
func traceWord(s string) string {
	b := []byte(s)
	if len(b) > maxTraceWord {
		b = b[:maxTraceWord]
	}
	for i, c := range b {
		if c <= ' ' || c >= 0x7f || c == '(' || c == ')' {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "unknown"
	}
	return string(b)
}

// addedHeader renders the fields we put on top of a relayed message:
// Received, Authentication-Results (RFC 8601; "none" until the sender
// checks add results), then the X-Spam fields SpamAssassin users filter on.
// Long values are folded by go-message.
func addedHeader(h *hop, v *scoring.Verdict) []byte {
	fields := [][2]string{
		{"Received", h.received()},
		{auth.HeaderName, auth.FormatHeader(h.hostname, v.Auth)},
	}
	if v.Spam() {
		fields = append(fields, [2]string{"X-Spam-Flag", "YES"})
	}
	fields = append(fields,
		[2]string{"X-Spam-Score", v.ScoreHeader()},
		[2]string{"X-Spam-Status", v.StatusHeader()},
	)
	var hdr textproto.Header
	// go-message writes fields in reverse order of addition.
	for i := len(fields) - 1; i >= 0; i-- {
		hdr.Add(fields[i][0], fields[i][1])
	}
	var b bytes.Buffer
	textproto.WriteHeader(&b, hdr) // cannot fail on a bytes.Buffer with valid fields
	return bytes.TrimSuffix(b.Bytes(), []byte("\r\n"))
}

// ourSpamFields are the fields we add; copies a sender wrote are removed,
// or a downstream filter could read "X-Spam-Flag: NO" from the spammer.
var ourSpamFields = []string{"X-Spam-Flag", "X-Spam-Score", "X-Spam-Status"}

// relayedMessage is the message as the next hop gets it: incoming
// Authentication-Results fields that claim our authserv-id are removed
// (RFC 8601 §5: a sender could otherwise forge a result we seem to vouch
// for), and so are incoming X-Spam fields of the names we add; every other
// byte is as received. A header that could not be parsed is left as it is,
// since we cannot rewrite what we cannot read; the content rules score it.
func relayedMessage(msg *message.Message, authservID string) (io.Reader, int) {
	if msg.HeaderErr != nil {
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
