package bounce

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzExplain: any input is explained without a panic, and what comes
// back is well-formed: valid UTF-8 text, known categories, advice for
// every failure, at most maxFailures failures.
func FuzzExplain(f *testing.F) {
	files, _ := filepath.Glob("testdata/samples/*")
	for _, p := range files {
		if raw, err := os.ReadFile(p); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte("550-5.7.1 a\n550-"))
	f.Add([]byte("Final-Recipient: rfc822;\nStatus: 5.\n"))
	f.Add([]byte("Content-Type: multipart/report; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rep := Explain(raw)
		if rep.Found != (len(rep.Failures) > 0) {
			t.Fatalf("found %v with %d failures", rep.Found, len(rep.Failures))
		}
		if len(rep.Failures) > maxFailures {
			t.Fatalf("%d failures", len(rep.Failures))
		}
		for _, fl := range rep.Failures {
			if fl.Category == "" || fl.Advice == "" {
				t.Fatalf("failure without category or advice: %+v", fl)
			}
			if !utf8.ValidString(fl.Text) {
				t.Fatalf("invalid UTF-8 text %q", fl.Text)
			}
			if fl.Code != 0 && (fl.Code < 200 || fl.Code > 599) {
				t.Fatalf("code %d", fl.Code)
			}
		}
	})
}
