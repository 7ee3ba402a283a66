package fit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Verdict is one line of `relayguard check --json` output (DESIGN.md):
// {"file":"...","score":12.5,"action":"reject","symbols":[{"name":...,"score":...,"detail":...}]}
type Verdict struct {
	File    string   `json:"file"`
	Score   *float64 `json:"score"`
	Action  string   `json:"action"`
	Symbols []Symbol `json:"symbols"`
}

// Symbol is one symbol of a Verdict.
type Symbol struct {
	Name   string  `json:"name"`
	Score  float64 `json:"score"`
	Detail string  `json:"detail,omitempty"`
}

// ReadVerdicts reads check --json output, one object per line; blank lines
// are skipped. An error names source and the line: "ham.json:17: ...".
func ReadVerdicts(r io.Reader, source string) ([]Verdict, error) {
	var out []Verdict
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var v Verdict
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			return nil, fmt.Errorf("%s:%d: not a check --json line: %w", source, n, err)
		}
		if v.Score == nil {
			return nil, fmt.Errorf("%s:%d: no \"score\" (want check --json output)", source, n)
		}
		for i, s := range v.Symbols {
			if s.Name == "" {
				return nil, fmt.Errorf("%s:%d: symbol %d has no name", source, n, i+1)
			}
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", source, n+1, err)
	}
	return out, nil
}

// Examples turns verdicts into labelled examples of one set (an era).
func Examples(vs []Verdict, set string, spam bool) []Example {
	out := make([]Example, 0, len(vs))
	for _, v := range vs {
		e := Example{Set: set, Spam: spam, Score: *v.Score}
		for _, s := range v.Symbols {
			e.Symbols = append(e.Symbols, s.Name)
		}
		out = append(out, e)
	}
	return out
}

// HandScores are the scores the symbols had in the verdicts: per symbol,
// the value of largest magnitude seen (a phrase rule scores up to its
// score, so its hits vary). They give each rule's sign for the sign
// constraint and the score of a pinned rule that no file pins.
func HandScores(vs []Verdict) map[string]float64 {
	h := map[string]float64{}
	for _, v := range vs {
		for _, s := range v.Symbols {
			if old, ok := h[s.Name]; !ok || abs(s.Score) > abs(old) {
				h[s.Name] = s.Score
			}
		}
	}
	return h
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
