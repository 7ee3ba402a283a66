package rules

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"relayguard/rules/message"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden runs the default rules on a few messages from the SpamAssassin
// public corpus (testdata/corpus) and compares what fired, with scores and
// matched text, to testdata/golden. After an intended change to the rules,
// review and refresh with: go test ./rules -run TestGolden -update
func TestGolden(t *testing.T) {
	rs := defaultRuleset(t)
	files, err := filepath.Glob("testdata/corpus/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden messages: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := goldenReport(rs, data)
			golden := filepath.Join("testdata/golden", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s changed:\n--- want\n%s--- got\n%s", name, want, got)
			}
		})
	}
}

// goldenReport is the stable text of one evaluation: total, then one line
// per hit in rule order. Time does not enter: the date rules judge against
// the message's own Received header, as for archived mail.
func goldenReport(rs *Ruleset, data []byte) string {
	m := message.ParseMessage(bytes.NewReader(data), int64(len(data)))
	hits := rs.Evaluate(m, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	var names []string
	for _, h := range hits {
		names = append(names, h.Name)
	}
	hits = append(hits, rs.EvaluateMeta(m, names)...)
	var b strings.Builder
	var total float64
	for _, h := range hits {
		total += h.Score
	}
	fmt.Fprintf(&b, "score %.1f\n", total)
	for _, h := range hits {
		fmt.Fprintf(&b, "%-24s %5.2f %q\n", h.Name, h.Score, h.Match)
	}
	return b.String()
}

// TestLineEndingsDoNotChangeTheVerdict: a message read from a file (LF)
// and the same message received over SMTP (CRLF) fire the same rules on
// the same text, so what `relayguard check` says is what the proxy does.
func TestLineEndingsDoNotChangeTheVerdict(t *testing.T) {
	rs := defaultRuleset(t)
	files, _ := filepath.Glob("testdata/corpus/*.eml")
	if len(files) == 0 {
		t.Fatal("no golden messages")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lf := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
		if a, b := goldenReport(rs, lf), goldenReport(rs, crlf); a != b {
			t.Errorf("%s: LF and CRLF differ:\n--- LF\n%s--- CRLF\n%s", filepath.Base(f), a, b)
		}
	}

	// A body rule matches within one paragraph, whatever the line ends.
	file := filepath.Join(t.TempDir(), "local.toml")
	os.WriteFile(file, []byte(`[[rule]]
name = "LOCAL_SPAN"
kind = "body"
pattern = '(?s)alpha.*omega'
score = 1.0
description = "alpha then omega in one paragraph"
`), 0o644)
	local, err := Load([]string{file}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, eol := range []string{"\n", "\r\n"} {
		msg := strings.ReplaceAll("Subject: test\n\nalpha here\n\nand omega there\n", "\n", eol)
		if r := goldenReport(local, []byte(msg)); strings.Contains(r, "LOCAL_SPAN") {
			t.Errorf("line ends %q: a body rule matched across paragraphs:\n%s", eol, r)
		}
	}
}
