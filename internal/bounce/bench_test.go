package bounce

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkExplainWorstCase: a MaxInput input packed with replies and
// address lines, the most work an input can ask for.
func BenchmarkExplainWorstCase(b *testing.B) {
	line := []byte("a@b.example\n550-5.7.1 x\n")
	raw := bytes.Repeat(line, MaxInput/len(line))
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Explain(raw)
	}
}

// BenchmarkExplainSample: a typical bounce (Exim, one recipient).
func BenchmarkExplainSample(b *testing.B) {
	raw, err := os.ReadFile("testdata/samples/exim-spamcop.txt")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		Explain(raw)
	}
}
