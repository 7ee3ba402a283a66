package message

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	message "github.com/emersion/go-message"
)

// decodeBody is what go-message's New does to a part's body (transfer
// encoding, then charset to UTF-8), written out so the walk can reuse one
// quoted-printable decoder (qp.go) for every part instead of the 4 KiB
// line buffer that quotedprintable.NewReader allocates per part, and skip
// New's second parse of the Content-Type. ct and params are the header's Content-Type as
// go-message's Header.ContentType returns it (on a parse error: the raw
// field and no parameters), so the same parts are decoded the same way:
// no transfer decoding for multipart/*, charsets only for text/*, and on
// an unknown encoding or charset the error New would give (the charset's
// when both are unknown) with the body left as it was at that step.
// qp is the walker's quoted-printable decoder.
//
// chunked is set when what the reader returns depends on the sizes of
// the reads: on corrupt input the base64 decoder stops at the bad chunk,
// and its chunks follow the caller's buffer. Such a body must be read with
// io.ReadAll as before, not into the walk's buffer, or a broken part
// would show different text. (A charset decoder on top reads in chunks of
// its own.)
func decodeBody(h message.Header, ct string, params map[string]string, body io.Reader, qp *qpReader) (_ io.Reader, chunked bool, err error) {
	if !strings.HasPrefix(ct, "multipart/") {
		switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			qp.reset(body)
			body = qp
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, &blankToLF{r: body})
			chunked = true
		case "7bit", "8bit", "binary", "":
		default:
			err = errUnknownEncoding
		}
	}
	if strings.HasPrefix(ct, "text/") {
		if ch, ok := params["charset"]; ok {
			ch = strings.ToLower(ch)
			switch {
			case ch == "utf-8" || ch == "us-ascii":
			case message.CharsetReader == nil:
				err = errUnknownCharset
			default:
				r, cerr := message.CharsetReader(ch, body)
				if cerr != nil {
					err = errUnknownCharset
				} else {
					body, chunked = r, false
				}
			}
		}
	}
	return body, chunked, err
}

var (
	errUnknownEncoding = errors.New("unknown Content-Transfer-Encoding")
	errUnknownCharset  = errors.New("unknown charset")
)

// blankToLF is go-message's whitespaceReplacingReader: spaces and tabs
// in base64 (continuation indents) become line ends, which the decoder
// skips.
type blankToLF struct{ r io.Reader }

func (b *blankToLF) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	for i := range p[:n] {
		if p[i] == ' ' || p[i] == '\t' {
			p[i] = '\n'
		}
	}
	return n, err
}

// qpLineBufSize is quotedprintable's own line buffer size: a line longer
// than this is a decoding error there, and must stay one here.
const qpLineBufSize = 4096

// scratchPool keeps walks' read buffers for the next message; a buffer
// grown past maxPooledScratch by a big part is left to the collector.
var scratchPool sync.Pool

const maxPooledScratch = 256 << 10

var qpPool = sync.Pool{New: func() any { return newQPReader() }}

// readAtMost is io.ReadAll(io.LimitReader(r, limit)) into buf's storage:
// the walk reads every text part into the same buffer.
func readAtMost(r io.Reader, buf []byte, limit int64) ([]byte, error) {
	buf = buf[:0]
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):cap(buf)]
		if left := limit - int64(len(buf)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, fmt.Errorf("read: %w", err)
		}
	}
	return buf, nil
}
