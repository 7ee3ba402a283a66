package bounce

import (
	"bufio"
	"bytes"
	"io"
	"net/textproto"
	"strings"

	"github.com/emersion/go-message"
)

// RFC 3464 delivery status notifications: a multipart/report whose
// message/delivery-status part (RFC 6533: message/global-delivery-status
// for internationalised addresses) holds header blocks separated by blank
// lines: one per message (Reporting-MTA, Arrival-Date), then one per
// recipient (Final-Recipient, Action, Status, Remote-MTA,
// Diagnostic-Code). Postfix, Exim (with dsn_advertise_hosts), Exchange and
// Gmail all send them; a pasted bounce may hold only the blocks.

// maxParts bounds the MIME parts walked: a report has three, a nested
// forward a few more.
const maxParts = 50

// readDSN finds the delivery-status blocks of raw, in a MIME report or
// pasted bare, and returns a failure per recipient whose Action is failed
// or delayed (or not given).
func readDSN(raw []byte) ([]Failure, bool) {
	if status, ok := deliveryStatusPart(raw); ok {
		return parseStatusBlocks(status)
	}
	// Pasted without the MIME structure: the blocks start at the first
	// per-recipient field.
	text := plainText(raw)
	lower := strings.ToLower(text)
	for _, field := range []string{"\nfinal-recipient:", "\noriginal-recipient:"} {
		if i := strings.Index("\n"+lower, field); i >= 0 {
			start := strings.LastIndex(lower[:i], "\n\n") // the per-message block, if any
			if start < 0 {
				start = 0
			}
			return parseStatusBlocks([]byte(text[start:]))
		}
	}
	return nil, false
}

// deliveryStatusPart returns the body of the first message/delivery-status
// part of raw, when raw is a MIME message holding one.
func deliveryStatusPart(raw []byte) ([]byte, bool) {
	e, err := message.Read(bytes.NewReader(raw))
	if e == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
		return nil, false
	}
	parts := 0
	var walk func(e *message.Entity, depth int) ([]byte, bool)
	walk = func(e *message.Entity, depth int) ([]byte, bool) {
		parts++
		if parts > maxParts || depth > 5 {
			return nil, false
		}
		t, _, _ := e.Header.ContentType()
		switch t {
		case "message/delivery-status", "message/global-delivery-status":
			body, err := io.ReadAll(io.LimitReader(e.Body, MaxInput))
			return body, err == nil && len(body) > 0
		}
		mr := e.MultipartReader()
		if mr == nil {
			return nil, false
		}
		for {
			p, err := mr.NextPart()
			if err != nil {
				return nil, false
			}
			if body, ok := walk(p, depth+1); ok {
				return body, true
			}
		}
	}
	return walk(e, 0)
}

// parseStatusBlocks reads the header blocks of a delivery-status body.
func parseStatusBlocks(body []byte) ([]Failure, bool) {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")))))
	var out []Failure
	var remote string // Remote-MTA may sit in the per-message block of some MTAs
	for blocks := 0; blocks < maxFailures+1; blocks++ {
		h, err := r.ReadMIMEHeader()
		if len(h) > 0 {
			if f, ok := statusFailure(h); ok {
				if f.RemoteHost == "" {
					f.RemoteHost = remote
				}
				out = append(out, f)
			} else if v := typedValue(h.Get("Remote-MTA")); v != "" {
				remote = v
			}
		}
		if err != nil {
			break
		}
	}
	return out, len(out) > 0
}

// statusFailure turns one per-recipient block into a failure; ok is false
// for the per-message block and for recipients that were delivered.
func statusFailure(h textproto.MIMEHeader) (Failure, bool) {
	rcpt := typedValue(h.Get("Final-Recipient"))
	if rcpt == "" {
		rcpt = typedValue(h.Get("Original-Recipient"))
	}
	status := strings.TrimSpace(h.Get("Status"))
	if rcpt == "" && status == "" {
		return Failure{}, false
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Action"))) {
	case "delivered", "relayed", "expanded":
		return Failure{}, false
	}
	f := Failure{Recipient: strings.Trim(rcpt, "<>"), RemoteHost: typedValue(h.Get("Remote-MTA"))}
	if m := enhancedRe.FindString(status); m != "" {
		f.Enhanced = m
	}
	diag := typedValue(h.Get("Diagnostic-Code"))
	if r, ok := parseReply(diag); ok {
		f.Code, f.Text = r.code, r.text
		if r.enhanced != "" {
			f.Enhanced = r.enhanced
		}
	} else {
		f.Text = diag
	}
	f.RemoteHost, f.RemoteIP = splitHostIP(f.RemoteHost)
	return f, true
}

// typedValue is the value of an RFC 3464 typed field ("rfc822; a@b",
// "dns; mx.example", "smtp; 550 ...") without its type, white space
// folded.
func typedValue(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 && i < 20 && !strings.ContainsAny(v[:i], " <@") {
		v = v[i+1:]
	}
	return strings.Join(strings.Fields(v), " ")
}
