package filter

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mta is an in-process next hop that records what it is sent.
type mta struct {
	mu     sync.Mutex
	helo   []string
	tls    []bool
	got    []string
	refuse string
}

func (m *mta) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	m.mu.Lock()
	m.helo = append(m.helo, c.Hostname())
	m.tls = append(m.tls, isTLS)
	m.mu.Unlock()
	return &mtaSession{m: m}, nil
}

type mtaSession struct{ m *mta }

func (s *mtaSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mtaSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.m.refuse {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	return nil
}
func (s *mtaSession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.m.mu.Lock()
	s.m.got = append(s.m.got, string(b))
	s.m.mu.Unlock()
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK id=1x2y3z"}
}
func (s *mtaSession) Reset()        {}
func (s *mtaSession) Logout() error { return nil }

func startMTA(t *testing.T, withTLS bool) (*mta, string) {
	t.Helper()
	m := &mta{refuse: "nobody@example.org"}
	srv := smtp.NewServer(m)
	srv.Domain = "mta.test"
	srv.AllowInsecureAuth = true
	if withTLS {
		srv.TLSConfig = testTLS(t)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return m, l.Addr().String()
}

func TestSMTPUpstreamRelaysAndPassesRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mtaTLS  bool
		mode    TLSMode
		wantTLS bool
	}{
		{"plain", false, TLSOff, false},
		{"opportunistic, offered", true, TLSOpportunistic, true},
		{"opportunistic, not offered", false, TLSOpportunistic, false},
		{"required", true, TLSRequired, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, addr := startMTA(t, tc.mtaTLS)
			u := &SMTPUpstream{Addr: addr, Hostname: "relayguard.test", TLS: tc.mode, Timeout: 5 * time.Second}
			for i := 0; i < 2; i++ { // twice: the second uses what the first learnt
				c, err := u.Open(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Mail("a@example.org", &smtp.MailOptions{Size: 100}); err != nil {
					t.Fatal(err)
				}
				err = c.Rcpt("nobody@example.org")
				if se, ok := isReply(err); !ok || se.Code != 550 || se.Message != "No such user" {
					t.Fatalf("refused rcpt = %v, want the MTA's 550 as is", err)
				}
				if err := c.Rcpt("user@example.org"); err != nil {
					t.Fatal(err)
				}
				text, err := c.Data([]byte("X-Added: yes\r\n"), strings.NewReader("Subject: hi\r\n\r\n.leading dot\r\n"))
				if err != nil || !strings.Contains(text, "id=1x2y3z") {
					t.Fatalf("Data = %q, %v", text, err)
				}
				c.Close()
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			if len(m.got) != 2 || m.got[0] != "X-Added: yes\r\nSubject: hi\r\n\r\n.leading dot\r\n" {
				t.Errorf("MTA got %q", m.got)
			}
			last := len(m.helo) - 1
			if m.helo[last] != "relayguard.test" || m.tls[last] != tc.wantTLS {
				t.Errorf("last session: helo %q tls %v, want relayguard.test tls %v", m.helo[last], m.tls[last], tc.wantTLS)
			}
		})
	}
}

func TestSMTPUpstreamRequiredTLSFailsWithoutIt(t *testing.T) {
	_, addr := startMTA(t, false)
	u := &SMTPUpstream{Addr: addr, Hostname: "relayguard.test", TLS: TLSRequired, Timeout: 5 * time.Second}
	if _, err := u.Open(context.Background()); err == nil {
		t.Fatal("opened a plaintext session with starttls = required")
	}
}

func TestSMTPUpstreamUnreachable(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	u := &SMTPUpstream{Addr: addr, Hostname: "x", TLS: TLSOff, Timeout: time.Second}
	_, err := u.Open(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	if _, ok := isReply(err); ok || errors.Is(err, errNoSTARTTLS) {
		t.Errorf("a dial failure looks like an upstream reply: %v", err)
	}
}
