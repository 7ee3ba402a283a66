package message

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// qpReader decodes quoted-printable exactly as mime/quotedprintable's
// Reader does (Go 1.26: the same lines, soft breaks, literal '=', errors
// at the same byte), but copies runs of plain bytes at once. The standard
// reader moves one byte per loop turn and stores its line slice back into
// the heap each time, which under a running GC costs a write barrier per
// byte: it was a third of the content parse. FuzzQPReader holds the two
// together on any input and any read sizes.
type qpReader struct {
	br   *bufio.Reader
	rerr error  // last read error
	line []byte // to be consumed before more reads
}

// newQPReader returns a reader for reset to point at a part. Its line
// buffer has the standard reader's size, which decides where an over-long
// line fails.
func newQPReader() *qpReader {
	return &qpReader{br: bufio.NewReaderSize(nil, qpLineBufSize)}
}

// reset makes q decode r from its start.
func (q *qpReader) reset(r io.Reader) {
	q.br.Reset(r)
	q.rerr, q.line = nil, nil
}

// qpPlain marks the bytes the standard reader passes through unchanged:
// printable ASCII but '=', tab, CR, LF and every byte from 0x80.
var qpPlain = func() (t [256]bool) {
	for b := range 256 {
		t[b] = b == '\t' || b == '\r' || b == '\n' || b >= 0x80 || b >= ' ' && b <= '~' && b != '='
	}
	return t
}()

func (q *qpReader) Read(p []byte) (n int, err error) {
	line := q.line
	defer func() { q.line = line }()
	for n < len(p) {
		if len(line) == 0 {
			if q.rerr != nil {
				return n, q.rerr
			}
			line, q.rerr = q.br.ReadSlice('\n')
			// Does the line end in CRLF instead of just LF?
			hasLF := len(line) > 0 && line[len(line)-1] == '\n'
			hasCR := hasLF && len(line) > 1 && line[len(line)-2] == '\r'
			whole := line
			line = trimQPLineEnd(whole)
			if len(line) > 0 && line[len(line)-1] == '=' {
				rightStripped := bytes.TrimLeft(whole[len(line):], " \t")
				line = line[:len(line)-1]
				if !bytes.HasPrefix(rightStripped, []byte("\n")) && !bytes.HasPrefix(rightStripped, []byte("\r\n")) &&
					!(len(rightStripped) == 0 && len(line) > 0 && q.rerr == io.EOF) {
					q.rerr = fmt.Errorf("quotedprintable: invalid bytes after =: %q", rightStripped)
				}
			} else if hasLF {
				if hasCR {
					line = append(line, '\r', '\n')
				} else {
					line = append(line, '\n')
				}
			}
			continue
		}
		// A run of bytes that decode to themselves.
		k, run := 0, min(len(line), len(p)-n)
		for k < run && qpPlain[line[k]] {
			k++
		}
		if k > 0 {
			n += copy(p[n:], line[:k])
			line = line[k:]
			continue
		}
		b := line[0]
		if b != '=' {
			return n, fmt.Errorf("quotedprintable: invalid unescaped byte 0x%02x in body", b)
		}
		if v, ok := qpHexByte(line[1:]); ok { // lower case accepted, as there
			b = v
			line = line[2:] // 2 of the 3; the other 1 is done below
		} else if len(line) < 2 || line[1] == '\r' || line[1] == '\n' {
			return n, qpHexError(line[1:])
		} // else the = is a literal =
		p[n] = b
		n++
		line = line[1:]
	}
	return n, nil
}

// trimQPLineEnd is bytes.TrimRight(line, "\n\r \t") without the byte
// set TrimRight builds for its cutset on every call (once per line).
func trimQPLineEnd(line []byte) []byte {
	e := len(line)
	for e > 0 {
		if c := line[e-1]; c != '\n' && c != '\r' && c != ' ' && c != '\t' {
			break
		}
		e--
	}
	return line[:e]
}

// qpHexError is the standard reader's error for a bad escape.
func qpHexError(v []byte) error {
	if len(v) < 2 {
		return io.ErrUnexpectedEOF
	}
	for _, c := range v[:2] {
		if _, ok := unhex(c); !ok {
			return fmt.Errorf("quotedprintable: invalid hex byte 0x%02x", c)
		}
	}
	return nil
}

func qpHexByte(v []byte) (byte, bool) {
	if len(v) < 2 {
		return 0, false
	}
	return unhex2(v[0], v[1])
}
