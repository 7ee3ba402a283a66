package rules

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"relayguard/rules/fit"
	"relayguard/rules/message"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The thresholds of the default configuration (config: scoring.add_header
// and scoring.reject); rules may not import config, so they are repeated.
const (
	corpusAddHeader = 6.0
	corpusReject    = 15.0
)

// corpusDir is the shared mail corpus (its README describes it), next to
// the repository as ../shared/corpus; RELAYGUARD_CORPUS names another.
func corpusDir() string {
	if d := os.Getenv("RELAYGUARD_CORPUS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "corpus")
}

// TestCorpusAccuracy holds the content rules alone (no DNS, no DKIM, as
// `relayguard check --local` without the other checks) to floors on real
// mail of both eras: the share of spam reaching add_header, and ceilings
// on the ham reaching add_header and reject. The floors sit a margin
// below what the rules measured when they were set (see each era), so a
// rule change that costs one era detection or false positives fails here
// even when it helps the other.
//
// The corpus is not in the repository: on a clone without it the test is
// skipped. The per-rule figures are a report: go run ./cmd/corpusreport -rules.
func TestCorpusAccuracy(t *testing.T) {
	dir := corpusDir()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("no corpus at %s (set RELAYGUARD_CORPUS to measure)", dir)
	}
	if testing.Short() {
		t.Skip("scores a few thousand messages; skipped in -short")
	}
	rs := defaultRuleset(t)
	eras := []struct {
		name, ham, spam string
		// measured with the fitted default scores (spam at add_header /
		// ham at add_header / ham at reject), 2026-11-27:
		// 2002: 62.4% / 0.18% / 0%; 2019-2024: 71.9% / 0.08% / 0%.
		minDetected    float64 // percent of spam at or above add_header
		maxFPAddHeader float64 // percent of ham at or above add_header
		maxFPReject    float64 // percent of ham at or above reject
	}{
		{name: "2002", ham: "ham", spam: "spam", minDetected: 56, maxFPAddHeader: 0.5, maxFPReject: 0.1},
		{name: "2019-2024", ham: "modern/ham", spam: "modern/spam", minDetected: 66, maxFPAddHeader: 0.3, maxFPReject: 0.1},
	}
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			ham := scoreFolder(t, rs, filepath.Join(dir, era.ham))
			spam := scoreFolder(t, rs, filepath.Join(dir, era.spam))
			// Measured as `rules fit` and corpusreport measure it.
			a := fit.Measure(era.name, ham, spam, corpusAddHeader, corpusReject)
			detected, fpAdd, fpReject := a.AtAdd.Caught, a.AtAdd.FP, a.AtReject.FP
			t.Logf("%d ham, %d spam: spam at add_header %.1f%%, ham at add_header %.2f%%, ham at reject %.2f%%",
				len(ham), len(spam), detected, fpAdd, fpReject)
			if detected < era.minDetected {
				t.Errorf("spam at add_header (>= %g): %.1f%%, below the floor of %g%%", corpusAddHeader, detected, era.minDetected)
			}
			if fpAdd > era.maxFPAddHeader {
				t.Errorf("ham at add_header (>= %g): %.2f%%, above the ceiling of %g%%", corpusAddHeader, fpAdd, era.maxFPAddHeader)
			}
			if fpReject > era.maxFPReject {
				t.Errorf("ham at reject (>= %g): %.2f%%, above the ceiling of %g%%", corpusReject, fpReject, era.maxFPReject)
			}
		})
	}
}

// scoreFolder is each message's content score (rules and metas) in dir.
// A corpus that is there but empty or unreadable fails: only a missing
// corpus is a reason to skip.
func scoreFolder(t *testing.T, rs *Ruleset, dir string) []float64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("%s: no messages", dir)
	}
	// Scored on every core at once: faster, and concurrent evaluation of
	// one rule set is what the proxy does.
	scores := make([]float64, len(files))
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				scores[i], errs[i] = scoreFile(rs, files[i])
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return scores
}

func scoreFile(rs *Ruleset, file string) (float64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	m := message.ParseMessage(bytes.NewReader(data), int64(len(data)))
	// A zero arrival time: the date rules judge archived mail against its
	// own newest Received header.
	hits := rs.Evaluate(m, time.Time{})
	names := make([]string, len(hits))
	for i, h := range hits {
		names[i] = h.Name
	}
	var s float64
	for _, h := range append(hits, rs.EvaluateMeta(m, names)...) {
		s += h.Score
	}
	return s, nil
}
