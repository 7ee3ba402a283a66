package filter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/emersion/go-smtp"
)

// Upstream is the next hop: the MTA behind us, or a maildir in dev mode.
type Upstream interface {
	// Open starts a conversation with the next hop for one client session.
	Open(ctx context.Context) (UpstreamConn, error)
}

// UpstreamConn mirrors the client's transaction to the next hop, so the
// client hears the next hop's own answer to MAIL, RCPT and DATA. Errors the
// next hop answered are *smtp.SMTPError and go back to the client as they
// are; any other error means the conversation broke, and the connection must
// not be used again.
type UpstreamConn interface {
	// Mail starts a transaction. It may hold MAIL back and send it in one
	// write with the first Rcpt, when the next hop offers PIPELINING (RFC
	// 2920): held says so. A refusal of a held MAIL, or a failure to hear
	// its answer, then comes from Rcpt as a *heldMailError, for that and
	// every later Rcpt of the transaction.
	Mail(from string, opts *smtp.MailOptions) (held bool, err error)
	Rcpt(to string) error
	// Data sends header, then body, as the message. On success it returns
	// the next hop's reply text (which carries its queue id).
	Data(header []byte, body io.Reader) (string, error)
	Reset() error
	Close() error
}

// TLSMode is how we use STARTTLS toward the next hop.
type TLSMode string

const (
	TLSOff           TLSMode = "off"
	TLSOpportunistic TLSMode = "opportunistic"
	TLSRequired      TLSMode = "required"
)

// SMTPUpstream relays to an SMTP server.
type SMTPUpstream struct {
	Addr     string
	Hostname string // our name in EHLO
	TLS      TLSMode
	// TLSVerify checks the next hop's certificate (with TLSRequired).
	TLSVerify bool
	Timeout   time.Duration
	Username  string
	Password  string
}

// Open dials, greets, and does STARTTLS and AUTH as configured.
func (u *SMTPUpstream) Open(ctx context.Context) (UpstreamConn, error) {
	c, err := u.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", u.Addr, err)
	}
	return c, nil
}

var errNoSTARTTLS = errors.New("STARTTLS not offered")

// open says EHLO with our hostname, then STARTTLS and EHLO again when
// offered (or required), on one connection: an upstream that does not
// offer STARTTLS costs nothing more under TLSOpportunistic.
func (u *SMTPUpstream) open(ctx context.Context) (*upClient, error) {
	d := net.Dialer{Timeout: u.Timeout}
	conn, err := d.DialContext(ctx, "tcp", u.Addr)
	if err != nil {
		return nil, err
	}
	c := newUpClient(conn, u.Timeout)
	if err := u.greet(c); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (u *SMTPUpstream) greet(c *upClient) error {
	if err := c.greet(); err != nil {
		return err
	}
	if err := c.hello(u.Hostname); err != nil {
		return err
	}
	if u.TLS != TLSOff {
		switch {
		case c.caps.startTLS:
			host, _, _ := net.SplitHostPort(u.Addr)
			cfg := &tls.Config{
				ServerName: host,
				// RFC 7435: opportunistic TLS encrypts without
				// authenticating; verification is asked for with
				// tls_verify.
				InsecureSkipVerify: !u.TLSVerify,
			}
			if err := c.startTLS(cfg, u.Hostname); err != nil {
				return fmt.Errorf("starttls: %w", err)
			}
		case u.TLS == TLSRequired:
			return errNoSTARTTLS
		}
	}
	if u.Username != "" {
		if err := c.authPlain(u.Username, u.Password); err != nil {
			return fmt.Errorf("auth as %s: %w", u.Username, err)
		}
	}
	return nil
}

// isReply tells whether err is an answer from the next hop (to pass on to
// the client) rather than a broken conversation.
// heldMailError is the next hop's refusal of a MAIL that was held back and
// sent with the first RCPT, or the failure to hear its answer.
type heldMailError struct{ err error }

func (e *heldMailError) Error() string { return "MAIL: " + e.err.Error() }
func (e *heldMailError) Unwrap() error { return e.err }

func isReply(err error) (*smtp.SMTPError, bool) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se, true
	}
	return nil, false
}
