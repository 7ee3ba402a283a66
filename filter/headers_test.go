package filter

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
)

// goMessageField is how go-message renders one field, which relayguard
// used before appendField and which mail clients have read since.
func goMessageField(k, v string) []byte {
	var h textproto.Header
	h.Add(k, v)
	var b bytes.Buffer
	textproto.WriteHeader(&b, h)
	return bytes.TrimSuffix(b.Bytes(), []byte("\r\n"))
}

func TestAppendFieldAsGoMessage(t *testing.T) {
	long := "Yes, score=1003.4, required=5.0, tests=" + strings.Repeat("SYMBOL_NAME,", 30) + "LAST"
	for _, tc := range []struct{ name, k, v string }{
		{"empty value", "X-Spam-Flag", ""},
		{"short", "X-Spam-Score", "5.0"},
		{"exactly at the fold", "X-Spam-Score", strings.Repeat("a", 76-len("X-Spam-Score: "))},
		{"one past the fold", "X-Spam-Score", strings.Repeat("a", 77-len("X-Spam-Score: "))},
		{"folded at spaces", "X-Spam-Status", long},
		{"word longer than a line", "X-Spam-Status", "x " + strings.Repeat("y", 300) + " z"},
		{"word longer than 998", "X-Spam-Status", strings.Repeat("w", 1200)},
		{"tabs", "Received", "from a\tby b\t" + strings.Repeat("c ", 60)},
		{"received", "Received", "from mail.example.org ([192.0.2.7]) by relayguard.test (relayguard) with ESMTPS id 2f5a9c1e for <user@local.example>; Fri, 27 Nov 2026 16:13:44 +0000"},
		{"authentication results", "Authentication-Results", "relayguard.test; spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org header.s=sel; dmarc=pass header.from=example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := goMessageField(tc.k, tc.v)
			if got := appendField(nil, tc.k, tc.v); !bytes.Equal(got, want) {
				t.Errorf("appendField:\n%q\ngo-message:\n%q", got, want)
			}
		})
	}
}

// TestAppendFieldNeverEndsAFieldEarly: a CR or LF in a value must not start
// a new field (go-message refuses such a value; we turn it into a space).
func TestAppendFieldNeverEndsAFieldEarly(t *testing.T) {
	got := string(appendField(nil, "Received", "from evil\r\nX-Spam-Flag: NO\n"))
	if strings.Contains(got, "\r\nX-Spam-Flag") || strings.Count(got, "\n") != 1 {
		t.Errorf("value broke out of its field: %q", got)
	}
}

func FuzzAppendField(f *testing.F) {
	f.Add("X-Spam-Status", "Yes, score=5.0, required=5.0, tests=A,B,C")
	f.Add("Received", strings.Repeat("ab ", 400))
	f.Add("Received", "\t \t"+strings.Repeat("q", 900))
	f.Fuzz(func(t *testing.T, k, v string) {
		if k != "Received" { // our names are fixed; only their lengths matter
			k = "X-Spam-Status"
		}
		got := appendField(nil, k, v)
		if !strings.ContainsAny(v, "\r\n") {
			if want := goMessageField(k, v); !bytes.Equal(got, want) {
				t.Fatalf("appendField(%q):\n%q\ngo-message:\n%q", v, got, want)
			}
		}
		if !bytes.HasSuffix(got, []byte("\r\n")) {
			t.Fatalf("field does not end with CRLF: %q", got)
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(got, []byte("\r\n")), []byte("\r\n"))[1:] {
			if len(line) == 0 || (line[0] != ' ' && line[0] != '\t') {
				t.Fatalf("continuation line does not start with whitespace: %q in %q", line, got)
			}
		}
	})
}
