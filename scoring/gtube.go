package scoring

import (
	"bytes"
	"context"
	"io"
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
	found, err := containsStream(in.Message.Body(), []byte(gtubeString))
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

// containsStream reports whether r contains needle, reading in fixed chunks
// that overlap by len(needle)-1 so a match across a chunk border is found
// and memory stays constant whatever the message size.
func containsStream(r io.Reader, needle []byte) (bool, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk+len(needle))
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
