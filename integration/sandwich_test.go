package integration

import (
	"strconv"

	"github.com/BurntSushi/toml"
	"strings"
	"testing"
)

// The outbound "sandwich" of docs/exim.md: users submit to Exim
// (testdata/exim-outbound.conf), whose relayguard_smarthost router sends
// mail for other domains to relayguard, which relays what it accepts back
// to Exim's reinjection port, from where Exim delivers it. In the tests
// "delivers" means into one Maildir standing in for the Internet
// (TEST_INTERNET_MAILDIR); sam@example.com is a local user.

type sandwich struct {
	exim     *eximDaemon // ports: 0 = submission (25), 1 = reinjection (10026)
	rg       *relayguardProc
	internet string // Maildir of everything delivered to other domains
}

func startSandwich(t *testing.T) sandwich {
	t.Helper()
	return startSandwichWith(t, func(cfg rgConfig) (rgConfig, string) { return cfg, "" })
}

// startSandwichWith is startSandwich with relayguard's configuration
// changed by edit, which may add TOML text (arrays of tables, which
// rgConfig cannot hold).
func startSandwichWith(t *testing.T, edit func(rgConfig) (rgConfig, string)) sandwich {
	t.Helper()
	smtpPort, reinjectPort, rgPort := freePort(t), freePort(t), freePort(t)
	ex := startExim(t, "exim", eximSetup{
		Config: "exim-outbound.conf",
		Macros: map[string]string{
			"PUBLIC_ADDRESS":       "127.0.0.1",
			"SMTP_PORT":            strconv.Itoa(smtpPort),
			"REINJECT_PORT":        strconv.Itoa(reinjectPort),
			"RELAYGUARD_SMARTHOST": "127.0.0.1::" + strconv.Itoa(rgPort),
		},
		Ports:     []int{smtpPort, reinjectPort},
		Mailboxes: []string{"sam", "postmaster"},
		Internet:  true,
	})
	cfg := loadConfig(t, "relayguard-outbound.toml").
		set("server", "listen", loopback(rgPort)).
		set("relay", "upstream", ex.addr(1))
	cfg, extra := edit(cfg)
	dir := testDir(t, "relayguard")
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(withOwnStore(cfg, dir)); err != nil {
		t.Fatal(err)
	}
	text := b.String() + extra
	conf := writeFile(t, dir, "relayguard.toml", text, 0o644)
	rg := runRelayguard(t, dir, loopback(rgPort), []string{"serve", "-config", conf}, "relayguard.toml:\n"+text)
	return sandwich{exim: ex, rg: rg, internet: ex.internet()}
}

// submit sends a message from sam@example.com to friend@remote.test
// through Exim's submission port; Exim takes it (250) and delivers it
// through relayguard afterwards.
func (s sandwich) submit(t *testing.T, subject, body string) {
	t.Helper()
	tr := runSwaks(t, s.exim.addr(0), "--from", "sam@example.com", "--to", "friend@remote.test",
		"--data", messageFile(t, "sam@example.com", "friend@remote.test", subject, body))
	tr.exit(t, swaksOK)
	tr.expect(t, "S: 220 mail.example.com ESMTP Exim", "C: .", "S: 250 OK id=")
}

func TestSandwichDeliversHam(t *testing.T) {
	needHarness(t)
	t.Parallel()
	s := startSandwich(t)
	s.submit(t, "Budget notes", hamBody)

	got := waitMaildir(t, s.internet, 1)[0]
	if status := got.Header("X-Spam-Status"); !strings.HasPrefix(status, "No, score=") {
		t.Errorf("X-Spam-Status %q, want No, score=...", status)
	}
	// Received, newest first: Exim's reinjection listener, relayguard,
	// Exim's submission listener.
	received := got.Headers("Received")
	want := []string{"by mail.example.com", "by relayguard.example.com", "by mail.example.com"}
	if len(received) != len(want) {
		t.Fatalf("%d Received headers, want %d (one pass through relayguard): %q", len(received), len(want), received)
	}
	for i, w := range want {
		if !strings.Contains(received[i], w) {
			t.Errorf("Received[%d] %q, want %q", i, received[i], w)
		}
	}
	// Routed to relayguard once, and from the reinjection port onwards.
	s.exim.waitLog("=> friend@remote.test R=relayguard_smarthost T=relayguard_smtp H=127.0.0.1 [127.0.0.1]")
	s.exim.waitLog("=> friend <friend@remote.test> R=test_internet T=test_internet_delivery")
}

