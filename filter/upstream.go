package filter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
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
	Mail(from string, opts *smtp.MailOptions) error
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

	plainSince atomic.Int64 // unix nanos when STARTTLS was last found missing
}

// Open dials, greets, and does STARTTLS and AUTH as configured.
func (u *SMTPUpstream) Open(ctx context.Context) (UpstreamConn, error) {
	c, err := u.dial(ctx, u.TLS != TLSOff && !u.knownPlain())
	if errors.Is(err, errNoSTARTTLS) && u.TLS == TLSOpportunistic {
		u.notePlain()
		c, err = u.dial(ctx, false)
	}
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", u.Addr, err)
	}
	if u.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", u.Username, u.Password)); err != nil {
			c.Close()
			return nil, fmt.Errorf("upstream %s: auth as %s: %w", u.Addr, u.Username, err)
		}
	}
	return &smtpConn{c: c}, nil
}

var errNoSTARTTLS = errors.New("STARTTLS not offered")

// dial connects and says EHLO with our hostname, after STARTTLS when
// starttls is set. go-smtp's client can only start TLS from a fresh
// connection (its pre-TLS EHLO names "localhost"; the one that counts,
// after TLS, names us), so an upstream that turns out not to offer
// STARTTLS costs one more connection, and is remembered for a while.
func (u *SMTPUpstream) dial(ctx context.Context, starttls bool) (*smtp.Client, error) {
	d := net.Dialer{Timeout: u.Timeout}
	conn, err := d.DialContext(ctx, "tcp", u.Addr)
	if err != nil {
		return nil, err
	}
	var c *smtp.Client
	if starttls {
		host, _, _ := net.SplitHostPort(u.Addr)
		cfg := &tls.Config{
			ServerName: host,
			// RFC 7435: opportunistic TLS encrypts without authenticating;
			// verification is asked for with tls_verify.
			InsecureSkipVerify: !u.TLSVerify,
		}
		c, err = smtp.NewClientStartTLS(withDeadline(conn, u.Timeout), cfg)
		if err != nil {
			conn.Close()
			if strings.Contains(err.Error(), "doesn't support STARTTLS") {
				return nil, errNoSTARTTLS
			}
			return nil, fmt.Errorf("starttls: %w", err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = u.Timeout
	c.SubmissionTimeout = u.Timeout
	if err := c.Hello(u.Hostname); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// plainFor is how long an upstream that did not offer STARTTLS is dialled
// without trying it.
const plainFor = 10 * time.Minute

func (u *SMTPUpstream) knownPlain() bool {
	t := u.plainSince.Load()
	return t != 0 && time.Since(time.Unix(0, t)) < plainFor
}

func (u *SMTPUpstream) notePlain() { u.plainSince.Store(time.Now().UnixNano()) }

// withDeadline bounds the STARTTLS exchange, which go-smtp runs before our
// timeouts can be set on the client.
func withDeadline(c net.Conn, d time.Duration) net.Conn {
	c.SetDeadline(time.Now().Add(d))
	return c
}

type smtpConn struct{ c *smtp.Client }

func (s *smtpConn) Mail(from string, opts *smtp.MailOptions) error {
	// Only what the next hop needs to judge the transaction travels on:
	// SIZE, BODY (go-smtp sends 8BITMIME when offered) and SMTPUTF8.
	var o smtp.MailOptions
	if opts != nil {
		o.Size, o.UTF8 = opts.Size, opts.UTF8
	}
	return s.c.Mail(formatPath(from), &o)
}

func (s *smtpConn) Rcpt(to string) error { return s.c.Rcpt(formatPath(to), nil) }

func (s *smtpConn) Data(header []byte, body io.Reader) (string, error) {
	w, err := s.c.Data()
	if err != nil {
		return "", err
	}
	if _, err := w.Write(header); err != nil {
		w.Close()
		return "", err
	}
	if err := copyPooled(w, body); err != nil {
		w.Close()
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	return resp.StatusText, nil
}

func (s *smtpConn) Reset() error { return s.c.Reset() }

// quitTimeout bounds the wait for the answer to QUIT: a next hop that
// stopped answering must not hold the client's session for relay.timeout.
const quitTimeout = 5 * time.Second

func (s *smtpConn) Close() error {
	s.c.CommandTimeout = quitTimeout
	err := s.c.Quit()
	s.c.Close()
	return err
}

// isReply tells whether err is an answer from the next hop (to pass on to
// the client) rather than a broken conversation.
func isReply(err error) (*smtp.SMTPError, bool) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se, true
	}
	return nil, false
}

// copyBuffers are reused across messages: io.Copy into go-smtp's data
// writer (no ReaderFrom) allocates 32 KiB each time otherwise.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func copyPooled(w io.Writer, r io.Reader) error {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	_, err := io.CopyBuffer(w, r, *bp)
	return err
}
