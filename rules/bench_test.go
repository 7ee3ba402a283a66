package rules

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"relayguard/internal/cputime"
	"relayguard/rules/message"
)

func loadGoldenMessages(b testing.TB) [][]byte {
	files, _ := filepath.Glob("testdata/corpus/*.eml")
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// BenchmarkParse: MIME walk, decoding, HTML rendering, links (one message).
func BenchmarkParse(b *testing.B) {
	msgs := loadGoldenMessages(b)
	var n int64
	for _, m := range msgs {
		n += int64(len(m))
	}
	b.SetBytes(n / int64(len(msgs)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data := msgs[i%len(msgs)]
		m := message.ParseMessage(bytes.NewReader(data), int64(len(data)))
		_ = m.VisibleText()
	}
}

// BenchmarkEvaluate: parse plus every default rule, meta included: the
// per-message cost of the content checks.
func BenchmarkEvaluate(b *testing.B) {
	rs := defaultRuleset(b)
	msgs := loadGoldenMessages(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		evaluateOnce(rs, msgs[i%len(msgs)])
	}
}

// BenchmarkNormaliseWords: the phrase normaliser on 100 KB of text.
func BenchmarkNormaliseWords(b *testing.B) {
	text := strings.Repeat("Get cheap v1agra and ｆｒｅｅ m0ney, click h e r e now! ", 2000)
	b.SetBytes(int64(len(text)))
	for i := 0; i < b.N; i++ {
		normaliseWords(text, false)
	}
}

// Benchmark1000Rules100KB is the scaling case: 1,000 operator body
// rules with literal words plus the default set, on a 100 KB message.
func Benchmark1000Rules100KB(b *testing.B) {
	var rf strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&rf, "[[rule]]\nname = \"LOCAL_%d\"\nkind = \"body\"\npattern = '(?i)\\bspamword%dx\\s+offer\\b'\nscore = 0.1\ndescription = \"word %d\"\n\n", i, i, i)
	}
	p := filepath.Join(b.TempDir(), "many.toml")
	if err := os.WriteFile(p, []byte(rf.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	rs, err := Load([]string{p}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	para := "Dear customer, the quarterly report is attached; spamword17x offer details follow. Regards. "
	body := strings.Repeat(para, 100*1024/len(para))
	raw := "From: a@example.org\nSubject: report\n\n" + body
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := message.ParseMessage(strings.NewReader(raw), int64(len(raw)))
		hits := rs.Evaluate(m, time.Time{})
		if len(hits) == 0 {
			b.Fatal("no hits")
		}
	}
}

// evaluateOnce is the content scan as the proxy runs it on one message:
// parse, every default rule, then the meta rules over what fired.
func evaluateOnce(rs *Ruleset, data []byte) {
	evaluateParsed(rs, message.ParseMessage(bytes.NewReader(data), int64(len(data))))
}

// evaluateParsed is evaluateOnce on a message already parsed.
func evaluateParsed(rs *Ruleset, m *message.Message) {
	hits := rs.Evaluate(m, time.Time{})
	names := make([]string, len(hits))
	for j, h := range hits {
		names[j] = h.Name
	}
	rs.EvaluateMeta(m, names)
}

// BenchmarkEvaluateMIME5K is issue 12's content-scan target: the 5 KB
// multipart/alternative message (HTML part, 8 links) that smtpload sends
// (a copy of cmd/smtpload/testdata/mime-5k.eml), ≤ 100 µs per message.
func BenchmarkEvaluateMIME5K(b *testing.B) {
	rs := defaultRuleset(b)
	data, err := os.ReadFile("testdata/mime-5k.eml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	var cpu cpuClock
	b.ReportAllocs()
	b.ResetTimer()
	cpu.start()
	for i := 0; i < b.N; i++ {
		evaluateOnce(rs, data)
	}
	cpu.stop()
	cpu.report(b)
}

// BenchmarkEvaluateCorpus is the content scan over real mail of both eras
// from the shared corpus (every 10th message of each folder, so the run
// stays short), one sub-benchmark per era; skipped without the corpus.
func BenchmarkEvaluateCorpus(b *testing.B) {
	rs := defaultRuleset(b)
	for _, era := range corpusEras(b) {
		msgs, size := era.msgs, era.size
		b.Run(era.name, func(b *testing.B) {
			b.SetBytes(size / int64(len(msgs)))
			var cpu cpuClock
			b.ReportAllocs()
			cpu.start()
			for i := 0; i < b.N; i++ {
				evaluateOnce(rs, msgs[i%len(msgs)])
			}
			cpu.stop()
			cpu.report(b)
		})
	}
}

// corpusEra is every 10th message of one era's ham and spam folders.
type corpusEra struct {
	name string
	msgs [][]byte
	size int64 // bytes of msgs together
}

// corpusEras reads both eras of the shared corpus; the benchmark is
// skipped without it.
func corpusEras(b *testing.B) []corpusEra {
	dir := corpusDir()
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("no corpus at %s (set RELAYGUARD_CORPUS)", dir)
	}
	var eras []corpusEra
	for _, e := range []struct{ name, ham, spam string }{
		{"2002", "ham", "spam"},
		{"modern", "modern/ham", "modern/spam"},
	} {
		era := corpusEra{name: e.name}
		for _, sub := range []string{e.ham, e.spam} {
			files, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
			for i := 0; i < len(files); i += 10 {
				data, err := os.ReadFile(files[i])
				if err != nil {
					b.Fatal(err)
				}
				era.msgs = append(era.msgs, data)
				era.size += int64(len(data))
			}
		}
		if len(era.msgs) == 0 {
			b.Skipf("no messages under %s", dir)
		}
		eras = append(eras, era)
	}
	return eras
}

// BenchmarkEvaluateCorpusParsed is BenchmarkEvaluateCorpus without the
// parsing: each era's messages are parsed and their content walked off the
// clock before every pass over them, so what is timed is rule evaluation
// alone, the part rules/ owns.
func BenchmarkEvaluateCorpusParsed(b *testing.B) {
	rs := defaultRuleset(b)
	for _, era := range corpusEras(b) {
		raw := era.msgs
		b.Run(era.name, func(b *testing.B) {
			msgs := make([]*message.Message, len(raw))
			var cpu cpuClock
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := i % len(raw)
				if k == 0 {
					// A parsed message memoises what rules read: a fresh
					// copy for every pass.
					b.StopTimer()
					cpu.stop()
					for j, data := range raw {
						msgs[j] = parsedAndWalked(data)
					}
					cpu.start()
					b.StartTimer()
				}
				evaluateParsed(rs, msgs[k])
			}
			cpu.stop()
			cpu.report(b)
		})
	}
}

// BenchmarkEvaluateMIME5KParsed is BenchmarkEvaluateMIME5K without the
// parsing: the messages are parsed and their content walked (text, HTML,
// links, From) off the clock, in batches, so what is timed is rule
// evaluation alone, the part rules/ owns (issue 12: ≤ 60 µs).
func BenchmarkEvaluateMIME5KParsed(b *testing.B) {
	rs := defaultRuleset(b)
	data, err := os.ReadFile("testdata/mime-5k.eml")
	if err != nil {
		b.Fatal(err)
	}
	const batch = 256
	msgs := make([]*message.Message, batch)
	var cpu cpuClock
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			cpu.stop()
			for k := range msgs {
				msgs[k] = parsedAndWalked(data)
			}
			cpu.start()
			b.StartTimer()
		}
		evaluateParsed(rs, msgs[i%batch])
	}
	cpu.stop()
	cpu.report(b)
}

