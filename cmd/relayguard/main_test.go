package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"relayguard/config"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestCommands(t *testing.T) {
	if code, out, _ := runCmd("version"); code != 0 || !strings.HasPrefix(out, "relayguard ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, errOut := runCmd("frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
	if code, out, _ := runCmd("config", "default"); code != 0 || out != string(config.Default()) {
		t.Errorf("config default: %d, output differs from the embedded default", code)
	}
	if code, _, errOut := runCmd(); code != 2 || !strings.Contains(errOut, "relayguard serve -config FILE") {
		t.Errorf("no args: %d %q", code, errOut)
	}
}

func TestConfigCheckNamesTheLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(p, []byte("[scoring]\nreject = 3.0\n"), 0o644)
	code, _, errOut := runCmd("config", "check", p)
	if code != 1 || !strings.Contains(errOut, "bad.toml:2: scoring.reject") {
		t.Errorf("config check: %d %q", code, errOut)
	}
}

// TestCheckJSONContract holds `check --json` to the one-line-per-message
// contract of DESIGN.md.
func TestCheckJSONContract(t *testing.T) {
	code, out, errOut := runCmd("check", "--json", "--local", "testdata")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want one per message:\n%s", len(lines), out)
	}
	byFile := map[string]checkJSON{}
	for _, l := range lines {
		var r checkJSON
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		byFile[filepath.Base(r.File)] = r
	}
	g := byFile["gtube.eml"]
	if g.Action != "reject" || g.Score < 1000 || len(g.Symbols) == 0 || g.Symbols[0].Name != "GTUBE" {
		t.Errorf("gtube: %+v", g)
	}
	if h := byFile["ham.eml"]; h.Action != "accept" || h.Score >= 6 {
		t.Errorf("ham: %+v", h)
	}
}

func TestCheckReportReadsLikeSpamAssassin(t *testing.T) {
	code, out, _ := runCmd("check", "--local", "testdata/gtube.eml")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"testdata/gtube.eml", "(add_header 6.0, reject 15.0): reject", "1000.0  GTUBE", "GTUBE anti-spam test string"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if code, _, _ := runCmd("check", "--local", "testdata/missing.eml"); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
}
