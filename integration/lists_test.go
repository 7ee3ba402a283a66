package integration

import (
	"strings"
	"syscall"
	"testing"
)

// TestAllowlistHonouredOnlyWithSPFOrDKIMPass: signer.test is on the
// operator's sender allow list (a file), and the client, 203.0.113.7, is
// listed on bl.test (+20, over reject). The newsletter dkimpy signed for
// signer.test is delivered (ALLOW_SENDER outweighs the listing); the
// unsigned copy, which anyone could have written, is refused and its log
// line shows ALLOW_SENDER_UNAUTH. Then the file is emptied and SIGHUP
// sent: the signed newsletter is refused too; a broken file keeps the
// running lists.
func TestAllowlistHonouredOnlyWithSPFOrDKIMPass(t *testing.T) {
	needHarness(t)
	t.Parallel()
	dir := testDir(t, "allowlist")
	keyPEM, keyTXT := dkimKey(t)
	keyFile := writeFile(t, dir, "sel1.private", string(keyPEM), 0o600)
	allow := writeFile(t, dir, "allow-senders", "# partners whose newsletters our customers want\nsigner.test\n", 0o644)

	const body = "Dear reader,\n\nthe autumn concert is on Friday at eight.\n\nThe signer.test team\n"
	signedText := func(subject string) (string, string) {
		text, id := senderMessage("", "news@signer.test", "alice@example.com", subject, body)
		return "@" + writeFile(t, testDir(t, "msg"), "signed.eml", dkimsign(t, "sel1", "signer.test", keyFile, text), 0o644), id
	}

	w := startSenderWorld(t)
	w.dns.add(t, keyTXT)
	upstream, delivered := maildirUpstream(t)
	rg := startRelayguardLists(t, w.rgConfig(t, upstream).set("lists", "allow_senders_file", allow))
	send := func(data string) transcript {
		return sendFrom(t, rg.Addr, "203.0.113.7", "mx.spammer.test", "--from", "bounces@esp.test", "--to", "alice@example.com", "--data", data)
	}

	data, id := signedText("Concert news")
	tr := send(data)
	tr.exit(t, swaksOK)
	tr.expect(t, "C: .", "S: 250 ")
	checkSpamTests(t, waitMessageID(t, delivered, id), []string{"ALLOW_SENDER", "DNSBL_BL", "DKIM_VALID"}, []string{"ALLOW_SENDER_UNAUTH"})

	data, id = senderMessageFile(t, "", "news@signer.test", "alice@example.com", "Concert news, forged", body)
	tr = send(data)
	tr.exit(t, swaksDotRefused)
	checkRejectReply(t, tr.replyTo("."), "203.0.113.7 listed on bl.test")
	if hasMessageID(t, delivered, id) {
		t.Error("the unsigned copy was relayed")
	}
	if !strings.Contains(rg.Log(), "ALLOW_SENDER_UNAUTH(0.0)") {
		t.Errorf("the log does not show ALLOW_SENDER_UNAUTH for the unsigned copy:\n%s", rg.Log())
	}

	// The partner is taken off the list; SIGHUP reads the file again.
	writeFile(t, dir, "allow-senders", "# none\n", 0o644)
	reloads := strings.Count(rg.Log(), "reloaded")
	rg.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, startTimeout, "the reload", func() bool { return strings.Count(rg.Log(), "reloaded") > reloads })
	data, id = signedText("Concert news after the reload")
	tr = send(data)
	tr.exit(t, swaksDotRefused)
	if hasMessageID(t, delivered, id) {
		t.Error("the signed newsletter was relayed after its sender left the allow list")
	}

	// A broken file keeps the running (empty) lists and says where.
	writeFile(t, dir, "allow-senders", "signer.test\nnot a domain\n", 0o644)
	rg.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, startTimeout, "the failed reload", func() bool { return strings.Contains(rg.Log(), "reload failed") })
	if !strings.Contains(rg.Log(), "allow-senders:2:") {
		t.Errorf("the reload error does not name the file and line:\n%s", rg.Log())
	}
	data, _ = signedText("Concert news with a broken list")
	send(data).exit(t, swaksDotRefused)
}

// TestBlockedClientRefused: a client on block_ips is refused with
// BLOCK_IP named in the 554, and with reject_early at RCPT, before the
// body is sent.
func TestBlockedClientRefused(t *testing.T) {
	needHarness(t)
	t.Parallel()
	w := startSenderWorld(t)
	upstream, delivered := maildirUpstream(t)
	cfg := w.rgConfig(t, upstream).set("lists", "block_ips", []string{"198.51.100.0/24"})
	rg := startRelayguardLists(t, cfg)
	early := startRelayguardLists(t, w.rgConfig(t, upstream).set("lists", "block_ips", []string{"198.51.100.0/24"}).
		set("scoring", "reject_early", true))

	data, id := senderMessageFile(t, "", "sam@good.test", "alice@example.com", "Minutes", hamBody)
	tr := sendFrom(t, rg.Addr, "198.51.100.25", "mail.good.test", "--from", "sam@good.test", "--to", "alice@example.com", "--data", data)
	tr.exit(t, swaksDotRefused)
	checkRejectReply(t, tr.replyTo("."), "198.51.100.25 is on the local block list (198.51.100.0/24) (BLOCK_IP +100.0)")

	tr = sendFrom(t, early.Addr, "198.51.100.25", "mail.good.test", "--from", "sam@good.test", "--to", "alice@example.com", "--data", data)
	tr.exit(t, swaksRcptFailed)
	checkRejectReply(t, tr.replyTo("RCPT TO:"), "(BLOCK_IP +100.0)")
	tr.lacks(t, "C: DATA")
	if hasMessageID(t, delivered, id) {
		t.Error("a message from a blocked client was relayed")
	}
}
