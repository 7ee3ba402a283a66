// Package message is the parsed message every check reads: its header,
// MIME structure, decoded and visible text, HTML findings, links, the
// attachments and what a bounded look inside them found, and the From
// field, each worked out once, on first use, and shared read-only. It
// knows nothing about SMTP, rules or scores; the rule engine (package
// rules), its heuristics and the sender checks all read it.
package message

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

	// Results derived from the message by its readers (Memo).
	memoMu sync.Mutex
	memo   map[any]any

	// Address-list headers, parsed on first use (headers.go).
	addrMu    sync.Mutex
	addrLists []namedAddresses
	addrBuf   [4]namedAddresses // To, Cc, From and one more without growing
}

// Options bound the work of reading a message.
type Options struct {
	// MaxScanBytes caps the decoded text (and the raw bytes) read per
	// message; 0 means DefaultMaxScanBytes (512 KiB).
	MaxScanBytes int64
}

func (o Options) maxScan() int64 {
	if o.MaxScanBytes <= 0 {
		return DefaultMaxScanBytes
	}
	return o.MaxScanBytes
}

// Memo returns what make computed for key on this message, computing it on
// the first call: a reader that derives something costly from the message
// (a rule set's evaluation) does it once however many checks ask. key must
// be comparable and owned by the caller (a pointer it made), so readers do
// not collide. compute runs without the lock held and may run twice when two
// callers race; the first result stored wins.
func (m *Message) Memo(key any, compute func() any) any {
	if v, ok := m.Memoized(key); ok {
		return v
	}
	v := compute()
	m.memoMu.Lock()
	defer m.memoMu.Unlock()
	if prev, ok := m.memo[key]; ok {
		return prev
	}
	if m.memo == nil {
		m.memo = map[any]any{}
	}
	m.memo[key] = v
	return v
}

// Memoized returns what Memo stored for key, if it has run.
func (m *Message) Memoized(key any) (any, bool) {
	m.memoMu.Lock()
	defer m.memoMu.Unlock()
	v, ok := m.memo[key]
	return v, ok
}

// ParseMessage reads the top-level header of the message held in raw.
// It never fails on malformed input: the error is kept in HeaderErr and the
// body is taken to start after the first empty line (or at the end).
func ParseMessage(raw io.ReaderAt, size int64) *Message {
	return ParseMessageOptions(raw, size, Options{})
}

// ParseMessageOptions is ParseMessage with limits: opts.MaxScanBytes caps
// the decoded text the body checks read.
func ParseMessageOptions(raw io.ReaderAt, size int64, opts Options) *Message {
	m := &Message{raw: raw, size: size, maxScan: opts.maxScan()}
	start := mboxFromLine(raw, size)
	h, n, err, ok := readHeaderAt(raw, start, size, maxHeaderRead)
	if !ok { // raw failed to read: ReadHeader reports it as it always did
		h, n, err = readHeaderBufio(raw, start, size, maxHeaderRead)
	}
	m.Header = h
	if err == nil {
		m.bodyOffset = start + n
		return m
	}
	m.HeaderErr = fmt.Errorf("header: %w", err)
	m.bodyOffset, _ = HeaderSize(raw, size, size)
	return m
}

// readHeaderBufio is go-message's ReadHeader over raw[start:size], at most
// limit bytes of it; n is what it took up to the end of the header.
func readHeaderBufio(raw io.ReaderAt, start, size, limit int64) (h textproto.Header, n int64, err error) {
	cr := &countingReader{r: io.NewSectionReader(raw, start, size-start)}
	br := headerReaders.Get().(*bufio.Reader)
	br.Reset(io.LimitReader(cr, limit))
	h, err = textproto.ReadHeader(br) // copies what it keeps out of br
	n = cr.n - int64(br.Buffered())
	br.Reset(nil)
	headerReaders.Put(br)
	return h, n, err
}

// headerReaders are the 4 KiB read buffers of ParseMessage, reused from
// message to message.
var headerReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// mboxFromLine returns the length of a leading mbox "From sender date"
// separator line (archived mail, corpora, `formail` output), which is not
// a header field; 0 when there is none.
func mboxFromLine(raw io.ReaderAt, size int64) int64 {
	buf := mboxLineBufs.Get().(*[1024]byte)
	defer mboxLineBufs.Put(buf)
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

// mboxLineBufs are mboxFromLine's buffers: one on the stack would move to
// the heap for every message, as ReadAt is an interface call.
var mboxLineBufs = sync.Pool{New: func() any { return new([1024]byte) }}

// maxHeaderRead bounds how much ParseMessage reads into the parsed header,
// whatever the input (go-message's ReadHeader itself has no bound).
const maxHeaderRead = 1 << 20

// HeaderSize scans the raw message for the end of its header (the first
// empty line, or the end of the message) and returns the header's length
// including that empty line. complete is false when the header runs past
// limit bytes; at most limit bytes plus one buffer are read.
func HeaderSize(raw io.ReaderAt, size, limit int64) (n int64, complete bool) {
	br := headerScanners.Get().(*bufio.Reader)
	defer headerScanners.Put(br)
	sr := io.NewSectionReader(raw, 0, size)
	br.Reset(sr)
	defer br.Reset(nil) // let go of raw while pooled
	continued := false  // the previous read ended mid-line
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

// headerScanners are HeaderSize's readers, kept from message to message:
// a new one was 4 KB of garbage per message received.
var headerScanners = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

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
