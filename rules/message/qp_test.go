package message

import (
	"bytes"
	"errors"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// readChunks reads r to the end or its first error in reads of the given
// sizes, in turn.
func readChunks(r io.Reader, sizes []byte) ([]byte, error) {
	var out []byte
	for i := 0; ; i++ {
		size := 512
		if len(sizes) > 0 {
			size = int(sizes[i%len(sizes)])%64 + 1
		}
		buf := make([]byte, size)
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return out, err
		}
	}
}

func checkQP(t *testing.T, in []byte, sizes []byte) {
	t.Helper()
	want, wantErr := readChunks(quotedprintable.NewReader(bytes.NewReader(in)), sizes)
	q := newQPReader()
	q.reset(strings.NewReader("left over from another part"))
	q.Read(make([]byte, 3)) //nolint:errcheck // leave state behind to be reset
	q.reset(bytes.NewReader(in))
	got, gotErr := readChunks(q, sizes)
	if !bytes.Equal(got, want) {
		t.Fatalf("qpReader(%q, sizes %v) = %q, quotedprintable %q", in, sizes, got, want)
	}
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("qpReader(%q) error %v, quotedprintable %v", in, gotErr, wantErr)
	}
}

var qpSeeds = []string{
	"", "plain\r\n", "caf=C3=A9 =3d=3D soft=\r\nbreak=\n", "=ZZ literal", "=\rX\n", "=A", "=", "x=",
	"trailing =  \r\n", "=  \t\n", "tab\tand\x01control", "del\x7f", "\xff\xfe high", "a=\r\n\r\n",
	"bad after = x\r\n", "=4", "=4\n", "=g0", "=0g", "line\r", "\r\n\r\n", strings.Repeat("a", 5000) + "=\r\nb",
	strings.Repeat("=41", 2000) + "\n", strings.Repeat("b", 4095) + "=\nc",
}

// TestQPReaderMatchesStandard holds qpReader to mime/quotedprintable on
// soft breaks, literal '=', bad escapes, control bytes and lines longer
// than the line buffer, read whole and a few bytes at a time.
func TestQPReaderMatchesStandard(t *testing.T) {
	for _, s := range qpSeeds {
		for _, sizes := range [][]byte{nil, {0}, {2, 7, 1}} {
			checkQP(t, []byte(s), sizes)
		}
	}
}

func FuzzQPReader(f *testing.F) {
	for _, s := range qpSeeds {
		f.Add([]byte(s), []byte{3, 1})
	}
	f.Fuzz(func(t *testing.T, in, sizes []byte) {
		checkQP(t, in, sizes)
	})
}
