package message

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
)

// headerSeeds are headers that took ReadHeader's every branch: LF and CR LF
// line ends, folds, bare CRs, no empty line, a field with no name, bad
// names, a first line that is a fold, lines longer than its 4 KiB buffer.
var headerSeeds = []string{
	"",
	"\r\n",
	"\n",
	"Subject: hi\r\n\r\nbody",
	"Subject: hi\n\nbody",
	"Subject: hi\r\nFrom: a@b\r\n",
	"Subject: hi",
	"Subject: hi\r",
	"Subject: a\r\n  b\r\n\tc\r\n\r\nbody",
	"Subject: a\n \n\t\nX: y\n\n",
	"DKIM-Signature: v=1;\r\n b=abc\r\nReceived: x\r\nreceived: y\r\n\r\n",
	" leading: fold\r\n\r\n",
	"\tleading\r\n",
	"no colon here\r\n\r\n",
	"A: 1\r\nno colon\r\n\r\n",
	": empty name\r\nB: 2\r\n\r\n",
	" \t: x\r\n",
	"Bad Key: v\r\n\r\n",
	"Bad\xffKey: v\r\n",
	"K\r\n : v\r\n\r\n",
	"A: 1\r\r\nB: 2\r\n\r\n",
	"A: 1\rB: 2\n\n",
	"A: x\r\n\r",
	"Long: " + strings.Repeat("x", 5000) + "\r\n\r\nbody",
	"Long: " + strings.Repeat("y", 4094) + "\r\n\r\n",
	"A:1\r\nA:2\r\nB :3\r\n\r\n",
}

// FuzzReadHeaderAt holds readHeaderAt to go-message's ReadHeader
// (readHeaderBufio) on any bytes and any read limit: the same fields in
// the same order with the same names, values and raw bytes, the same
// lookups, the same error and, without one, the same header length.
func FuzzReadHeaderAt(f *testing.F) {
	for _, s := range headerSeeds {
		f.Add([]byte(s), uint16(0))
		f.Add([]byte(s), uint16(7))
	}
	if files, _ := filepath.Glob("testdata/*.eml"); len(files) > 0 {
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil {
				f.Add(data, uint16(0))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, lim uint16) {
		limit := int64(maxHeaderRead)
		if lim > 0 {
			limit = int64(lim)
		}
		r := bytes.NewReader(data)
		size := int64(len(data))
		got, gotN, gotErr, ok := readHeaderAt(r, 0, size, limit)
		if !ok {
			t.Fatal("readHeaderAt failed on a bytes.Reader")
		}
		want, wantN, wantErr := readHeaderBufio(r, 0, size, limit)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("error %v, ReadHeader %v", gotErr, wantErr)
		}
		if wantErr == nil && gotN != wantN {
			t.Fatalf("header length %d, ReadHeader %d", gotN, wantN)
		}
		if g, w := dumpHeader(got), dumpHeader(want); g != w {
			t.Fatalf("header\n%s\nReadHeader\n%s", g, w)
		}
	})
}

// dumpHeader writes out every field in order (name, value, raw bytes) and
// every name's lookups, so two headers compare as text.
func dumpHeader(h textproto.Header) string {
	var b strings.Builder
	fmt.Fprintf(&b, "len %d\n", h.Len())
	keys := map[string]bool{}
	for f := h.Fields(); f.Next(); {
		raw, err := f.Raw()
		fmt.Fprintf(&b, "%q %q %q %v\n", f.Key(), f.Value(), raw, err)
		keys[f.Key()] = true
	}
	for k := range keys {
		raw, err := h.Raw(k)
		fmt.Fprintf(&b, "get %q %q %q %q %v\n", k, h.Get(k), h.Values(k), raw, err)
	}
	// Map order is random: sort the lookups.
	lines := strings.Split(b.String(), "\n")
	head := 0
	for head < len(lines) && !strings.HasPrefix(lines[head], "get ") {
		head++
	}
	tail := lines[head:]
	sort.Strings(tail)
	return strings.Join(append(lines[:head:head], tail...), "\n")
}

type failingReaderAt struct{}

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	return 0, errors.New("disk on fire")
}

// TestParseMessageReadFailureKeepsReadHeaderError: when the spool cannot be
// read, the header error is ReadHeader's as before, not a silently empty
// header.
func TestParseMessageReadFailureKeepsReadHeaderError(t *testing.T) {
	m := ParseMessage(failingReaderAt{}, 100)
	if m.HeaderErr == nil || !strings.Contains(m.HeaderErr.Error(), "disk on fire") {
		t.Fatalf("HeaderErr = %v, want the read error", m.HeaderErr)
	}
}

// TestParseMessageHeaderLikeReadHeader: the body starts where it did and the
// fields are ReadHeader's on the seed headers, with and without an mbox
// From line.
func TestParseMessageHeaderLikeReadHeader(t *testing.T) {
	for _, s := range headerSeeds {
		for _, prefix := range []string{"", "From a@b Mon Jan  1 00:00:00 2024\n"} {
			data := []byte(prefix + s)
			m := ParseMessage(bytes.NewReader(data), int64(len(data)))
			start := int64(len(prefix))
			want, n, err := readHeaderBufio(bytes.NewReader(data), start, int64(len(data)), maxHeaderRead)
			if fmt.Sprint(errors.Unwrap(m.HeaderErr)) != fmt.Sprint(err) {
				t.Errorf("%q: HeaderErr %v, ReadHeader %v", data, m.HeaderErr, err)
			}
			if err == nil && m.BodyOffset() != start+n {
				t.Errorf("%q: body at %d, ReadHeader's at %d", data, m.BodyOffset(), start+n)
			}
			if g, w := dumpHeader(m.Header), dumpHeader(want); g != w {
				t.Errorf("%q: header\n%s\nReadHeader\n%s", data, g, w)
			}
		}
	}
}
