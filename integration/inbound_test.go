package integration

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The inbound deployment: swaks (the Internet) → relayguard → Exim with
// testdata/exim-inbound.conf → Maildir. Each test has its own Exim and
// relayguard on free loopback ports.

// inboundPair starts an inbound Exim and a relayguard relaying to it, with
// change applied to testdata/relayguard-inbound.toml first.
func inboundPair(t *testing.T, change func(rgConfig)) (*eximDaemon, *relayguardProc) {
	t.Helper()
	ex := startInboundExim(t)
	cfg := inboundConfig(t, ex.addr(0))
	if change != nil {
		change(cfg)
	}
	return ex, startRelayguard(t, cfg)
}

// messageFile writes a test message for swaks --data @FILE.
func messageFile(t *testing.T, from, to, subject, body string) string {
	t.Helper()
	return "@" + writeFile(t, testDir(t, "msg"), "message.eml", testMessage(from, to, subject, body), 0o644)
}

func TestHamDeliveredWithSpamHeaders(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, nil)

	tr := runSwaks(t, rg.Addr, "--from", "sam@client.test", "--to", "alice@example.com",
		"--data", messageFile(t, "sam@client.test", "alice@example.com", "Budget notes", hamBody))
	tr.exit(t, swaksOK)
	tr.expect(t,
		"S: 220 ",
		"C: EHLO client.test", "S: 250",
		"C: MAIL FROM:<sam@client.test>", "S: 250",
		"C: RCPT TO:<alice@example.com>", "S: 250",
		"C: DATA", "S: 354",
		"C: .", "S: 250",
		"C: QUIT", "S: 221",
	)

	got := waitMaildir(t, ex.maildir("alice"), 1)[0]
	if s := got.Header("Subject"); s != "Budget notes" {
		t.Errorf("Subject %q, want the message we sent", s)
	}
	if !strings.Contains(got.Raw, "the numbers for the second quarter") {
		t.Errorf("body lost on the way:\n%s", got.Raw)
	}
	score, err := strconv.ParseFloat(got.Header("X-Spam-Score"), 64)
	if err != nil {
		t.Errorf("X-Spam-Score %q: %v\n%s", got.Header("X-Spam-Score"), err, got.Raw)
	}
	status := got.Header("X-Spam-Status")
	if !regexp.MustCompile(`^No, score=-?[0-9.]+, required=6\.0, tests=\S+$`).MatchString(status) {
		t.Errorf("X-Spam-Status %q, want No, score=..., required=6.0, tests=...", status)
	}
	if !strings.Contains(status, "score="+strconv.FormatFloat(score, 'f', 1, 64)) {
		t.Errorf("X-Spam-Status %q disagrees with X-Spam-Score %v", status, score)
	}
	if ar := got.Header("Authentication-Results"); !strings.HasPrefix(ar, "relayguard.test") {
		t.Errorf("Authentication-Results %q, want it by relayguard.test (the authserv-id)", ar)
	}
	// Exim's Received on top, relayguard's below it, for our hop.
	received := got.Headers("Received")
	if len(received) < 2 || !strings.Contains(received[0], "by mail.example.com") ||
		!strings.Contains(received[1], "by relayguard.test") {
		t.Errorf("Received headers %q, want Exim's then relayguard's (by relayguard.test)", received)
	}
	if n := ex.received(); n != 1 {
		t.Errorf("Exim received %d messages, want 1", n)
	}
}

// TestForgedHeadersRemoved: the Exim behind relayguard, and the filters of
// its users, trust X-Spam-* and Authentication-Results with relayguard's
// authserv-id. Copies a sender wrote itself must not arrive next to
// relayguard's (RFC 8601 §5: a border MTA removes Authentication-Results
// fields with its own authserv-id that come from outside).
func TestForgedHeadersRemoved(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, nil)
	forged := "X-Spam-Status: No, score=-100.0, required=6.0, tests=WHITELISTED\n" +
		"X-Spam-Score: -100.0\n" +
		"X-Spam-Flag: NO\n" +
		"Authentication-Results: relayguard.test; dkim=pass header.d=bank.test; spf=pass smtp.mailfrom=bank.test\n"
	tr := runSwaks(t, rg.Addr, "--from", "sam@client.test", "--to", "alice@example.com",
		"--data", "@"+writeFile(t, testDir(t, "msg"), "forged.eml",
			forged+testMessage("sam@client.test", "alice@example.com", "Budget notes", hamBody), 0o644))
	tr.exit(t, swaksOK)

	got := waitMaildir(t, ex.maildir("alice"), 1)[0]
	for _, name := range []string{"X-Spam-Status", "X-Spam-Score"} {
		if v := got.Headers(name); len(v) != 1 {
			t.Errorf("%d %s fields %q, want relayguard's only", len(v), name, v)
		}
	}
	if v := got.Headers("X-Spam-Flag"); len(v) != 0 {
		t.Errorf("X-Spam-Flag %q on a message below add_header, want none", v)
	}
	for _, ar := range got.Headers("Authentication-Results") {
		if strings.Contains(ar, "bank.test") {
			t.Errorf("forged Authentication-Results %q arrived", ar)
		}
	}
	if t.Failed() {
		t.Logf("delivered message:\n%s", got.Raw)
	}
}