// parsedAndWalked parses data and walks its content (text, HTML, links,
// From) as the first rules to read them would, so that evaluating it
// afterwards times the rules alone.
func parsedAndWalked(data []byte) *message.Message {
	m := message.ParseMessage(bytes.NewReader(data), int64(len(data)))
	_, _, _ = m.VisibleText(), m.Links(), m.From()
	return m
}

// cpuClock adds up the process's CPU time (user and system, GC workers
// included) while running: on a machine shared with other work, wall time
// per op swings with the load, CPU time much less.
type cpuClock struct {
	total, since time.Duration
	running      bool
}

func (c *cpuClock) start() { c.since, c.running = cputime.Process(), true }

func (c *cpuClock) stop() {
	if c.running {
		c.total += cputime.Process() - c.since
		c.running = false
	}
}

// report adds the CPU time per op as the metric cpu-ns/op.
func (c *cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(c.total.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// modernWords is the normalised body text of every 10th message of the
// modern corpus, and the text it came from.
func modernWords(b *testing.B) (c *compiled, texts []string, words [][]byte) {
	dir := corpusDir()
	files, _ := filepath.Glob(filepath.Join(dir, "modern", "*", "*"))
	if len(files) == 0 {
		b.Skipf("no corpus at %s (set RELAYGUARD_CORPUS)", dir)
	}
	c = defaultRuleset(b).cur
	for i := 0; i < len(files); i += 10 {
		data, err := os.ReadFile(files[i])
		if err != nil {
			b.Fatal(err)
		}
		m := message.ParseMessage(bytes.NewReader(data), int64(len(data)))
		text := (&evalCtx{m: m, c: c}).bodyText()
		w, _ := normaliseWords(text, false)
		texts, words = append(texts, text), append(words, w)
	}
	return c, texts, words
}

// BenchmarkPhraseScan is the phrase automaton alone over the normalised
// text of the modern corpus, one message per op.
func BenchmarkPhraseScan(b *testing.B) {
	c, _, words := modernWords(b)
	var cpu cpuClock
	b.ResetTimer()
	cpu.start()
	seen := make([]bool, len(c.phrases.pats))
	var hits []phraseOcc
	for i := 0; i < b.N; i++ {
		hits = c.phrases.firsts(words[i%len(words)], hits[:0], seen)
		for _, h := range hits {
			seen[h.id] = false
		}
	}
	cpu.stop()
	cpu.report(b)
}

// BenchmarkNormaliseCorpus is the phrase normaliser, ranges tracked as
// phraseHits asks, over the body text of the modern corpus, one message
// per op.
func BenchmarkNormaliseCorpus(b *testing.B) {
	_, texts, _ := modernWords(b)
	var cpu cpuClock
	b.ReportAllocs()
	b.ResetTimer()
	cpu.start()
	for i := 0; i < b.N; i++ {
		normaliseWords(texts[i%len(texts)], true)
	}
	cpu.stop()
	cpu.report(b)
}
