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

// TestPolicySplitThroughTheEximSandwich: sam submits one message to Exim
// for friend@remote.test (default class: reject at 15) and
// ceo@strict.test (a [[policy]] class rejecting at 8). Exim hands it to
// relayguard, which takes the first recipient and answers the other 452
// 4.5.3; Exim defers that one and, on its next queue run, sends it again
// alone. Each copy is judged by its own class: friend's is delivered
// marked as spam (score 10), ceo's is refused and Exim bounces it to sam
// with relayguard's reasons.
func TestPolicySplitThroughTheEximSandwich(t *testing.T) {
	needHarness(t)
	t.Parallel()
	dir := testDir(t, "policy-sandwich")
	rules := writeFile(t, dir, "local.toml", magicRule, 0o644)
	s := startSandwichWith(t, func(cfg rgConfig) (rgConfig, string) {
		return cfg.set("rules", "files", []string{rules}),
			"\n[[policy]]\nname = \"strict\"\nrecipients = [\"strict.test\"]\nreject = 8.0\nadd_header = 4.0\n"
	})
	tr := runSwaks(t, s.exim.addr(0), "--from", "sam@example.com", "--to", "friend@remote.test,ceo@strict.test",
		"--data", messageFile(t, "sam@example.com", "friend@remote.test", "The magicword", "Here is the magicword you asked for.\n"))
	tr.exit(t, swaksOK)

	// The first attempt delivers one class and defers the other (either
	// order: Exim chooses which recipient it sends first).
	s.exim.waitLog("4.5.3 Recipients with a different filtering policy must be sent in a separate transaction")
	s.exim.queue()

	var friend *message
	waitFor(t, deliverTimeout, "friend's copy and sam's bounce", func() bool {
		for _, m := range maildirMessages(t, s.internet) {
			if m.Header("Envelope-To") == "friend@remote.test" {
				friend = &m
			}
		}
		return friend != nil && len(maildirMessages(t, s.exim.maildir("sam"))) == 1
	})
	if status := friend.Header("X-Spam-Status"); !strings.HasPrefix(status, "Yes, score=10.0") {
		t.Errorf("friend's copy X-Spam-Status %q, want Yes, score=10.0: marked under the default class", status)
	}
	for _, m := range maildirMessages(t, s.internet) {
		if m.Header("Envelope-To") == "ceo@strict.test" {
			t.Errorf("ceo's copy reached the Internet:\n%s", m.Raw)
		}
	}
	bounce := maildirMessages(t, s.exim.maildir("sam"))[0]
	for _, want := range []string{"ceo@strict.test", "554-5.7.1 Message rejected as spam: score 10.0, reject threshold 8.0"} {
		if !strings.Contains(bounce.Raw, want) {
			t.Errorf("bounce lacks %q:\n%s", want, bounce.Raw)
		}
	}
	if strings.Contains(bounce.Raw, "friend@remote.test") && !strings.Contains(bounce.Raw, "ceo@strict.test") {
		t.Errorf("the bounce is for friend, who was delivered:\n%s", bounce.Raw)
	}
}
