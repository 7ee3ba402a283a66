package rules

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestCorpusAccuracy scores a ham and a spam folder with the content rules
// alone, as `relayguard check --local` would, and prints the detection
// table and each rule's hits. It runs only when RELAYGUARD_CORPUS names a
// folder holding ham/ and spam/ (e.g. ../shared/corpus); set
// RELAYGUARD_CORPUS_RULES=1 for the per-rule table.
func TestCorpusAccuracy(t *testing.T) {
	dir := os.Getenv("RELAYGUARD_CORPUS")
	if dir == "" {
		t.Skip("RELAYGUARD_CORPUS not set")
	}
	rs, err := Load(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type scored struct {
		file  string
		score float64
		hits  []Hit
	}
	run := func(sub string) []scored {
		files, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
		sort.Strings(files)
		var out []scored
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m := ParseMessage(bytes.NewReader(data), int64(len(data)))
			hits := rs.Evaluate(m, time.Time{})
			var names []string
			for _, h := range hits {
				names = append(names, h.Name)
			}
			hits = append(hits, rs.EvaluateMeta(m, names)...)
			var s float64
			for _, h := range hits {
				s += h.Score
			}
			out = append(out, scored{filepath.Base(f), s, hits})
		}
		return out
	}
	start := time.Now()
	ham, spam := run("ham"), run("spam")
	elapsed := time.Since(start)
	if out := os.Getenv("RELAYGUARD_CORPUS_DUMP"); out != "" {
		// One line per message: set, file, then name=score for each hit.
		var b strings.Builder
		for set, list := range map[string][]scored{"ham": ham, "spam": spam} {
			for _, s := range list {
				fmt.Fprintf(&b, "%s %s", set, s.file)
				for _, h := range s.hits {
					fmt.Fprintf(&b, " %s=%g", h.Name, h.Score)
				}
				b.WriteByte('\n')
			}
		}
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rate := func(set []scored, th float64) float64 {
		n := 0
		for _, s := range set {
			if s.score >= th {
				n++
			}
		}
		return float64(n) * 100 / float64(len(set))
	}
	t.Logf("%d ham, %d spam in %v (%.0f msg/s)", len(ham), len(spam), elapsed, float64(len(ham)+len(spam))/elapsed.Seconds())
	for _, th := range []float64{4, 5, 6, 8, 10, 15} {
		t.Logf("threshold %4.1f: spam %5.1f%%  ham %5.2f%%", th, rate(spam, th), rate(ham, th))
	}
	hs := make([]float64, len(ham))
	for i, h := range ham {
		hs[i] = h.score
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(hs)))
	for _, fp := range []float64{0.001, 0.01} {
		k := int(fp * float64(len(ham))) // ham allowed at or above the threshold
		th := hs[k] + 0.001
		t.Logf("FP<=%.1f%%: threshold %.2f catches %.1f%% spam", fp*100, th, rate(spam, th))
	}
	if os.Getenv("RELAYGUARD_CORPUS_RULES") != "" {
		count := func(set []scored) map[string]int {
			c := map[string]int{}
			for _, s := range set {
				for _, h := range s.hits {
					c[h.Name]++
				}
			}
			return c
		}
		hc, sc := count(ham), count(spam)
		var names []string
		for _, r := range rs.Rules() {
			names = append(names, r.Name)
		}
		var b strings.Builder
		for _, n := range names {
			fmt.Fprintf(&b, "%-26s ham %5.2f%% spam %5.1f%%\n", n, float64(hc[n])*100/float64(len(ham)), float64(sc[n])*100/float64(len(spam)))
		}
		t.Log("\n" + b.String())
		sort.Slice(ham, func(i, j int) bool { return ham[i].score > ham[j].score })
		for _, h := range ham[:30] {
			var ns []string
			for _, x := range h.hits {
				ns = append(ns, fmt.Sprintf("%s=%.1f[%s]", x.Name, x.Score, x.Match))
			}
			t.Logf("ham %s %.1f %s", h.file, h.score, strings.Join(ns, " "))
		}
	}
}

// TestCorpusMissed prints the spam that scores lowest, for looking at by
// hand. RELAYGUARD_CORPUS as for TestCorpusAccuracy.
func TestCorpusMissed(t *testing.T) {
	dir := os.Getenv("RELAYGUARD_CORPUS_MISSED")
	if dir == "" {
		t.Skip("RELAYGUARD_CORPUS_MISSED not set")
	}
	rs, err := Load(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	sort.Strings(files)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		m := ParseMessage(bytes.NewReader(data), int64(len(data)))
		hits := rs.Evaluate(m, time.Time{})
		var s float64
		var ns []string
		for _, h := range hits {
			s += h.Score
			ns = append(ns, fmt.Sprintf("%s=%.1f", h.Name, h.Score))
		}
		if s < 4 {
			t.Logf("%s %.1f %s | %s", filepath.Base(f), s, strings.Join(ns, " "), m.HeaderText("Subject"))
		}
	}
}

// TestCorpusPhrases prints how often each phrase occurs in ham and spam,
// to judge phrase weights. RELAYGUARD_CORPUS as for TestCorpusAccuracy,
// plus RELAYGUARD_CORPUS_PHRASES=1.
func TestCorpusPhrases(t *testing.T) {
	dir := os.Getenv("RELAYGUARD_CORPUS")
	if dir == "" || os.Getenv("RELAYGUARD_CORPUS_PHRASES") == "" {
		t.Skip("RELAYGUARD_CORPUS or RELAYGUARD_CORPUS_PHRASES not set")
	}
	rs, err := Load(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := rs.cur.Load()
	pats := make([]string, len(c.phraseOwners))
	counts := map[string][]int{}
	for _, set := range []string{"ham", "spam"} {
		files, _ := filepath.Glob(filepath.Join(dir, set, "*"))
		for _, f := range files {
			data, _ := os.ReadFile(f)
			m := ParseMessage(bytes.NewReader(data), int64(len(data)))
			e := &evalCtx{m: m, c: c}
			words, _ := normaliseWords(e.bodyText(), false)
			seen := map[int]bool{}
			c.phraseAC.scan(words, func(id, end int) bool {
				if !seen[id] {
					seen[id] = true
					k := string(words[end-c.phraseAC.lens[id] : end])
					pats[id] = k
					if counts[k] == nil {
						counts[k] = make([]int, 2)
					}
					if set == "ham" {
						counts[k][0]++
					} else {
						counts[k][1]++
					}
				}
				return true
			})
		}
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return counts[keys[i]][0] > counts[keys[j]][0] })
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%-40q ham %4d spam %4d\n", k, counts[k][0], counts[k][1])
	}
	t.Log("\n" + b.String())
}
