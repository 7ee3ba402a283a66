package message

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"relayguard/internal/cputime"
)

// BenchmarkParseContent is the content parse alone (MIME walk, decoding,
// HTML to visible text, links) on issue 12's 5 KB multipart/alternative
// message (a copy of rules/testdata/mime-5k.eml): its budget is 40 µs.
func BenchmarkParseContent(b *testing.B) {
	data, err := os.ReadFile("testdata/mime-5k.eml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := cputime.Process()
	for i := 0; i < b.N; i++ {
		parseOnce(data)
	}
	reportCPU(b, start)
}

// BenchmarkParseContentCorpus is the same parse over every 10th message
// of each folder of the shared corpus, one sub-benchmark per era; skipped
// without the corpus (RELAYGUARD_CORPUS names it).
func BenchmarkParseContentCorpus(b *testing.B) {
	dir := os.Getenv("RELAYGUARD_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("no corpus at %s (set RELAYGUARD_CORPUS)", dir)
	}
	for _, era := range []struct{ name, ham, spam string }{
		{"2002", "ham", "spam"},
		{"modern", "modern/ham", "modern/spam"},
	} {
		var msgs [][]byte
		var size int64
		for _, sub := range []string{era.ham, era.spam} {
			files, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
			for i := 0; i < len(files); i += 10 {
				data, err := os.ReadFile(files[i])
				if err != nil {
					b.Fatal(err)
				}
				msgs = append(msgs, data)
				size += int64(len(data))
			}
		}
		if len(msgs) == 0 {
			b.Skipf("no messages under %s", dir)
		}
		b.Run(era.name, func(b *testing.B) {
			b.SetBytes(size / int64(len(msgs)))
			b.ReportAllocs()
			start := cputime.Process()
			for i := 0; i < b.N; i++ {
				parseOnce(msgs[i%len(msgs)])
			}
			reportCPU(b, start)
		})
	}
}

// parseOnce reads the header and then the content, as the first body
// check does.
func parseOnce(data []byte) *content {
	m := ParseMessage(bytes.NewReader(data), int64(len(data)))
	return m.content()
}

// reportCPU adds the CPU time per op since start as the metric cpu-ns/op.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cputime.Process()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkCollapseSpace is the last step of an HTML part's text: the
// visible text of the 5 KB message's HTML part, before it was collapsed.
func BenchmarkCollapseSpace(b *testing.B) {
	data, err := os.ReadFile("testdata/mime-5k.eml")
	if err != nil {
		b.Fatal(err)
	}
	var links linkSet
	r := parseHTML(string(data[bytes.Index(data, []byte("<!DOCTYPE")):]), &links)
	// Collapsed text with its blanks and breaks put back, as the
	// tokenizer hands them over.
	s := []byte(strings.NewReplacer(" ", "  \t", "\n", " \r\n\n ").Replace(r.visible))
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		collapseSpace(s)
	}
}

// BenchmarkQPReader decodes the 5 KB message's body (both parts
// quoted-printable) through one reused reader, as the walk does.
func BenchmarkQPReader(b *testing.B) {
	data, err := os.ReadFile("testdata/mime-5k.eml")
	if err != nil {
		b.Fatal(err)
	}
	body := data[bytes.Index(data, []byte("\n\n"))+2:]
	q, out := newQPReader(), make([]byte, 16<<10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		q.reset(bytes.NewReader(body))
		for {
			if _, err := q.Read(out); err != nil {
				break
			}
		}
	}
}