// TestSandwichBouncesSpam: Exim already said 250 to the user when it meets
// relayguard's 554 5.7.1 at delivery time, so it does what an MTA does with
// a permanent refusal from the next hop: it bounces the message to its
// sender, quoting relayguard's reasons. Nothing reaches the Internet.
func TestSandwichBouncesSpam(t *testing.T) {
	needHarness(t)
	t.Parallel()
	s := startSandwich(t)
	s.submit(t, "You won", "Claim now.\n"+gtube+"\n")

	bounce := waitMaildir(t, s.exim.maildir("sam"), 1)[0]
	if from := bounce.Header("From"); !strings.Contains(from, "Mailer-Daemon@mail.example.com") {
		t.Errorf("bounce From %q, want Exim's Mailer-Daemon", from)
	}
	if rp := bounce.Header("Return-Path"); rp != "<>" {
		t.Errorf("bounce Return-Path %q, want <> (a bounce is never bounced)", rp)
	}
	for _, want := range []string{
		"friend@remote.test",
		"host 127.0.0.1 [127.0.0.1]",
		"SMTP error from remote mail server after",
		"554-5.7.1 ",
		"GTUBE",
		"554 5.7.1 ",
	} {
		if !strings.Contains(bounce.Raw, want) {
			t.Errorf("bounce lacks %q:\n%s", want, bounce.Raw)
		}
	}
	// bounce_return_body = false: the bounce quotes the headers only, so a
	// bounce to a remote sender can itself pass relayguard.
	if strings.Contains(bounce.Raw, gtube) {
		t.Errorf("bounce returns the refused body")
	}
	if msgs := maildirMessages(t, s.internet); len(msgs) != 0 {
		t.Errorf("%d messages reached the Internet, want none", len(msgs))
	}
	s.exim.waitLog("** friend@remote.test R=relayguard_smarthost T=relayguard_smtp H=127.0.0.1 [127.0.0.1]: SMTP error from remote mail server after")
}

// TestSandwichBounceToRemoteSender: when the sender of refused spam is
// elsewhere, the bounce goes out through relayguard like any outbound mail,
// and passes it: it carries relayguard's reasons but not the spam.
func TestSandwichBounceToRemoteSender(t *testing.T) {
	needHarness(t)
	t.Parallel()
	s := startSandwich(t)
	tr := runSwaks(t, s.exim.addr(0), "--from", "someone@remote.test", "--to", "friend@remote.test",
		"--data", messageFile(t, "someone@remote.test", "friend@remote.test", "You won", "Claim now.\n"+gtube+"\n"))
	tr.exit(t, swaksOK)

	bounce := waitMaildir(t, s.internet, 1)[0]
	if to := bounce.Header("Envelope-To"); to != "someone@remote.test" {
		t.Errorf("Envelope-to %q, want the bounce for someone@remote.test", to)
	}
	if rp := bounce.Header("Return-Path"); rp != "<>" {
		t.Errorf("Return-Path %q, want <>", rp)
	}
	if !strings.Contains(bounce.Raw, "554 5.7.1 ") || strings.Contains(bounce.Raw, gtube) {
		t.Errorf("bounce should quote relayguard's 554 5.7.1 and not the spam:\n%s", bounce.Raw)
	}
	if status := bounce.Header("X-Spam-Status"); !strings.HasPrefix(status, "No, score=") {
		t.Errorf("bounce X-Spam-Status %q, want No, score=... (it went through relayguard)", status)
	}
}

// TestSandwichQueuesWhileRelayguardDown: relayguard is the smarthost, so
// while it is down Exim keeps outbound mail queued (a connection refused
// is a temporary error), and delivers it on the next queue run.
func TestSandwichQueuesWhileRelayguardDown(t *testing.T) {
	needHarness(t)
	t.Parallel()
	s := startSandwich(t)
	s.rg.stop()

	s.submit(t, "Budget notes", hamBody)
	s.exim.waitLog("== friend@remote.test R=relayguard_smarthost T=relayguard_smtp defer (111): Connection refused")
	if q := s.exim.queued(); !strings.Contains(q, "friend@remote.test") {
		t.Fatalf("message not in Exim's queue:\n%s", q)
	}
	if msgs := maildirMessages(t, s.internet); len(msgs) != 0 {
		t.Fatalf("%d messages reached the Internet without relayguard", len(msgs))
	}

	s.rg.start()
	s.exim.queue()
	got := waitMaildir(t, s.internet, 1)[0]
	if status := got.Header("X-Spam-Status"); !strings.HasPrefix(status, "No, score=") {
		t.Errorf("X-Spam-Status %q, want No, score=...", status)
	}
	waitFor(t, deliverTimeout, "Exim's queue to empty", func() bool {
		return strings.TrimSpace(s.exim.queued()) == ""
	})
}