func TestGTUBERejectedInSession(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, nil)

	tr := runSwaks(t, rg.Addr, "--from", "spammer@client.test", "--to", "alice@example.com",
		"--data", messageFile(t, "spammer@client.test", "alice@example.com", "You won", "Claim now.\n"+gtube+"\n"))
	tr.exit(t, swaksDotRefused)
	tr.expect(t,
		"C: RCPT TO:<alice@example.com>", "S: 250",
		"C: DATA", "S: 354",
		"C: .", "S: 554-5.7.1 ",
	)
	checkRejectReply(t, tr.dataReply(), "GTUBE")
	checkReferenceLogged(t, rg, tr.dataReply())

	// Refused in the session: relayguard never relayed it, so Exim never
	// received it (Exim logs "<=" before it answers 250 to relayguard, and
	// relayguard answers its client only after that).
	if n := ex.received(); n != 0 {
		t.Errorf("Exim received %d messages, want 0\n%s", n, ex.mainlog())
	}
	if msgs := maildirMessages(t, ex.maildir("alice")); len(msgs) != 0 {
		t.Errorf("alice got %d messages, want none", len(msgs))
	}
}

// checkRejectReply checks a multi-line 554 5.7.1 refusal: every line but
// the last "554-5.7.1 ", the last "554 5.7.1 ", one line naming reason.
func checkRejectReply(t *testing.T, reply []string, reason string) {
	t.Helper()
	if len(reply) < 2 {
		t.Fatalf("reply to end of DATA %q, want a multi-line 554 5.7.1", reply)
	}
	for i, line := range reply {
		want := "554-5.7.1 "
		if i == len(reply)-1 {
			want = "554 5.7.1 "
		}
		if !strings.HasPrefix(line, want) {
			t.Errorf("reply line %d %q, want it to start %q", i+1, line, want)
		}
	}
	if !strings.Contains(strings.Join(reply, "\n"), reason) {
		t.Errorf("reply %q does not name %s", reply, reason)
	}
}

var referenceRE = regexp.MustCompile(`Reference ([A-Za-z0-9._-]+)`)

// checkReferenceLogged checks that the reference given to the client is in
// relayguard's log, where the operator looks it up.
func checkReferenceLogged(t *testing.T, rg *relayguardProc, reply []string) {
	t.Helper()
	m := referenceRE.FindStringSubmatch(strings.Join(reply, "\n"))
	if m == nil {
		t.Errorf("reply %q gives no reference", reply)
		return
	}
	waitFor(t, deliverTimeout, "reference "+m[1]+" in relayguard's log", func() bool {
		return strings.Contains(rg.Log(), m[1])
	})
}

