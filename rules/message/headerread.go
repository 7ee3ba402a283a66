package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/emersion/go-message/textproto"
)

// readHeaderAt reads the header of the message at raw[start:size] into the
// same textproto.Header, with the same error, as textproto.ReadHeader over
// a bufio.Reader limited to limit bytes, and returns the bytes it took up to
// and including the empty line (all of them when there is none).
//
// ReadHeader copies each field into a fresh 256-byte line buffer, grown
// line by line for folded fields (DKIM and ARC signatures, Received); on
// modern mail that was half of the parse's allocated bytes. Here the
// header is read whole into a reused buffer, and every field is a slice of
// one copy of it, with line ends made CRLF as ReadHeader makes them
// (Header.Raw hands them out as the field was received, for DKIM).
// Header.AddRaw in reverse order builds the header ReadHeader builds.
//
// ok is false when raw failed to read; the caller then reads the header
// with ReadHeader, which reports that error as it always did.
func readHeaderAt(raw io.ReaderAt, start, size, limit int64) (h textproto.Header, consumed int64, err error, ok bool) {
	bp := headerBlocks.Get().(*[]byte)
	defer headerBlocks.Put(bp)
	avail := min(max(size-start, 0), limit)
	buf := (*bp)[:0]
	end := -1
	for end < 0 {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):min(int64(cap(buf)), avail)]
		n, rerr := raw.ReadAt(room, start+int64(len(buf)))
		buf = buf[:len(buf)+n]
		atEOF := int64(len(buf)) >= avail || errors.Is(rerr, io.EOF)
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return h, 0, nil, false
		}
		end = headerEnd(buf, atEOF)
	}
	if cap(buf) <= maxPooledHeaderBlock {
		*bp = buf
	}
	h, err = parseHeaderBlock(buf[:end])
	return h, int64(end), err, true
}

// headerBlocks are readHeaderAt's read buffers, reused from message to
// message; one grown past maxPooledHeaderBlock by a huge header is dropped.
var headerBlocks = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const maxPooledHeaderBlock = 256 << 10

// headerEnd returns the length of the header at the start of buf: up to
// and including the first empty line ("\n" or "\r\n" where a line starts),
// or all of buf when it ends first and atEOF. -1 means more bytes are
// needed to tell.
func headerEnd(buf []byte, atEOF bool) int {
	p := 0
	for {
		rest := buf[p:]
		switch {
		case len(rest) == 0:
			if atEOF {
				return p
			}
			return -1
		case rest[0] == '\n':
			return p + 1
		case rest[0] == '\r' && len(rest) > 1 && rest[1] == '\n':
			return p + 2
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if atEOF {
				return len(buf)
			}
			return -1
		}
		p += i + 1
	}
}

// parseHeaderBlock is textproto.ReadHeader on a header already in memory
// (what headerEnd measured).
func parseHeaderBlock(blk []byte) (textproto.Header, error) {
	var h textproto.Header
	if len(blk) > 0 && isSpaceTab(blk[0]) {
		line, _ := nextHeaderLine(blk, 0)
		return h, fmt.Errorf("message: malformed MIME header initial line: %v", string(line))
	}
	// Every line gains at most a CR, and the last one a CR LF.
	out := make([]byte, 0, len(blk)+bytes.Count(blk, []byte{'\n'})+2)
	var stack [64][]byte
	fields := stack[:0]
	var err error
	for p := 0; p < len(blk); {
		line, next := nextHeaderLine(blk, p)
		if len(line) == 0 { // the empty line
			break
		}
		from := len(out)
		out = append(append(out, line...), '\r', '\n')
		p = next
		for p < len(blk) && isSpaceTab(blk[p]) {
			line, p = nextHeaderLine(blk, p)
			out = append(append(out, line...), '\r', '\n')
		}
		kv := out[from:len(out):len(out)]
		i := bytes.IndexByte(kv, ':')
		if i < 0 {
			err = fmt.Errorf("message: malformed MIME header line: %v", string(kv))
			break
		}
		key := bytes.Trim(kv[:i], " \t")
		if !validFieldName(key) {
			err = fmt.Errorf("message: malformed MIME header key: %v", string(key))
			break
		}
		if len(key) == 0 { // ReadHeader skips a field with no name
			continue
		}
		fields = append(fields, kv)
	}
	// ReadHeader keeps the fields last first; AddRaw appends.
	for i := len(fields) - 1; i >= 0; i-- {
		h.AddRaw(fields[i])
	}
	return h, err
}

// nextHeaderLine returns the line starting at blk[p] without its line end
// (an LF, or a CR LF: bufio.Reader.ReadLine's line) and where the next
// line starts.
func nextHeaderLine(blk []byte, p int) (line []byte, next int) {
	i := bytes.IndexByte(blk[p:], '\n')
	if i < 0 {
		return blk[p:], len(blk)
	}
	line = blk[p : p+i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, p + i + 1
}

// validFieldName is RFC 5322 §2.2's field name: printable US-ASCII but ':'.
func validFieldName(k []byte) bool {
	for _, c := range k {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

func isSpaceTab(c byte) bool { return c == ' ' || c == '\t' }
