package rules

import (
	"strings"
	"testing"

	"relayguard/rules/message"
)

// parse reads a test message written with LF line ends.
func parse(raw string) *message.Message {
	return message.ParseMessage(strings.NewReader(raw), int64(len(raw)))
}

// hitNames lists the names of the rules that fired.
func hitNames(hits map[string]Hit) []string {
	var out []string
	for n := range hits {
		out = append(out, n)
	}
	return out
}

// checkHits holds a message's hits to a table case: the rules in fire
// fired, those in silent did not, and each rule in match quoted text
// containing the given string.
func checkHits(t *testing.T, hits map[string]Hit, fire, silent []string, match map[string]string) {
	t.Helper()
	for _, n := range fire {
		if _, ok := hits[n]; !ok {
			t.Errorf("%s did not fire; hits: %v", n, hitNames(hits))
		}
	}
	for _, n := range silent {
		if h, ok := hits[n]; ok {
			t.Errorf("%s fired (%q); it should not", n, h.Match)
		}
	}
	for n, want := range match {
		if h := hits[n]; !strings.Contains(h.Match, want) {
			t.Errorf("%s matched %q, want it to contain %q", n, h.Match, want)
		}
	}
}
