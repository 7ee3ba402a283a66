package integration

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// smtpScript is an SMTP client that reads as the conversation does: send a
// line, expect the reply's start.
type smtpScript struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialSMTPScript(t *testing.T, addr string) *smtpScript {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return &smtpScript{t: t, c: c, r: bufio.NewReader(c)}
}

// expect reads one reply, multi-line or not, and checks how its last line
// starts.
func (s *smtpScript) expect(prefix string) {
	s.t.Helper()
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("waiting for %q: %v", prefix, err)
		}
		if len(line) > 3 && line[3] == '-' {
			continue
		}
		if !strings.HasPrefix(line, prefix) {
			s.t.Fatalf("reply %q, want %q", strings.TrimSpace(line), prefix)
		}
		return
	}
}

func (s *smtpScript) send(line, want string) {
	s.t.Helper()
	if _, err := s.c.Write([]byte(line + "\r\n")); err != nil {
		s.t.Fatal(err)
	}
	s.expect(want)
}

// message sends one transaction; body lines are dot-stuffed here.
func (s *smtpScript) message(from, to, body, want string) {
	s.t.Helper()
	s.send("MAIL FROM:<"+from+">", "250")
	s.send("RCPT TO:<"+to+">", "250")
	s.send("DATA", "354")
	var b strings.Builder
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, ".") {
			b.WriteByte('.')
		}
		b.WriteString(l + "\r\n")
	}
	b.WriteString(".")
	s.send(b.String(), want)
}

// TestRelayToEximOneConnectionAfterARefusal: a refused message and two
// relayed ones from one client connection reach real Exim over one
// connection of relayguard's own client: the RSET after the refusal goes
// pipelined with the next MAIL (Exim offers PIPELINING and drops a client
// that sends ahead without it: "SMTP protocol synchronization error"), the
// messages that fit one chunk go by BDAT (Exim offers CHUNKING and logs
// K), a larger one by DATA, and their bytes arrive as sent, leading dots
// and 8-bit text included.
func TestRelayToEximOneConnectionAfterARefusal(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, nil)

	s := dialSMTPScript(t, rg.Addr)
	s.expect("220 ")
	s.send("EHLO client.test", "250 ")
	s.message("sam@client.test", "alice@example.com",
		testMessage("sam@client.test", "alice@example.com", "You won", "Claim now.\n"+gtube+"\n"), "554 5.7.1")
	ham := "Budget notes for Monday.\n.a line that starts with a dot\n..and two\nGr\u00fc\u00dfe aus K\u00f6ln\n"
	for _, subject := range []string{"Budget notes", "Budget notes again"} {
		s.message("sam@client.test", "alice@example.com", testMessage("sam@client.test", "alice@example.com", subject, ham), "250 ")
	}
	// Past one BDAT chunk, the message goes by DATA, dot-stuffed.
	big := strings.Repeat(ham, 400) // ~38 KB
	s.message("sam@client.test", "alice@example.com", testMessage("sam@client.test", "alice@example.com", "Big budget", big), "250 ")
	s.send("QUIT", "221")

	got := waitMaildir(t, ex.maildir("alice"), 3)
	bigSeen := false
	for _, m := range got {
		if !strings.Contains(m.Raw, "\n.a line that starts with a dot\n..and two\nGr\u00fc\u00dfe aus K\u00f6ln\n") {
			t.Errorf("body changed on the way:\n%s", m.Raw)
		}
		if m.Header("Subject") == "Big budget" {
			bigSeen = true
			if !strings.Contains(m.Raw, big) {
				t.Errorf("the big message changed on the way")
			}
		}
	}
	if !bigSeen {
		t.Error("the big message is not among those delivered")
	}
	log := ex.mainlog()
	if strings.Contains(log, "synchronization error") {
		t.Errorf("Exim saw commands sent ahead:\n%s", log)
	}
	var chunked int
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, " <= sam@client.test ") && strings.Contains(l, " K ") {
			chunked++
		}
	}
	if chunked != 2 {
		t.Errorf("%d messages arrived by BDAT (K in the <= line), want 2:\n%s", chunked, log)
	}
}

// TestEximRefusingMailIsHeardAtRcpt: relayguard holds MAIL back and sends
// it with the first RCPT, so a MAIL the real Exim refuses reaches the
// client, which heard 250 for its MAIL, at every RCPT in Exim's words;
// Exim's answer to the RCPT sent behind the refused MAIL is read and
// dropped, and the next transaction on the same connection is relayed.
func TestEximRefusingMailIsHeardAtRcpt(t *testing.T) {
	needHarness(t)
	t.Parallel()
	port := freePort(t)
	ex := startExim(t, "exim", eximSetup{
		Config:    "exim-inbound.conf",
		Macros:    map[string]string{"SMTP_PORT": strconv.Itoa(port)},
		Ports:     []int{port},
		Mailboxes: []string{"alice"},
		Patch:     func(conf string) string { return refuseSenderAtMail(t, conf) },
	})
	rg := startRelayguard(t, inboundConfig(t, ex.addr(0)))

	s := dialSMTPScript(t, rg.Addr)
	s.expect("220 ")
	s.send("EHLO client.test", "250 ")
	s.send("MAIL FROM:<sam@refused-sender.test>", "250")
	s.send("RCPT TO:<alice@example.com>", "550 5.7.1 Sender refused by this site's policy")
	s.send("RCPT TO:<alice@example.com>", "550 5.7.1 Sender refused by this site's policy")
	s.send("RSET", "250")
	s.message("sam@client.test", "alice@example.com", testMessage("sam@client.test", "alice@example.com", "After a refusal", "Still here.\n"), "250 ")
	s.send("QUIT", "221")

	got := waitMaildir(t, ex.maildir("alice"), 1)
	if len(got) != 1 || got[0].Header("Subject") != "After a refusal" {
		t.Errorf("delivered %d messages, want the one after the refusal", len(got))
	}
	log := ex.mainlog()
	if strings.Contains(log, "synchronization error") {
		t.Errorf("Exim saw commands sent ahead:\n%s", log)
	}
	if !strings.Contains(log, "Sender refused by this site's policy") {
		t.Errorf("Exim's log does not show its refusal of the MAIL:\n%s", log)
	}
}

// refuseSenderAtMail gives the inbound Exim config a MAIL ACL that refuses
// one sender domain, as a site's sender policy would.
func refuseSenderAtMail(t *testing.T, conf string) string {
	t.Helper()
	for _, edit := range [][2]string{
		{"acl_smtp_rcpt = acl_check_rcpt\n", "acl_smtp_mail = acl_check_mail\nacl_smtp_rcpt = acl_check_rcpt\n"},
		{"begin acl\n", "begin acl\n\nacl_check_mail:\n  deny    senders = *@refused-sender.test\n          message = 5.7.1 Sender refused by this site's policy\n  accept\n"},
	} {
		if !strings.Contains(conf, edit[0]) {
			t.Fatalf("exim-inbound.conf has no %q to patch", edit[0])
		}
		conf = strings.Replace(conf, edit[0], edit[1], 1)
	}
	return conf
}
