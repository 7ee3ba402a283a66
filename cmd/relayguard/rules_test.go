package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"relayguard/rules"
)

// runRulesCmd runs `relayguard rules ARGS...` through the real dispatch.
func runRulesCmd(args ...string) (code int, stdout, stderr string) {
	return runCmd(append([]string{"rules"}, args...)...)
}

func TestRulesDefault(t *testing.T) {
	code, out, _ := runRulesCmd("default")
	if code != 0 || out != string(rules.DefaultRules()) {
		t.Fatalf("code %d, %d bytes out", code, len(out))
	}
	// What it prints is a rule file that lints clean.
	p := filepath.Join(t.TempDir(), "copy.toml")
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runRulesCmd("lint", p); code != 0 {
		t.Errorf("lint of the default file: %d\n%s%s", code, out, errs)
	}
}

func TestRulesList(t *testing.T) {
	p := filepath.Join(t.TempDir(), "local.toml")
	os.WriteFile(p, []byte("[[rule]]\nname = \"LOCAL_X\"\nkind = \"body\"\npattern = 'x'\nscore = 1.25\ndescription = \"Local x\"\n[scores]\nHTML_ONLY = 0\n"), 0o644)
	code, out, errs := runRulesCmd("list", p)
	if code != 0 {
		t.Fatalf("code %d: %s", code, errs)
	}
	for _, want := range []string{"NAME", "LOCAL_X", "1.25", "Local x", "URI_IP_LITERAL"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "HTML_ONLY ") && !strings.Contains(line, " off ") {
			t.Errorf("disabled rule shown as %q", line)
		}
	}
}

func TestRulesLint(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\ndescription = \"d\"\npattern = '(?<=a)b'\n"), 0o644)
	code, out, _ := runRulesCmd("lint", bad)
	if code != 1 || !strings.Contains(out, bad+":6: rule X: lookbehind") || !strings.Contains(out, "RE2") {
		t.Errorf("lint bad: code %d, out %q", code, out)
	}
	warn := filepath.Join(dir, "warn.toml")
	os.WriteFile(warn, []byte("[[rule]]\nname = \"M\"\nkind = \"meta\"\nexpr = 'HTML_ONLY && NOT_A_RULE'\nscore = 1\ndescription = \"d\"\n"), 0o644)
	code, out, _ = runRulesCmd("lint", warn)
	if code != 0 || !strings.Contains(out, "warning") {
		t.Errorf("lint warn: code %d, out %q", code, out)
	}
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("[scores]\nURI_MANY = 0\n"), 0o644)
	if code, out, _ = runRulesCmd("lint", good); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("lint good: code %d, out %q", code, out)
	}
}

func TestRulesUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}, {"lint"}, {"default", "extra"}} {
		if code, _, _ := runRulesCmd(args...); code != 2 {
			t.Errorf("%v: code %d, want 2", args, code)
		}
	}
	code, out, _ := runRulesCmd("-h")
	if code != 0 || !strings.Contains(out, "rules lint FILE") || !strings.Contains(out, "RE2") {
		t.Errorf("-h: %d %q", code, out)
	}
	// Help for a subcommand is an answer too: stdout, exit 0.
	if code, out, _ := runRulesCmd("list", "-h"); code != 0 || !strings.Contains(out, "-config") {
		t.Errorf("list -h: %d %q", code, out)
	}
}

func TestRulesLintKnowsSenderSymbols(t *testing.T) {
	meta := func(name string) string {
		p := filepath.Join(t.TempDir(), "meta.toml")
		os.WriteFile(p, []byte("[[rule]]\nname = \"LOCAL_META\"\nkind = \"meta\"\nexpr = \"URI_MANY && !"+name+"\"\nscore = 1.0\ndescription = \"many links, no signature\"\n"), 0o644)
		return p
	}
	if code, out, _ := runRulesCmd("lint", meta("DKIM_VALID")); code != 0 || strings.Contains(out, "warning") {
		t.Errorf("a meta naming DKIM_VALID: %d %q", code, out)
	}
	if code, out, _ := runRulesCmd("lint", meta("DKIM_VALIDD")); code != 0 || !strings.Contains(out, "warning: meta rule LOCAL_META names DKIM_VALIDD") {
		t.Errorf("a meta naming a typo: %d %q", code, out)
	}
}

// A meta rule may name any symbol a sender check emits, the zero-score
// _TEMPFAIL ones and the RCVD_ variants on a forwarded message's hop too,
// without a typo warning.
func TestSenderSymbolsCoverWhatChecksEmit(t *testing.T) {
	known := senderSymbols()
	for _, name := range []string{"GTUBE", "SPF_FAIL", "DMARC_REJECT", "RDNS_NONE", "RDNS_TEMPFAIL",
		"HELO_TEMPFAIL", "RCVD_RDNS_NONE", "RCVD_HELO_NOT_FQDN", "RCVD_RDNS_TEMPFAIL"} {
		if !slices.Contains(known, name) {
			t.Errorf("%s is emitted by a sender check but unknown to rule loading", name)
		}
	}
}

// fitLines writes check --json lines: n messages with syms, then m without.
func fitLines(n int, syms string, m int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "{\"file\":\"f%d\",\"score\":3,\"action\":\"accept\",\"symbols\":[%s]}\n", i, syms)
	}
	for i := 0; i < m; i++ {
		fmt.Fprintf(&b, "{\"file\":\"g%d\",\"score\":0,\"action\":\"accept\",\"symbols\":[]}\n", i)
	}
	return b.String()
}

func TestRulesFitPrintsALintableScoresTable(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sym := func(n string, s float64) string { return fmt.Sprintf("{\"name\":%q,\"score\":%g}", n, s) }
	ham := write("ham.json", fitLines(20, sym("HTML_ONLY", 1.5), 380)+fitLines(5, sym("PHRASE_FREE", 1), 0))
	spam := write("spam.json", fitLines(150, sym("URI_IP_LITERAL", 2.5)+","+sym("HTML_ONLY", 1.5), 40)+
		fitLines(3, sym("GTUBE", 1000), 0)+fitLines(7, sym("PHRASE_FREE", 1), 0))
	code, out, errs := runRulesCmd("fit", "-ham", "a="+ham, "-spam", "a="+spam, "-ham", ham, "-spam", spam)
	if code != 0 {
		t.Fatalf("code %d: %s", code, errs)
	}
	for _, want := range []string{"[scores]\nHTML_ONLY = ", "\nPHRASE_FREE = ", "\nURI_IP_LITERAL = ", "# GTUBE = 1000.0", "Pinned, not refitted: GTUBE", "a          fitted", "set2       before"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	p := write("fitted.toml", out)
	if code, lout, lerr := runRulesCmd("lint", p); code != 0 {
		t.Errorf("lint of the fitted file: %d\n%s%s", code, lout, lerr)
	}

	bad := write("bad.json", fitLines(2, "", 0)+"{\"file\":\"x\",\"score\":\n")
	code, _, errs = runRulesCmd("fit", "-ham", bad, "-spam", spam)
	if code != 1 || !strings.Contains(errs, "bad.json:3: not a check --json line") {
		t.Errorf("malformed input: code %d, stderr %q", code, errs)
	}
	if code, _, _ = runRulesCmd("fit", "-ham", ham); code != 2 {
		t.Errorf("no -spam: code %d, want 2", code)
	}
}