// TestRelayTricksRefused: a client outside relay_networks may send only to
// local_domains. Every address form that some MTA once routed to another
// domain is refused at RCPT, and nothing reaches Exim but the one message
// for a real local recipient.
func TestRelayTricksRefused(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, func(c rgConfig) {
		c.set("access", "relay_networks", []string{"192.0.2.0/24"})
		c.set("access", "local_domains", []string{"example.com"})
	})

	const denied = "S: 554 5.7.1 Relay access denied"
	tricks := []struct {
		name, rcpt, reply string
	}{
		{"plain other domain", "user@other.test", denied},
		{"percent hack", "user%other.test@example.com", denied},
		{"bang path", "other.test!user@example.com", denied},
		{"quoted at sign", `"user@other.test"@example.com`, denied},
		{"source route", "@example.com:user@other.test", denied},
		// RFC 5321 §4.1.2: a domain has no trailing dot; refused as syntax.
		{"trailing dot", "user@other.test.", "S: 501 5.1.3 "},
		{"address literal", "user@[192.0.2.1]", denied},
		{"local domain as suffix", "user@notexample.com", denied},
		{"local domain as prefix", "user@example.com.other.test", denied},
	}
	for _, tc := range tricks {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := runSwaks(t, rg.Addr, "--from", "relay@client.test", "--to", tc.rcpt,
				"--data", messageFile(t, "relay@client.test", "alice@example.com", "relay?", "relay me\n"))
			tr.exit(t, swaksRcptFailed)
			tr.expect(t,
				"C: MAIL FROM:<relay@client.test>", "S: 250",
				"C: RCPT TO:<"+tc.rcpt+">", tc.reply,
			)
			tr.lacks(t, "C: DATA")
		})
	}
	t.Run("local recipient still accepted", func(t *testing.T) {
		t.Parallel()
		tr := runSwaks(t, rg.Addr, "--from", "friend@client.test", "--to", "alice@example.com",
			"--data", messageFile(t, "friend@client.test", "alice@example.com", "Hello", hamBody))
		tr.exit(t, swaksOK)
		waitMaildir(t, ex.maildir("alice"), 1)
	})
	t.Cleanup(func() {
		if n := ex.received(); n != 1 {
			t.Errorf("Exim received %d messages, want only the local one\n%s", n, ex.mainlog())
		}
	})
}

func TestPlainRelayDeniedMessage(t *testing.T) {
	needHarness(t)
	t.Parallel()
	_, rg := inboundPair(t, func(c rgConfig) {
		c.set("access", "relay_networks", []string{"192.0.2.0/24"})
	})
	tr := runSwaks(t, rg.Addr, "--from", "relay@client.test", "--to", "user@other.test")
	tr.exit(t, swaksRcptFailed)
	tr.expect(t, "C: RCPT TO:<user@other.test>", "S: 554 5.7.1 Relay access denied")
}

// TestUpstreamDownTempfails: with Exim stopped relayguard cannot relay, so
// it must not say 250 (it never queues): the client hears 451 4.4.1 and
// keeps the message; sent again once Exim is back, it is delivered once.
func TestUpstreamDownTempfails(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, nil)
	msg := messageFile(t, "sam@client.test", "alice@example.com", "Budget notes", hamBody)

	ex.stop()
	tr := runSwaks(t, rg.Addr, "--from", "sam@client.test", "--to", "alice@example.com", "--data", msg)
	if tr.Exit == swaksOK {
		t.Errorf("swaks succeeded with the upstream down")
	}
	// Whether relayguard meets the dead upstream at MAIL, RCPT or the end
	// of DATA, the answer is 451 4.4.1, and the message is never taken.
	tr.expect(t, "C: MAIL FROM:<sam@client.test>", "S: 451 4.4.1 ")
	for _, line := range tr.dataReply() {
		if !strings.HasPrefix(line, "451") {
			t.Errorf("end of DATA answered %q with the upstream down, want 451 4.4.1", line)
		}
	}

	ex.start()
	tr = runSwaks(t, rg.Addr, "--from", "sam@client.test", "--to", "alice@example.com", "--data", msg)
	tr.exit(t, swaksOK)
	waitMaildir(t, ex.maildir("alice"), 1)
	if n := ex.received(); n != 1 {
		t.Errorf("Exim received %d messages, want 1", n)
	}
}

// TestUpstreamRefusesRecipient: Exim refuses an unknown user at RCPT; the
// client hears Exim's 550 5.1.1 for that recipient in the same session,
// and the other recipient still gets the message.
func TestUpstreamRefusesRecipient(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, nil)

	tr := runSwaks(t, rg.Addr, "--from", "sam@client.test", "--to", "alice@example.com,nosuchuser@example.com",
		"--data", messageFile(t, "sam@client.test", "alice@example.com", "Budget notes", hamBody))
	tr.exit(t, swaksOK)
	tr.expect(t,
		"C: RCPT TO:<alice@example.com>", "S: 250",
		"C: RCPT TO:<nosuchuser@example.com>", "S: 550 5.1.1 ",
		"C: DATA", "S: 354",
		"C: .", "S: 250",
	)
	got := waitMaildir(t, ex.maildir("alice"), 1)[0]
	if to := got.Header("Envelope-To"); to != "alice@example.com" {
		t.Errorf("Envelope-to %q, want only alice@example.com", to)
	}
	if strings.Contains(ex.mainlog(), "=> nosuchuser") {
		t.Errorf("Exim delivered to nosuchuser:\n%s", ex.mainlog())
	}
}

