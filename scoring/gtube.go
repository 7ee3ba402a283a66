package scoring

import (
	"bytes"
	"context"
	"io"
	"sync"
)

// gtubeString is the Generic Test for Unsolicited Bulk Email: any message
// containing it is spam by definition, so operators can test the whole
// pipeline with a harmless message.
const gtubeString = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// GTUBEScore is high enough to pass any sane reject threshold.
const GTUBEScore = 1000

// GTUBE finds the GTUBE string in the message body.
type GTUBE struct{}

func (GTUBE) Name() string { return "gtube" }
func (GTUBE) Phase() Phase { return PhaseData }

func (GTUBE) Run(ctx context.Context, in *Input) Result {
	if in.Message == nil {
		return Result{}
	}
	found, err := containsGTUBE(in.Message.Body())
	if err != nil {
		return Result{Err: err}
	}
	if !found {
		return Result{}
	}
	return Result{Symbols: []Symbol{{
		Name:   "GTUBE",
		Score:  GTUBEScore,
		Detail: "message contains the GTUBE anti-spam test string",
	}}}
}

// scanChunk is how much of the message containsStream reads at a time.
const scanChunk = 64 << 10

// scanBuffers are reused across messages: a fresh 64 KiB per message was a
// visible share of the proxy's garbage.
var scanBuffers = sync.Pool{New: func() any { b := make([]byte, scanChunk+len(gtubeString)); return &b }}

// containsGTUBE reports whether r contains the GTUBE string, reading in
// fixed chunks that overlap by len(gtubeString)-1 so a match across a chunk
// border is found and memory stays constant whatever the message size.
func containsGTUBE(r io.Reader) (bool, error) {
	needle := []byte(gtubeString)
	bp := scanBuffers.Get().(*[]byte)
	defer scanBuffers.Put(bp)
	buf := *bp
	keep := 0
	for {
		n, err := io.ReadFull(r, buf[keep:])
		data := buf[:keep+n]
		if bytes.Contains(data, needle) {
			return true, nil
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		keep = min(len(needle)-1, len(data))
		copy(buf, data[len(data)-keep:])
	}
}
