package message

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// goMessageDecode is what the walk did before decodeBody: go-message's New
// and io.ReadAll over a LimitReader. decodeBody must give the same bytes,
// the same read error and the same unknown encoding or charset finding.
func goMessageDecode(h gomessage.Header, body []byte, limit int64) (data []byte, readErr error, unknownEnc, unknownCS bool) {
	e, err := gomessage.New(h, bytes.NewReader(body))
	data, readErr = io.ReadAll(io.LimitReader(e.Body, limit))
	return data, readErr, gomessage.IsUnknownEncoding(err), gomessage.IsUnknownCharset(err)
}

func newDecode(h gomessage.Header, body []byte, limit int64, scratch []byte) (data []byte, readErr error, unknownEnc, unknownCS bool) {
	mt, params, _ := h.ContentType()
	qp := newQPReader()
	dec, chunked, err := decodeBody(h, mt, params, bytes.NewReader(body), qp)
	if chunked {
		data, readErr = io.ReadAll(io.LimitReader(dec, limit))
	} else {
		data, readErr = readAtMost(dec, scratch, limit)
	}
	return data, readErr, errors.Is(err, errUnknownEncoding), errors.Is(err, errUnknownCharset)
}

func testHeader(ct, cte string) gomessage.Header {
	var h textproto.Header
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	if cte != "" {
		h.Set("Content-Transfer-Encoding", cte)
	}
	return gomessage.Header{Header: h}
}

func checkSameDecode(t *testing.T, ct, cte string, body []byte, limit int64) {
	t.Helper()
	h := testHeader(ct, cte)
	want, wantErr, wantEnc, wantCS := goMessageDecode(h, body, limit)
	// A dirty, too small scratch buffer must not show through.
	got, gotErr, gotEnc, gotCS := newDecode(h, body, limit, []byte("leftover"))
	if !bytes.Equal(got, want) {
		t.Errorf("ct=%q cte=%q limit=%d: decoded %q, go-message %q", ct, cte, limit, got, want)
	}
	if (gotErr == nil) != (wantErr == nil) ||
		gotErr != nil && (errors.Is(gotErr, io.ErrUnexpectedEOF) != errors.Is(wantErr, io.ErrUnexpectedEOF) ||
			isDecodeError(gotErr) != isDecodeError(wantErr)) {
		t.Errorf("ct=%q cte=%q limit=%d: read error %v, go-message %v", ct, cte, limit, gotErr, wantErr)
	}
	if gotEnc != wantEnc || gotCS != wantCS {
		t.Errorf("ct=%q cte=%q: unknown encoding/charset %v/%v, go-message %v/%v", ct, cte, gotEnc, gotCS, wantEnc, wantCS)
	}
}

// TestDecodeBodyMatchesGoMessage holds the walk's own decoding to
// go-message's New on the encodings, charsets and broken input mail has:
// the verdicts must not change because the decoding got cheaper.
func TestDecodeBodyMatchesGoMessage(t *testing.T) {
	longQP := strings.Repeat("a", 5000) + "\r\nend\r\n"
	bodies := []string{
		"", "plain text\r\n", "caf=C3=A9 soft=\r\nbreak=\nand =3D sign\r\n",
		"bad =ZZ hex and =\r\n", "trailing = \r\n", "ends with =", "tab\tand \x01 control=\r\n",
		"8bit caf\xe9\r\n", longQP, "aGVsbG8gd29y\r\n bGQ=\r\n", "aGVsbG8*!!\r\n", "aGVsbG8gd29ybGQ",
		"line\r\n\r\n  indented =0D=0A\r\n",
	}
	types := []struct{ ct, cte string }{
		{"text/plain; charset=utf-8", "quoted-printable"},
		{"text/plain; charset=iso-8859-1", "quoted-printable"},
		{"text/html; charset=\"windows-1252\"", "base64"},
		{"text/plain; charset=x-unknown", "quoted-printable"},
		{"text/plain; charset=x-unknown", "x-uuencode"},
		{"text/plain", "x-uuencode"},
		{"text/plain; charset=US-ASCII", "7bit"},
		{"TEXT/PLAIN; CHARSET=UTF-8", "Quoted-Printable"},
		{"multipart/mixed", "quoted-printable"},
		{"text/html; charset=\"x", "quoted-printable"},
		{"", "base64"},
		{"", ""},
		{"text/plain", " base64"},
		{"image/png; charset=koi8-r", "base64"},
	}
	for _, ty := range types {
		for _, b := range bodies {
			for _, limit := range []int64{512 << 10, 7, 1} {
				checkSameDecode(t, ty.ct, ty.cte, []byte(b), limit)
			}
		}
	}
}

// FuzzDecodeBody compares the walk's decoding with go-message's on any
// body, encoding and budget.
func FuzzDecodeBody(f *testing.F) {
	f.Add("text/plain; charset=utf-8", "quoted-printable", []byte("caf=C3=A9=\r\nx"), uint16(100))
	f.Add("text/html; charset=windows-1252", "base64", []byte("aGVsbG8g d29y\tbGQ="), uint16(3))
	f.Add("text/plain", "8bit", []byte("\xe9t\xe9"), uint16(0))
	f.Fuzz(func(t *testing.T, ct, cte string, body []byte, limit uint16) {
		checkSameDecode(t, ct, cte, body, int64(limit)+1)
	})
}

// TestLFText holds lfText to what it replaces: toUTF8 and then every CRLF
// made LF, for text in place or not, valid UTF-8 or not.
func TestLFText(t *testing.T) {
	for _, in := range []string{"", "a\r\nb", "\r\r\n\n\r", "no breaks", "caf\xe9\r\n", "\r\n\r\n", "x\r", "é\r\nè"} {
		want := strings.ReplaceAll(toUTF8([]byte(in)), "\r\n", "\n")
		for _, ours := range []bool{true, false} {
			if got := lfText([]byte(in), ours); got != want {
				t.Errorf("lfText(%q, %v) = %q, want %q", in, ours, got, want)
			}
		}
	}
}

// FuzzLFText holds lfText to toUTF8 and strings.ReplaceAll on any bytes.
func FuzzLFText(f *testing.F) {
	for _, s := range []string{"a\r\nb", "\r\r\n\n\r", "\r\n\r\n", "x\r", "é\r\nè\r\n\r\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want := strings.ReplaceAll(toUTF8(in), "\r\n", "\n")
		if got := lfText(bytes.Clone(in), true); got != want {
			t.Fatalf("lfText(%q) = %q, want %q", in, got, want)
		}
	})
}