// TestOversizeRefused: a message bigger than max_message_bytes gets
// 552 5.3.4 and is not relayed.
func TestOversizeRefused(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, func(c rgConfig) {
		c.set("server", "max_message_bytes", 20000)
	})
	big := strings.Repeat("This line makes the message too big for relayguard.\n", 1000) // ~53 kB
	tr := runSwaks(t, rg.Addr, "--suppress-data", "--from", "sam@client.test", "--to", "alice@example.com",
		"--data", messageFile(t, "sam@client.test", "alice@example.com", "Big", big))
	if tr.Exit == swaksOK {
		t.Errorf("swaks succeeded with an oversize message")
	}
	tr.expect(t, "C: MAIL FROM:<sam@client.test>", "S: 552 5.3.4 ")
	if n := ex.received(); n != 0 {
		t.Errorf("Exim received %d messages, want 0", n)
	}

	small := runSwaks(t, rg.Addr, "--from", "sam@client.test", "--to", "alice@example.com",
		"--data", messageFile(t, "sam@client.test", "alice@example.com", "Small", hamBody))
	small.exit(t, swaksOK)
	waitMaildir(t, ex.maildir("alice"), 1)
}

// TestTooManyRecipients: recipients past max_recipients get 452 4.5.3 (the
// client sends them again in another transaction); the first ones get the
// message.
func TestTooManyRecipients(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, func(c rgConfig) {
		c.set("server", "max_recipients", 2)
	})
	tr := runSwaks(t, rg.Addr, "--from", "sam@client.test", "--to", "alice@example.com,bob@example.com,postmaster@example.com",
		"--data", messageFile(t, "sam@client.test", "team@example.com", "Budget notes", hamBody))
	tr.exit(t, swaksOK)
	tr.expect(t,
		"C: RCPT TO:<alice@example.com>", "S: 250",
		"C: RCPT TO:<bob@example.com>", "S: 250",
		"C: RCPT TO:<postmaster@example.com>", "S: 452 4.5.3 ",
		"C: .", "S: 250",
	)
	waitMaildir(t, ex.maildir("alice"), 1)
	waitMaildir(t, ex.maildir("bob"), 1)
	if msgs := maildirMessages(t, ex.maildir("postmaster")); len(msgs) != 0 {
		t.Errorf("postmaster got %d messages, want none", len(msgs))
	}
}

// TestPipelining: swaks sends MAIL, RCPT, RCPT, DATA in one batch
// (RFC 2920); relayguard answers each in order.
func TestPipelining(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, nil)
	tr := runSwaks(t, rg.Addr, "--pipeline", "--from", "sam@client.test", "--to", "alice@example.com,nosuchuser@example.com,bob@example.com",
		"--data", messageFile(t, "sam@client.test", "alice@example.com", "Budget notes", hamBody))
	tr.exit(t, swaksOK)
	tr.expect(t,
		"S: 250-PIPELINING",
		"C: MAIL FROM:<sam@client.test>",
		"C: RCPT TO:<alice@example.com>",
		"C: RCPT TO:<nosuchuser@example.com>",
		"C: RCPT TO:<bob@example.com>",
		"C: DATA",
		"S: 250", // MAIL
		"S: 250", // alice
		"S: 550 5.1.1 ",
		"S: 250", // bob
		"S: 354",
		"C: .", "S: 250",
	)
	waitMaildir(t, ex.maildir("alice"), 1)
	waitMaildir(t, ex.maildir("bob"), 1)
}

func TestSTARTTLS(t *testing.T) {
	needHarness(t)
	needSwaksTLS(t)
	t.Parallel()
	ex, rg := inboundPair(t, func(c rgConfig) {
		cert, key := selfSignedCert(t, testDir(t, "tls"))
		c.set("server", "tls_cert", cert)
		c.set("server", "tls_key", key)
	})
	tr := runSwaks(t, rg.Addr, "--tls", "--from", "sam@client.test", "--to", "alice@example.com",
		"--data", messageFile(t, "sam@client.test", "alice@example.com", "Budget notes", hamBody))
	tr.exit(t, swaksOK)
	tr.expect(t,
		"S: 250-STARTTLS",
		"C: STARTTLS", "S: 220",
		"I: TLS started with cipher ",
		"C: EHLO client.test", "S: 250",
		"C: .", "S: 250",
	)
	got := waitMaildir(t, ex.maildir("alice"), 1)[0]
	if r := got.Headers("Received"); len(r) < 2 || !strings.Contains(r[1], "ESMTPS") {
		t.Errorf("relayguard's Received %q, want it to record ESMTPS (RFC 3848)", r)
	}
}

