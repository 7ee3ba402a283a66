package filter

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// MaildirUpstream delivers each accepted message as a file in a Maildir
// (tmp/, then renamed into new/, as the Maildir format asks, so a reader
// never sees half a message). It is the next hop of `relayguard dev` and of
// tests; it accepts every recipient.
type MaildirUpstream struct {
	Dir      string
	Hostname string
	seq      atomic.Uint64
}

// NewMaildirUpstream creates the Maildir folders if needed.
func NewMaildirUpstream(dir, hostname string) (*MaildirUpstream, error) {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("maildir: %w", err)
		}
	}
	return &MaildirUpstream{Dir: dir, Hostname: hostname}, nil
}

func (m *MaildirUpstream) Open(context.Context) (UpstreamConn, error) {
	return &maildirConn{m: m}, nil
}

type maildirConn struct {
	m     *MaildirUpstream
	rcpts int
}

func (c *maildirConn) Mail(string, *smtp.MailOptions) (bool, error) { c.rcpts = 0; return false, nil }
func (c *maildirConn) Rcpt(string) error                            { c.rcpts++; return nil }
func (c *maildirConn) Reset() error                                 { c.rcpts = 0; return nil }
func (c *maildirConn) Close() error                                 { return nil }

// Data writes the message with LF line ends (the Maildir convention) and
// fsyncs it before the rename: the client hears 250 only once the message
// is on disk.
func (c *maildirConn) Data(header []byte, body io.Reader) (string, error) {
	name := fmt.Sprintf("%d.M%dP%dQ%d.%s", time.Now().Unix(), time.Now().Nanosecond()/1000,
		os.Getpid(), c.m.seq.Add(1), strings.ReplaceAll(c.m.Hostname, "/", "_"))
	tmp := filepath.Join(c.m.Dir, "tmp", name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("maildir: %w", err)
	}
	w := &lfWriter{w: bufio.NewWriter(f)}
	_, err = io.Copy(w, io.MultiReader(bytes.NewReader(header), body))
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(c.m.Dir, "new", name))
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("maildir: %w", err)
	}
	return "delivered to maildir as " + name, nil
}

// lfWriter turns CRLF into LF. A CR at the end of one write waits for the
// next to see whether an LF follows. bufio.Writer keeps the first error,
// which Flush reports.
type lfWriter struct {
	w  *bufio.Writer
	cr bool
}

func (l *lfWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if l.cr && b != '\n' {
			l.w.WriteByte('\r')
		}
		l.cr = b == '\r'
		if !l.cr {
			l.w.WriteByte(b)
		}
	}
	return len(p), nil
}

func (l *lfWriter) Flush() error {
	if l.cr {
		l.w.WriteByte('\r')
		l.cr = false
	}
	return l.w.Flush()
}
