package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// perfBase is the configuration scripts/perf.sh writes for relayguard (its
// heredocs into relayguard.toml), with the shell variables filled in.
func perfBase(t *testing.T) string {
	script, err := os.ReadFile("../scripts/perf.sh")
	if err != nil {
		t.Fatal(err)
	}
	var base strings.Builder
	in := false
	for line := range strings.Lines(string(script)) {
		switch {
		case strings.Contains(line, `"$work/relayguard.toml" <<EOF`):
			in = true
		case in && line == "EOF\n":
			in = false
		case in:
			base.WriteString(line)
		}
	}
	if base.Len() == 0 {
		t.Fatal("no relayguard.toml heredoc found in scripts/perf.sh")
	}
	vars := map[string]string{"HOST": "127.0.0.1", "RG_PORT": "2525", "SINK_PORT": "2526",
		"METRICS_PORT": "2529", "DNS_PORT": "2553", "work": t.TempDir()}
	return regexp.MustCompile(`\$([A-Za-z_]+)`).ReplaceAllStringFunc(base.String(), func(v string) string {
		val, ok := vars[v[1:]]
		if !ok {
			t.Fatalf("scripts/perf.sh's configuration uses %s, unknown to this test", v)
		}
		return val
	})
}

// TestPerfFragmentsFitPerfBase: every PERF_COMPARE fragment shipped in
// scripts/ makes a valid configuration appended to perf.sh's own, as the
// script appends it (a table both define is a TOML error, and perf.sh
// stops on it).
func TestPerfFragmentsFitPerfBase(t *testing.T) {
	base := perfBase(t)
	if _, err := Parse([]byte(base), "perf.sh"); err != nil {
		t.Fatalf("perf.sh's own configuration: %v", err)
	}
	fragments, err := filepath.Glob("../scripts/perf-*.toml")
	if err != nil || len(fragments) == 0 {
		t.Fatalf("no scripts/perf-*.toml fragments (%v)", err)
	}
	for _, f := range fragments {
		frag, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		whole := base + strings.ReplaceAll(string(frag), "@WORK@", t.TempDir())
		if _, err := Parse([]byte(whole), filepath.Base(f)); err != nil {
			t.Errorf("perf.sh's configuration + %s: %v", filepath.Base(f), err)
		}
	}
}