// TestAuthAfterTLS: AUTH is offered only after STARTTLS; an authenticated
// client may relay, an unauthenticated one outside relay_networks may not.
func TestAuthAfterTLS(t *testing.T) {
	needHarness(t)
	needSwaksTLS(t)
	t.Parallel()
	// example.com is not a local domain here: only relaying reaches it.
	ex, rg := inboundPair(t, func(c rgConfig) {
		dir := testDir(t, "auth")
		cert, key := selfSignedCert(t, dir)
		c.set("server", "tls_cert", cert)
		c.set("server", "tls_key", key)
		c.set("access", "relay_networks", []string{"192.0.2.0/24"})
		c.set("access", "local_domains", []string{})
		c.set("access", "users_file", usersFile(t, dir, map[string]string{"sam": "correct horse battery staple"}))
	})
	send := func(t *testing.T, args ...string) transcript {
		return runSwaks(t, rg.Addr, append(args, "--from", "sam@client.test", "--to", "alice@example.com",
			"--data", messageFile(t, "sam@client.test", "alice@example.com", "Budget notes", hamBody))...)
	}

	t.Run("no AUTH before STARTTLS", func(t *testing.T) {
		tr := send(t, "--auth", "PLAIN", "--auth-user", "sam", "--auth-password", "correct horse battery staple")
		tr.exit(t, swaksAuthFailed)
		tr.lacks(t, "S: 250-AUTH", "S: 250 AUTH", "C: AUTH")
		tr.expect(t, "E: Host did not advertise authentication")
	})
	t.Run("AUTH command before STARTTLS refused", func(t *testing.T) {
		c := dialSMTP(t, rg.Addr)
		c.expect(t, 220)
		c.send(t, "EHLO client.test")
		c.expect(t, 250)
		c.send(t, "AUTH PLAIN AHNhbQBjb3JyZWN0IGhvcnNlIGJhdHRlcnkgc3RhcGxl") // sam, the right password
		if code, text := c.reply(t); code < 500 || code > 599 {
			t.Errorf("AUTH before STARTTLS answered %d %s, want a 5xx refusal", code, text)
		}
	})
	t.Run("relay refused without AUTH", func(t *testing.T) {
		tr := send(t, "--tls")
		tr.exit(t, swaksRcptFailed)
		tr.expect(t, "C: RCPT TO:<alice@example.com>", "S: 554 5.7.1 Relay access denied")
	})
	t.Run("wrong password", func(t *testing.T) {
		tr := send(t, "--tls", "--auth", "PLAIN", "--auth-user", "sam", "--auth-password", "wrong")
		tr.exit(t, swaksAuthFailed)
		tr.expect(t, "S: 250-AUTH", "C: AUTH PLAIN", "S: 535 5.7.8 ")
	})
	t.Run("AUTH PLAIN after STARTTLS relays", func(t *testing.T) {
		tr := send(t, "--tls", "--auth", "PLAIN", "--auth-user", "sam", "--auth-password", "correct horse battery staple")
		tr.exit(t, swaksOK)
		tr.expect(t,
			"C: STARTTLS", "S: 220",
			"S: 250-AUTH PLAIN",
			"C: AUTH PLAIN", "S: 235 ",
			"C: RCPT TO:<alice@example.com>", "S: 250",
			"C: .", "S: 250",
		)
		waitMaildir(t, ex.maildir("alice"), 1)
	})
}

// TestMonitorModeRelaysSpam: in monitor mode even GTUBE is relayed, marked
// X-Spam-Status: Yes.
func TestMonitorModeRelaysSpam(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, func(c rgConfig) {
		c.set("scoring", "mode", "monitor")
	})
	tr := runSwaks(t, rg.Addr, "--from", "spammer@client.test", "--to", "alice@example.com",
		"--data", messageFile(t, "spammer@client.test", "alice@example.com", "You won", "Claim now.\n"+gtube+"\n"))
	tr.exit(t, swaksOK)
	tr.expect(t, "C: .", "S: 250")
	got := waitMaildir(t, ex.maildir("alice"), 1)[0]
	status := got.Header("X-Spam-Status")
	if !strings.HasPrefix(status, "Yes, score=1000.0, required=6.0, tests=") || !strings.Contains(status, "GTUBE") {
		t.Errorf("X-Spam-Status %q, want Yes, score=1000.0, required=6.0, tests=...GTUBE...", status)
	}
	if s := got.Header("X-Spam-Score"); s != "1000.0" {
		t.Errorf("X-Spam-Score %q, want 1000.0", s)
	}
}
