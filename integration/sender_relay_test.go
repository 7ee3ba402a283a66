package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Mail through a trusted relay: a real Exim (testdata/exim-forwarder.conf)
// takes mail from the Internet for its mailbox jo@example.net, which
// forwards to jo@remote.test, and takes its customer sam's own mail with
// SMTP AUTH; everything for other domains leaves through relayguard, whose
// trusted_relays holds the Exim (127.0.0.1/32). relayguard must judge
// forwarded mail by the host that handed it to Exim, believe those Received
// headers from Exim only, and leave the customer's submission alone.
//
// When relayguard refuses, Exim has already said 250 to its client: it
// bounces the message to the sender, quoting relayguard's 554, and the
// bounce itself leaves through relayguard. So the refusal is read in
// Exim's log and in the bounce.

const (
	customerUser     = "sam"
	customerPassword = "correct-horse-battery-staple"
)

type forwardingHost struct {
	exim      *eximDaemon
	rg        *relayguardProc
	delivered string // the Maildir relayguard relays into: "the world"
}

func startForwardingHost(t *testing.T, w *senderWorld) forwardingHost {
	t.Helper()
	upstream, delivered := maildirUpstream(t)
	rg := startRelayguardLists(t, w.rgConfig(t, upstream).
		set("access", "trusted_relays", []string{"127.0.0.1/32"}).
		// The direct client of the "not believed" case sends to a domain
		// relayguard takes mail for.
		set("access", "local_domains", []string{"remote.test"}))

	// The forwarder's site files (see the configuration's SITE_DIR),
	// readable by Exim's run-time user only where they are secrets.
	site := testDir(t, "forwarder-site")
	writeFile(t, site, "forwards", "jo: jo@remote.test\n", 0o644)
	customers := writeFile(t, site, "customers", customerUser+": "+customerPassword+"\n", 0o600)
	cert, key := selfSignedCert(t, site)
	for _, f := range []string{customers, key} {
		if err := os.Chown(f, eximUser.UID, eximUser.GID); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(cert, filepath.Join(site, "exim.crt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(key, filepath.Join(site, "exim.key")); err != nil {
		t.Fatal(err)
	}
	_, rgPort, _ := strings.Cut(rg.Addr, ":")
	port := freePort(t)
	ex := startExim(t, "exim", eximSetup{
		Config: "exim-forwarder.conf",
		Macros: map[string]string{
			"SMTP_PORT":            strconv.Itoa(port),
			"RELAYGUARD_SMARTHOST": "127.0.0.1::" + rgPort,
			"SITE_DIR":             site,
		},
		Ports: []int{port},
	})
	return forwardingHost{exim: ex, rg: rg, delivered: delivered}
}

// waitBounce waits for Exim's bounce of the message with Message-ID id,
// relayed through relayguard into the world's Maildir.
func (h forwardingHost) waitBounce(t *testing.T, id string) message {
	t.Helper()
	var got message
	waitFor(t, deliverTimeout, "Exim's bounce of "+id, func() bool {
		for _, m := range maildirMessages(t, h.delivered) {
			if m.Header("X-Failed-Recipients") != "" && strings.Contains(m.Raw, id) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// returnedReceived is the Received fields of the refused message as the
// bounce returns its header (the text/rfc822-headers part), byte for byte
// with their folding, CRLF-ended.
func returnedReceived(t *testing.T, bounce message) string {
	t.Helper()
	_, part, ok := strings.Cut(bounce.Raw, "Content-type: text/rfc822-headers\n\n")
	if !ok {
		t.Fatalf("the bounce does not return the refused message's header:\n%s", bounce.Raw)
	}
	header, _, _ := strings.Cut(part, "\n\n")
	var b strings.Builder
	in := false
	for _, line := range strings.Split(header, "\n") {
		switch {
		case strings.HasPrefix(line, "Received:"):
			in = true
		case in && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")):
		default:
			in = false
		}
		if in {
			b.WriteString(line + "\r\n")
		}
	}
	return b.String()
}

// eximRefusal is the line of Exim's main log for relayguard's refusal of
// the message with Message-ID id, forwarded to rcpt.
func (h forwardingHost) eximRefusal(t *testing.T, id, rcpt string) string {
	t.Helper()
	// "2026-11-26 19:01:10 1xWeiU-0005s3-1j <= sender H=... id=MESSAGE-ID"
	received := " id=" + strings.Trim(id, "<>")
	var line string
	waitFor(t, deliverTimeout, "Exim's log of the refused delivery of "+id+" to "+rcpt, func() bool {
		eximID := ""
		for _, l := range strings.Split(h.exim.mainlog(), "\n") {
			f := strings.Fields(l)
			switch {
			case len(f) < 5:
			case f[3] == "<=" && strings.HasSuffix(l, received):
				eximID = f[2]
			case eximID != "" && f[2] == eximID && f[3] == "**" && f[4] == rcpt:
				line = l
				return true
			}
		}
		return false
	})
	return line
}

func TestSenderForwardedMail(t *testing.T) {
	needHarness(t)
	t.Parallel()
	w := startSenderWorld(t)
	h := startForwardingHost(t, w)

	t.Run("listed original hop refused, its Received headers believed only from the relay", func(t *testing.T) {
		t.Parallel()
		data, id := senderMessageFile(t, "", "offers@spammer.test", "jo@example.net", "Forwarded offer", hamBody)
		tr := sendFrom(t, h.exim.addr(0), "203.0.113.7", "mx.spammer.test",
			"--from", "offers@spammer.test", "--to", "jo@example.net", "--data", data)
		tr.exit(t, swaksOK)
		tr.expect(t, "S: 220 mail.example.net ESMTP Exim", "C: RCPT TO:<jo@example.net>", "S: 250", "C: .", "S: 250 OK id=")

		const why = "203.0.113.7 (first untrusted hop, via trusted relay 127.0.0.1) listed on bl.test (127.0.0.2)"
		if line := h.eximRefusal(t, id, "jo@remote.test"); !strings.Contains(line, "554-5.7.1 "+why) {
			t.Errorf("Exim's log of the refused delivery lacks relayguard's reason %q:\n%s", why, line)
		}
		bounce := h.waitBounce(t, id)
		for _, want := range []string{"554-5.7.1 Message rejected as spam", "554-5.7.1 " + why, "RCVD_DNSBL_BL +20.0", "554 5.7.1 Reference "} {
			if !strings.Contains(bounce.Raw, want) {
				t.Errorf("bounce lacks %q:\n%s", want, bounce.Raw)
			}
		}
		if hasMessageID(t, h.delivered, id) {
			t.Errorf("refused message %s was relayed", id)
		}

		// The same Received headers, sent straight to relayguard by a
		// client that is no trusted relay, are a claim anyone can write.
		received := returnedReceived(t, bounce)
		if !strings.Contains(received, "[203.0.113.7]") {
			t.Fatalf("Exim's Received header does not name the original hop:\n%s", received)
		}
		data, id = senderMessageFile(t, received, "offers@spammer.test", "jo@remote.test", "Forwarded offer, direct", hamBody)
		tr = sendFrom(t, h.rg.Addr, "198.51.100.25", "mail.good.test",
			"--from", "offers@spammer.test", "--to", "jo@remote.test", "--data", data)
		tr.exit(t, swaksOK)
		tr.expect(t, "S: 220 relayguard.test", "C: Received: from [203.0.113.7]", "C: .", "S: 250 ")
		got := waitMessageID(t, h.delivered, id)
		for _, s := range spamTests(t, got) {
			if strings.HasPrefix(s, "RCVD_") {
				t.Errorf("X-Spam-Status %q: an untrusted client's Received header was believed", got.Header("X-Spam-Status"))
			}
		}
	})

	t.Run("customer's authenticated submission not judged by the home IP's SPF", func(t *testing.T) {
		needSwaksTLS(t)
		t.Parallel()
		data, id := senderMessageFile(t, "", "sam@customer.test", "friend@remote.test", "Submitted", hamBody)
		tr := sendFrom(t, h.exim.addr(0), "203.0.113.8", "laptop.customer.test", "--tls",
			"--auth", "PLAIN", "--auth-user", customerUser, "--auth-password", customerPassword,
			"--from", "sam@customer.test", "--to", "friend@remote.test", "--data", data)
		tr.exit(t, swaksOK)
		tr.expect(t, "C: STARTTLS", "S: 220", "C: AUTH PLAIN", "S: 235", "C: RCPT TO:<friend@remote.test>", "S: 250", "C: .", "S: 250 OK id=")

		got := waitMessageID(t, h.delivered, id)
		if r := got.Headers("Received"); len(r) < 2 || !strings.Contains(r[1], "with esmtpsa") || !strings.Contains(r[1], "[203.0.113.8]") {
			t.Errorf("Received %q, want Exim's \"from [203.0.113.8] ... with esmtpsa\" below relayguard's", r)
		}
		// Its home IP is on the policy list (PBL-like, 127.0.0.10): looked
		// up, since a real listing of an authenticated hop would count, but
		// weighing nothing; reverse DNS and HELO are not judged.
		authCase{
			arLacks:  []string{"spf=fail", "dmarc=fail"},
			notTests: []string{"SPF_FAIL", "DMARC_REJECT", "RCVD_RDNS_NONE", "RCVD_HELO_NOT_FQDN"},
		}.checkDelivered(t, got)
		if status := got.Header("X-Spam-Status"); !strings.HasPrefix(status, "No, score=0.0,") {
			t.Errorf("X-Spam-Status %q: the customer's submission must not be scored", status)
		}
	})

	t.Run("the same mail forwarded without AUTH is judged by SPF", func(t *testing.T) {
		t.Parallel()
		data, id := senderMessageFile(t, "", "sam@customer.test", "jo@example.net", "Forwarded, not submitted", hamBody)
		tr := sendFrom(t, h.exim.addr(0), "203.0.113.8", "laptop.customer.test",
			"--from", "sam@customer.test", "--to", "jo@example.net", "--data", data)
		tr.exit(t, swaksOK)
		tr.expect(t, "C: RCPT TO:<jo@example.net>", "S: 250", "C: .", "S: 250 OK id=")

		if line := h.eximRefusal(t, id, "jo@remote.test"); !strings.Contains(line, "DMARC_REJECT") {
			t.Errorf("Exim's log of the refused delivery lacks relayguard's DMARC reason:\n%s", line)
		}
		bounce := h.waitBounce(t, id)
		for _, want := range []string{
			"SPF fail: customer.test does not allow 203.0.113.8 to send its mail",
			"From domain customer.test fails DMARC (p=reject)",
		} {
			if !strings.Contains(bounce.Raw, want) {
				t.Errorf("bounce lacks %q:\n%s", want, bounce.Raw)
			}
		}
		if hasMessageID(t, h.delivered, id) {
			t.Errorf("refused message %s was relayed", id)
		}
	})
}
