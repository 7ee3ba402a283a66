package integration

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSIGHUPReloadsRules: an operator edits a rule file and sends SIGHUP;
// the next message is judged by the new rules, and a broken file keeps the
// running rules instead of taking the filter down.
func TestSIGHUPReloadsRules(t *testing.T) {
	needHarness(t)
	t.Parallel()
	dir := testDir(t, "reload")
	maildir := filepath.Join(dir, "Maildir")
	rule := func(score string) string {
		return "[[rule]]\nname = \"LOCAL_MAGIC\"\nkind = \"body\"\npattern = '(?i)\\bmagicword\\b'\nscore = " + score +
			"\ndescription = \"the operator's test phrase\"\n"
	}
	rules := writeFile(t, dir, "local.toml", rule("1.0"), 0o644)
	cfg := inboundConfig(t, "maildir:"+maildir).set("rules", "files", []string{rules})
	rg := startRelayguard(t, cfg)
	send := func() transcript {
		return runSwaks(t, rg.Addr, "--from", "alice@client.test", "--to", "bob@example.com",
			"--body", "Here is the magicword you asked for.")
	}

	send().expect(t, "C: .", "S: 250 ")

	writeFile(t, dir, "local.toml", rule("20.0"), 0o644)
	reloads := strings.Count(rg.Log(), "reloaded")
	rg.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, startTimeout, "the reload", func() bool { return strings.Count(rg.Log(), "reloaded") > reloads })
	send().expect(t, "C: .", "S: 554-5.7.1 Message rejected as spam: score 20.0", "S: 554-5.7.1 the operator's test phrase")

	writeFile(t, dir, "local.toml", rule("20.0")+"\n[[rule]]\nname = \"BROKEN\"\nkind = \"body\"\npattern = '(?<=x)y'\nscore = 1.0\ndescription = \"Perl-only lookbehind\"\n", 0o644)
	rg.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, startTimeout, "the failed reload", func() bool { return strings.Contains(rg.Log(), "reload failed, keeping the running rules") })
	if !strings.Contains(rg.Log(), "local.toml:") {
		t.Errorf("the reload error does not name the file and line:\n%s", rg.Log())
	}
	send().expect(t, "C: .", "S: 554-5.7.1 Message rejected as spam: score 20.0", "S: 554-5.7.1 the operator's test phrase")
	if n := len(maildirMessages(t, maildir)); n != 1 {
		t.Errorf("%d messages delivered, want only the first", n)
	}
}
