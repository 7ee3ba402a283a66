package rules

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
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
	m := ParseMessage(bytes.NewReader(data), int64(len(data)))
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
