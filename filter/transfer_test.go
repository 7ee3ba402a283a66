package filter

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLimitedMessage(t *testing.T) {
	tests := []struct {
		name    string
		msg     string
		max     int64
		maxLine int
		want    error
	}{
		{"exactly the size limit", strings.Repeat("a", 98) + "\r\n", 100, 0, nil},
		{"one octet over the size limit", strings.Repeat("a", 99) + "\r\n", 100, 0, errMessageTooLarge},
		{"no size limit", strings.Repeat("a", 1000), 0, 0, nil},
		{"line of exactly the limit with CRLF", "ab\r\n" + strings.Repeat("x", 8) + "\r\nc\r\n", 0, 10, nil},
		{"line one over the limit", "ab\r\n" + strings.Repeat("x", 9) + "\r\nc\r\n", 0, 10, errLineTooLong},
		{"first line over the limit", strings.Repeat("x", 9) + "\r\n", 0, 10, errLineTooLong},
		{"last line without CRLF, at the limit", "a\r\n" + strings.Repeat("x", 9), 0, 10, nil},
		{"bare LF ends a line", strings.Repeat(strings.Repeat("x", 8)+"\n", 5), 0, 10, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// One octet at a time too: limits must not depend on how reads fall.
			for _, r := range []io.Reader{strings.NewReader(tc.msg), iotest.OneByteReader(strings.NewReader(tc.msg))} {
				got, err := io.ReadAll(&limitedMessage{r: r, max: tc.max, maxLine: tc.maxLine})
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				if err == nil && string(got) != tc.msg {
					t.Fatalf("message changed")
				}
			}
		})
	}
}

// FuzzLimitedMessage holds the reader to a plain restatement of the limits.
func FuzzLimitedMessage(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n"), int64(10), 5)
	f.Add([]byte(strings.Repeat("y", 100)), int64(0), 50)
	f.Fuzz(func(t *testing.T, msg []byte, max int64, maxLine int) {
		if max < 0 || maxLine < 0 {
			return
		}
		got, err := io.ReadAll(iotest.HalfReader(&limitedMessage{r: bytes.NewReader(msg), max: max, maxLine: maxLine}))
		tooBig := max > 0 && int64(len(msg)) > max
		lineTooLong := false
		if maxLine > 0 {
			for _, l := range bytes.Split(msg, []byte("\n")) {
				lineTooLong = lineTooLong || len(l)+1 > maxLine
			}
		}
		switch {
		case !tooBig && !lineTooLong:
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("%q (max %d, line %d): err %v, %d of %d octets", msg, max, maxLine, err, len(got), len(msg))
			}
		case tooBig && lineTooLong: // either may be seen first
			if !errors.Is(err, errMessageTooLarge) && !errors.Is(err, errLineTooLong) {
				t.Fatalf("%q (max %d, line %d): err %v", msg, max, maxLine, err)
			}
		case tooBig && !errors.Is(err, errMessageTooLarge), lineTooLong && !errors.Is(err, errLineTooLong):
			t.Fatalf("%q (max %d, line %d): err %v (too big %v, line too long %v)", msg, max, maxLine, err, tooBig, lineTooLong)
		}
	})
}
