package filter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"

	"relayguard/scoring"
)

func testTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func writeUsers(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "users")
	content := ""
	for _, l := range lines {
		content += l + "\n"
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func startAuthServer(t *testing.T) *testServer {
	t.Helper()
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	users, err := LoadUsers(writeUsers(t, "# customers", "", "alice:"+string(hash)))
	if err != nil {
		t.Fatal(err)
	}
	opts := defaultTestOptions()
	opts.TLS = testTLS(t)
	ts := startServer(t, opts, scoring.DefaultPolicy(), nil)
	ts.srv.users = users
	return ts
}

func tlsClient(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClientStartTLS(conn, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestAuthenticatedClientMayRelay(t *testing.T) {
	ts := startAuthServer(t)
	for _, mech := range []sasl.Client{sasl.NewPlainClient("", "alice", "s3cret"), sasl.NewLoginClient("alice", "s3cret")} {
		c := tlsClient(t, ts.addr)
		if ok, mechs := c.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
			t.Fatalf("AUTH after STARTTLS = %v %q", ok, mechs)
		}
		if err := c.Mail("alice@customer.example", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("friend@other.example", nil); err == nil {
			t.Fatal("relay allowed before AUTH")
		}
		c.Reset()
		if err := c.Auth(mech); err != nil {
			t.Fatalf("auth: %v", err)
		}
		if err := c.Mail("alice@customer.example", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("friend@other.example", nil); err != nil {
			t.Fatalf("relay refused after AUTH: %v", err)
		}
	}
}

func TestWrongPasswordsEndTheSession(t *testing.T) {
	ts := startAuthServer(t)
	c := tlsClient(t, ts.addr)
	var err error
	for _, pass := range []string{"guess1", "guess2", "guess3"} {
		err = c.Auth(sasl.NewPlainClient("", "alice", pass))
		if err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	if se, ok := err.(*smtp.SMTPError); !ok || se.Code != 421 {
		t.Fatalf("third failure = %v, want 421", err)
	}
	if err := c.Noop(); err == nil {
		t.Error("session still open after too many failures")
	}
	c2 := tlsClient(t, ts.addr)
	if err := c2.Auth(sasl.NewPlainClient("", "mallory", "s3cret")); err == nil {
		t.Error("unknown user accepted")
	}
}

func TestLoadUsersRefusesNonBcrypt(t *testing.T) {
	for _, line := range []string{"bob:plaintext", "bob:$apr1$abc$def", ":$2y$10$abc", "nocolon"} {
		if _, err := LoadUsers(writeUsers(t, line)); err == nil {
			t.Errorf("accepted %q", line)
		}
	}
}
