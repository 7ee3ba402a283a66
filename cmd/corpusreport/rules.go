package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"relayguard/rules"
	"relayguard/rules/message"
)

// scoredMessage is one message's content score and the rules that fired.
type scoredMessage struct {
	file  string
	score float64
	hits  []rules.Hit
}

// ruleReport scores the HAM and SPAM folders with the content rules alone
// (built-in, then ruleFiles), in-process, and prints each rule's hit rate
// in each folder, then the top highest-scoring ham with what fired: the
// figures to tune scores and phrase lists by. Floors on the totals are
// asserted by the rules package's TestCorpusAccuracy.
func ruleReport(w io.Writer, o options, hamDir, spamDir string) error {
	top := o.top
	rs, err := rules.Load(o.ruleFiles, rules.Options{})
	if err != nil {
		return err
	}
	ham, err := scoreWithRules(rs, hamDir)
	if err != nil {
		return err
	}
	spam, err := scoreWithRules(rs, spamDir)
	if err != nil {
		return err
	}
	if len(ham) == 0 || len(spam) == 0 {
		return fmt.Errorf("%d ham and %d spam messages: need both", len(ham), len(spam))
	}
	hc, sc := hitCounts(ham), hitCounts(spam)
	summarize(scoresOf(ham), scoresOf(spam), o.addHeader, o.reject).print(w, fmt.Sprintf("content rules (%s, %s)", hamDir, spamDir))
	fmt.Fprintf(w, "\nper rule, on %d ham (%s), %d spam (%s)\n", len(ham), hamDir, len(spam), spamDir)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "RULE\tSCORE\tHAM\tSPAM\t")
	for _, r := range rs.Rules() {
		if hc[r.Name] == 0 && sc[r.Name] == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f%%\t%.1f%%\t\n", r.Name, r.Score, pct(hc[r.Name], len(ham)), pct(sc[r.Name], len(spam)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	sort.SliceStable(ham, func(i, j int) bool { return ham[i].score > ham[j].score })
	if top > len(ham) {
		top = len(ham)
	}
	if top > 0 {
		fmt.Fprintf(w, "\nhighest-scoring ham:\n")
	}
	for _, h := range ham[:top] {
		var parts []string
		for _, x := range h.hits {
			parts = append(parts, fmt.Sprintf("%s=%.1f[%s]", x.Name, x.Score, x.Match))
		}
		fmt.Fprintf(w, "%6.1f %s %s\n", h.score, h.file, strings.Join(parts, " "))
	}
	return nil
}

func scoreWithRules(rs *rules.Ruleset, dir string) ([]scoredMessage, error) {
	var out []scoredMessage
	err := eachScored(rs, dir, func(file string, _ *message.Message, hits []rules.Hit) {
		s := scoredMessage{file: filepath.Base(file), hits: hits}
		for _, h := range hits {
			s.score += h.Score
		}
		out = append(out, s)
	})
	return out, err
}

// messageFiles lists the message files of dir in name order: the order a
// message's cross-validation fold is taken from (foldOf), here and in the
// fold lists -write-folds gives to the peer filters.
func messageFiles(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	sort.Strings(files)
	return files, nil
}

// eachScored parses every message file of dir, in name order, runs the
// content rules and the meta rules on it, and hands both to fn.
func eachScored(rs *rules.Ruleset, dir string, fn func(file string, m *message.Message, hits []rules.Hit)) error {
	files, err := messageFiles(dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		m := message.ParseMessage(bytes.NewReader(data), int64(len(data)))
		// A zero arrival time: archived mail is dated against its own
		// newest Received header.
		hits := rs.Evaluate(m, time.Time{})
		names := make([]string, len(hits))
		for i, h := range hits {
			names[i] = h.Name
		}
		fn(f, m, append(hits, rs.EvaluateMeta(m, names)...))
	}
	return nil
}

func scoresOf(set []scoredMessage) []float64 {
	out := make([]float64, len(set))
	for i, s := range set {
		out[i] = s.score
	}
	return out
}

func hitCounts(set []scoredMessage) map[string]int {
	c := map[string]int{}
	for _, s := range set {
		for _, h := range s.hits {
			c[h.Name]++
		}
	}
	return c
}
