package integration

import (
	"path/filepath"
	"strings"
	"testing"
)

// magicRule is an operator rule worth 10: between the forwarding class's
// reject threshold (8) and the default one (15).
const magicRule = "[[rule]]\nname = \"LOCAL_MAGIC\"\nkind = \"body\"\npattern = '(?i)\\bmagicword\\b'\nscore = 10.0\ndescription = \"the operator's test phrase\"\n"

// TestPolicySplitWithSwaks: fan@example.com forwards off-site (the
// aliases file sends it to a gmail.test address), so it is in the
// forwarding class (reject at 8); alice is in the default class (reject
// at 15). swaks sends one message to both: alice's RCPT gets 250, fan's
// 452 4.5.3, and only alice's copy is relayed, marked as spam (score 10).
// Sent to fan alone, the same message is refused under the forwarding
// class's threshold.
func TestPolicySplitWithSwaks(t *testing.T) {
	needHarness(t)
	t.Parallel()
	dir := testDir(t, "policy")
	rules := writeFile(t, dir, "local.toml", magicRule, 0o644)
	aliases := writeFile(t, dir, "aliases", "# Exim aliases\npostmaster: alice\nfan: |/usr/bin/archive,\n  someone@gmail.test\n", 0o644)
	maildir := filepath.Join(dir, "Maildir")
	cfg := inboundConfig(t, "maildir:"+maildir).
		set("rules", "files", []string{rules}).
		set("forwarding", "aliases_file", aliases)
	rg := startRelayguard(t, cfg)
	const body = "Here is the magicword you asked for."

	tr := runSwaks(t, rg.Addr, "--from", "sam@client.test", "--to", "alice@example.com,fan@example.com", "--body", body)
	tr.exit(t, swaksOK)
	tr.expect(t, "C: RCPT TO:<alice@example.com>", "S: 250", "C: RCPT TO:<fan@example.com>",
		"S: 452 4.5.3 Recipients with a different filtering policy must be sent in a separate transaction; try again",
		"C: DATA", "C: .", "S: 250 ")
	msgs := waitMaildir(t, maildir, 1)
	if status := msgs[0].Header("X-Spam-Status"); !strings.HasPrefix(status, "Yes, score=10.0") {
		t.Errorf("alice's copy X-Spam-Status %q, want Yes, score=10.0 (default class: marked, not refused)", status)
	}
	if !strings.Contains(rg.Log(), "class=forwarding") {
		t.Errorf("the log does not say which class fan is in:\n%s", rg.Log())
	}

	tr = runSwaks(t, rg.Addr, "--from", "sam@client.test", "--to", "fan@example.com", "--body", body)
	tr.exit(t, swaksDotRefused)
	checkRejectReply(t, tr.replyTo("."), "reject threshold 8.0")
	if n := len(maildirMessages(t, maildir)); n != 1 {
		t.Errorf("%d messages relayed, want only alice's", n)
	}
}
