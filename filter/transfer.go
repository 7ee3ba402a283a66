package filter

import "io"

// limitedMessage holds a message being received to max_message_bytes and,
// for BDAT, to max_line_length.
//
// Size is RFC 1870's "message size": the octets of the message as
// transmitted, CRLF line ends counted, without DATA's dot-stuffing or its
// terminating "." line, which go-smtp has already removed; for BDAT, the
// sum of the chunks. A message of exactly max bytes is accepted.
//
// Line length counts a line's octets with its CRLF (RFC 5321 §4.5.3.1.6:
// "The maximum total length of a text line including the <CRLF> is 1000
// octets"). go-smtp applies max_line_length to DATA itself but lifts it for
// BDAT chunks, where a single 20 MB line would otherwise be relayed and
// break the next hop.
type limitedMessage struct {
	r       io.Reader
	max     int64 // 0: no limit
	maxLine int   // 0: not checked here
	n       int64 // octets so far
	line    int   // octets of the current line so far, without its LF
	err     error // sticky: once over a limit, always over it
}

func (m *limitedMessage) Read(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	if m.max > 0 && m.n > m.max {
		m.err = errMessageTooLarge
		return 0, m.err
	}
	if m.maxLine > 0 {
		for _, b := range p[:n] {
			if b == '\n' {
				m.line = 0
				continue
			}
			if m.line++; m.line >= m.maxLine { // with its LF, past the limit
				m.err = errLineTooLong
				return 0, m.err
			}
		}
	}
	return n, err
}
