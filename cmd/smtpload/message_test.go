package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestMakeBodyExactSizeAndShortLines(t *testing.T) {
	for _, gt := range []bool{false, true} {
		for _, size := range []int{0, 2, 3, 4, 5, 70, 71, 77, 78, 79, 80, 81, 150, 1000, 5120, 100003} {
			if gt && size < len(gtube)+2 {
				continue
			}
			body, err := makeBody(size, gt, 7)
			if err != nil {
				t.Fatalf("makeBody(%d, %v): %v", size, gt, err)
			}
			if len(body) != size {
				t.Errorf("makeBody(%d, %v) is %d bytes", size, gt, len(body))
			}
			if size == 0 {
				continue
			}
			if !bytes.HasSuffix(body, []byte("\r\n")) {
				t.Errorf("makeBody(%d, %v) does not end with CRLF", size, gt)
			}
			if bytes.Contains(bytes.ReplaceAll(body, []byte("\r\n"), nil), []byte("\n")) ||
				bytes.Contains(bytes.ReplaceAll(body, []byte("\r\n"), nil), []byte("\r")) {
				t.Errorf("makeBody(%d, %v) has a bare CR or LF", size, gt)
			}
			if gt != bytes.HasPrefix(body, []byte(gtube)) {
				t.Errorf("makeBody(%d, %v): GTUBE line present = %v", size, gt, !gt)
			}
			for _, line := range strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n") {
				if len(line) >= 78 {
					t.Errorf("makeBody(%d, %v) has a %d-character line", size, gt, len(line))
				}
				if strings.HasPrefix(line, ".") || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "From ") {
					t.Errorf("makeBody(%d, %v) line %q starts badly", size, gt, line)
				}
			}
		}
	}
}

func TestMakeBodyLooksLikeText(t *testing.T) {
	body, err := makeBody(5120, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	text := string(body)
	if n := len(strings.Fields(text)); n < 600 {
		t.Errorf("a 5 KB body has only %d words", n)
	}
	if !strings.Contains(text, "\r\n\r\n") {
		t.Errorf("no paragraph break in a 5 KB body")
	}
	again, _ := makeBody(5120, false, 1)
	if !bytes.Equal(body, again) {
		t.Errorf("the same seed gave different bodies")
	}
}

func TestMakeBodyRefusesImpossibleSizes(t *testing.T) {
	for _, c := range []struct {
		size int
		gt   bool
	}{{-1, false}, {1, false}, {len(gtube) + 1, true}} {
		if _, err := makeBody(c.size, c.gt, 1); err == nil {
			t.Errorf("makeBody(%d, %v) gave no error", c.size, c.gt)
		}
	}
}

func TestAppendHeaderFields(t *testing.T) {
	h := string(appendHeader(nil, headerFields{
		From: "a@example.com", To: "b@example.net", Seq: 4, N: 10,
		RunID: "abc", Hostname: "load.test",
		Date: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC),
	}))
	for _, want := range []string{
		"Date: Tue, 04 Mar 2025 05:06:07 +0000\r\n",
		"From: Load Generator <a@example.com>\r\n",
		"To: <b@example.net>\r\n",
		"Subject: Quarterly report draft for review [5/10]\r\n",
		"Message-ID: <abc.4@load.test>\r\n",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("header lacks %q:\n%s", want, h)
		}
	}
	if !strings.HasSuffix(h, "\r\n\r\n") {
		t.Errorf("header does not end with an empty line")
	}
}

func TestIsGTUBEFraction(t *testing.T) {
	for _, c := range []struct {
		frac float64
		n    int
		want int
	}{{0, 100, 0}, {1, 100, 100}, {0.5, 10, 5}, {0.1, 1000, 100}, {0.25, 7, 1}} {
		cfg := Config{GTUBE: c.frac}
		got := 0
		for i := range c.n {
			if cfg.isGTUBE(i) {
				got++
			}
		}
		if got != c.want {
			t.Errorf("fraction %v of %d: %d GTUBE messages, want %d", c.frac, c.n, got, c.want)
		}
	}
}
