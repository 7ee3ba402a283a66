package integration

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The blocklist checks through the running proxy: swaks connects from a
// documentation address put on the namespace's loopback, relayguard asks
// the real rbldnsd (through the world's zone server) and refuses or relays.
// The upstream is a Maildir: what matters is relayguard's answer, and
// whether anything was relayed at all.

// sendFrom runs swaks from the client address ip (added to lo) with HELO
// helo.
func sendFrom(t *testing.T, server, ip, helo string, args ...string) transcript {
	t.Helper()
	return runSwaks(t, server, append([]string{"--local-interface", clientAddr(t, ip), "--helo", helo}, args...)...)
}

// replyTo is the server's reply to the last client line starting with
// command, one entry per reply line.
func (tr transcript) replyTo(command string) []string {
	return tr.replyAfter(func(line string) bool { return strings.HasPrefix(line, "C: "+command) })
}

// maildirUpstream is a fresh Maildir for relayguard's [relay] upstream.
func maildirUpstream(t *testing.T) (upstream, dir string) {
	t.Helper()
	dir = filepath.Join(testDir(t, "upstream"), "Maildir")
	return "maildir:" + dir, dir
}

func TestSenderBlocklists(t *testing.T) {
	needHarness(t)
	needSwaksSupport(t, "IPv6") // the [::1] listener below
	t.Parallel()
	w := startSenderWorld(t)
	upstream, delivered := maildirUpstream(t)

	rg := startRelayguardLists(t, w.rgConfig(t, upstream))
	early := startRelayguardLists(t, w.rgConfig(t, upstream).set("scoring", "reject_early", true))
	// The same relayguard on IPv6 loopback, for a client with an IPv6
	// address (an IPv4 listener cannot take its connection).
	rg6 := startRelayguardLists(t, w.rgConfig(t, upstream).
		set("server", "listen", "[::1]:"+strconv.Itoa(freePort(t))))

	const cleanBody = "Hi Alice,\n\nthe minutes are on the wiki: https://www.good.test/minutes\n\nSam\n"
	tests := []struct {
		name     string
		server   string
		ip       string
		helo     string
		from     string
		body     string
		exit     int
		chat     []string // the transcript, in order
		reply    string   // the refusal's command: "RCPT TO:" or "." (end of DATA)
		reason   string   // a line of the 554 names this
		notTests []string // symbols the delivered message must not carry
		tests    []string // symbols it must carry
	}{
		{
			name: "listed client refused at end of DATA", server: rg.Addr,
			ip: "203.0.113.7", helo: "mx.spammer.test", from: "offers@spammer.test", body: cleanBody,
			exit:   swaksDotRefused,
			chat:   []string{"C: RCPT TO:<alice@example.com>", "S: 250", "C: DATA", "S: 354", "C: .", "S: 554-5.7.1 "},
			reply:  ".",
			reason: "203.0.113.7 listed on bl.test (127.0.0.2): Listed, see https://bl.test/query/203.0.113.7 (DNSBL_BL +20.0)",
		},
		{
			name: "listed client refused at RCPT with reject_early", server: early.Addr,
			ip: "203.0.113.7", helo: "mx.spammer.test", from: "offers@spammer.test", body: cleanBody,
			exit:   swaksRcptFailed,
			chat:   []string{"C: MAIL FROM:<offers@spammer.test>", "S: 250", "C: RCPT TO:<alice@example.com>", "S: 554-5.7.1 "},
			reply:  "RCPT TO:",
			reason: "203.0.113.7 listed on bl.test (127.0.0.2)",
		},
		{
			name: "listed IPv6 client refused", server: rg6.Addr,
			ip: "2001:db8:bad::7", helo: "mx.spammer.test", from: "offers@spammer.test", body: cleanBody,
			exit:   swaksDotRefused,
			chat:   []string{"C: RCPT TO:<alice@example.com>", "S: 250", "C: .", "S: 554-5.7.1 "},
			reply:  ".",
			reason: "2001:db8:bad::7 listed on bl.test (127.0.0.3): IPv6 2001:db8:bad::7 listed (DNSBL_BL +20.0)",
		},
		{
			// RFC 5782 codes outside the listing range are errors: the
			// list refused to answer (Spamhaus behind a public resolver).
			name: "127.255.255.254 answer is no listing", server: rg.Addr,
			ip: "203.0.113.66", helo: "mx.spammer.test", from: "offers@spammer.test", body: cleanBody,
			exit:     swaksOK,
			chat:     []string{"C: RCPT TO:<alice@example.com>", "S: 250", "C: .", "S: 250 "},
			notTests: []string{"DNSBL_BL"},
			tests:    []string{"DNSBL_BL_TEMPFAIL"}, // asked, and its answer taken as an error
		},
		{
			// End-user policy code (PBL-like): evidence, not a verdict.
			name: "policy listing weighs its code", server: rg.Addr,
			ip: "203.0.113.8", helo: "mx.spammer.test", from: "offers@spammer.test", body: cleanBody,
			exit:  swaksOK,
			chat:  []string{"C: .", "S: 250 "},
			tests: []string{"DNSBL_BL"},
		},
		{
			name: "link to a listed domain refused", server: rg.Addr,
			ip: "198.51.100.25", helo: "mail.good.test", from: "sam@good.test",
			body:   "Hi Alice,\n\nhave a look: https://www.example.biz/offer?id=7\n\nSam\n",
			exit:   swaksDotRefused,
			chat:   []string{"C: .", "S: 554-5.7.1 "},
			reply:  ".",
			reason: "link domain example.biz listed on uri.test (127.0.1.2): Domain listed, see https://uri.test/query/example.biz (URIBL_URI +20.0)",
		},
		{
			name: "unlisted client and links delivered", server: rg.Addr,
			ip: "198.51.100.25", helo: "mail.good.test", from: "sam@good.test", body: cleanBody,
			exit:     swaksOK,
			chat:     []string{"C: .", "S: 250 "},
			notTests: []string{"DNSBL_BL", "URIBL_URI", "RDNS_NONE", "HELO_NO_RESOLVE"},
			tests:    []string{"SPF_PASS"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, id := senderMessageFile(t, "", tc.from, "alice@example.com", tc.name, tc.body)
			tr := sendFrom(t, tc.server, tc.ip, tc.helo, "--from", tc.from, "--to", "alice@example.com", "--data", data)
			tr.exit(t, tc.exit)
			tr.expect(t, tc.chat...)
			if tc.reply != "" {
				reply := tr.replyTo(tc.reply)
				checkRejectReply(t, reply, tc.reason)
				if tc.reply == "RCPT TO:" {
					tr.lacks(t, "C: DATA")
				}
				if hasMessageID(t, delivered, id) {
					t.Errorf("refused message %s was relayed", id)
				}
				return
			}
			got := waitMessageID(t, delivered, id)
			checkSpamTests(t, got, tc.tests, tc.notTests)
		})
	}
}
