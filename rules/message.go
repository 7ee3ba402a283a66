// Package rules reads a message: its MIME structure, visible text, links,
// and the content heuristics that score them. It knows nothing about SMTP
// or the scoring engine; scoring imports rules, never the other way.
package rules

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/emersion/go-message/textproto"
)

// Message is one received message, parsed once and shared read-only by
// every check. The raw bytes stay where the spool put them (memory or a
// temp file); Message only keeps offsets into them, so its size does not
// grow with the message.
type Message struct {
	// Header is the parsed top-level header. When the header could not be
	// parsed (HeaderErr != nil) it holds the fields read before the error.
	Header textproto.Header
	// HeaderErr records a malformed header. A broken header is a finding
	// for the rules, not a reason to lose the message.
	HeaderErr error

	raw        io.ReaderAt
	size       int64
	bodyOffset int64

	// What the body says, decoded on first use (content.go).
	maxScan     int64
	contentOnce sync.Once
	body        *content

	// The From field, parsed on first use (from.go).
	fromOnce sync.Once
	from     *From

	// Rule results, computed once per rule set (ruleset.go).
	evalMu sync.Mutex
	evals  map[*compiled]*evaluation
}

// ParseMessage reads the top-level header of the message held in raw.
// It never fails on malformed input: the error is kept in HeaderErr and the
// body is taken to start after the first empty line (or at the end).
func ParseMessage(raw io.ReaderAt, size int64) *Message {
	return ParseMessageOptions(raw, size, Options{})
}

// ParseMessageOptions is ParseMessage with the limits of a rule set
// (Ruleset.Options): opts.MaxScanBytes caps the decoded text the body
// checks read.
func ParseMessageOptions(raw io.ReaderAt, size int64, opts Options) *Message {
	m := &Message{raw: raw, size: size, maxScan: opts.maxScan()}
	start := mboxFromLine(raw, size)
	cr := &countingReader{r: io.NewSectionReader(raw, start, size-start), n: start}
	br := bufio.NewReaderSize(io.LimitReader(cr, maxHeaderRead), 4096)
	h, err := textproto.ReadHeader(br)
	m.Header = h
	if err == nil {
		m.bodyOffset = cr.n - int64(br.Buffered())
		return m
	}
	m.HeaderErr = fmt.Errorf("header: %w", err)
	m.bodyOffset, _ = HeaderSize(raw, size, size)
	return m
}

// mboxFromLine returns the length of a leading mbox "From sender date"
// separator line (archived mail, corpora, `formail` output), which is not
// a header field; 0 when there is none.
func mboxFromLine(raw io.ReaderAt, size int64) int64 {
	var buf [1024]byte
	n, _ := raw.ReadAt(buf[:min(int64(len(buf)), size)], 0)
	line := buf[:n]
	if !bytes.HasPrefix(line, []byte("From ")) {
		return 0
	}
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		return int64(i + 1)
	}
	return 0
}

// maxHeaderRead bounds how much ParseMessage reads into the parsed header,
// whatever the input (go-message's ReadHeader itself has no bound).
const maxHeaderRead = 1 << 20

// HeaderSize scans the raw message for the end of its header (the first
// empty line, or the end of the message) and returns the header's length
// including that empty line. complete is false when the header runs past
// limit bytes; at most limit bytes plus one buffer are read.
func HeaderSize(raw io.ReaderAt, size, limit int64) (n int64, complete bool) {
	br := bufio.NewReader(io.NewSectionReader(raw, 0, size))
	continued := false // the previous read ended mid-line
	for n <= limit {
		line, err := br.ReadSlice('\n')
		n += int64(len(line))
		if errors.Is(err, bufio.ErrBufferFull) {
			continued = true
			continue
		}
		if !continued && len(line) > 0 && len(bytes.TrimRight(line, "\r\n")) == 0 {
			return n, n <= limit
		}
		continued = false
		if err != nil { // the message is all header
			return n, n <= limit
		}
	}
	return n, false
}

// Size is the length of the raw message in bytes.
func (m *Message) Size() int64 { return m.size }

// Raw returns a fresh reader over the whole message as received.
func (m *Message) Raw() io.Reader { return io.NewSectionReader(m.raw, 0, m.size) }

// RawAt gives random access to the raw message (for DKIM and rewriting).
func (m *Message) RawAt() io.ReaderAt { return m.raw }

// BodyOffset is where the body starts in the raw message.
func (m *Message) BodyOffset() int64 { return m.bodyOffset }

// Body returns a fresh reader over the raw (undecoded) body.
func (m *Message) Body() io.Reader {
	return io.NewSectionReader(m.raw, m.bodyOffset, m.size-m.bodyOffset)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
