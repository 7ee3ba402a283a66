package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Sink is a go-smtp backend that accepts every message, counts it and
// throws it away, or with a maildir writes it there.
type Sink struct {
	maildir string // "" discards messages
	host    string // for maildir file names
	seq     atomic.Int64

	sessions atomic.Int64
	messages atomic.Int64
	bytes    atomic.Int64
	failed   atomic.Int64
}

// NewSink makes a sink; with maildir != "" it creates the Maildir's cur,
// new and tmp folders and keeps each message there.
func NewSink(maildir string) (*Sink, error) {
	s := &Sink{maildir: maildir}
	if maildir == "" {
		return s, nil
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(maildir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("maildir: %w", err)
		}
	}
	var b [4]byte
	rand.Read(b[:])
	s.host = "smtpsink-" + hex.EncodeToString(b[:])
	return s, nil
}

// Stats is what a sink has received.
type Stats struct {
	Sessions, Messages, Bytes, Failed int64
}

// Stats returns the counts so far.
func (s *Sink) Stats() Stats {
	return Stats{
		Sessions: s.sessions.Load(),
		Messages: s.messages.Load(),
		Bytes:    s.bytes.Load(),
		Failed:   s.failed.Load(),
	}
}

func (s *Sink) NewSession(*smtp.Conn) (smtp.Session, error) {
	s.sessions.Add(1)
	return &session{sink: s}, nil
}

// session accepts any sender and recipient.
type session struct{ sink *Sink }

func (*session) Mail(string, *smtp.MailOptions) error { return nil }
func (*session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*session) Reset()                               {}
func (*session) Logout() error                        { return nil }

func (ss *session) Data(r io.Reader) error {
	s := ss.sink
	var n int64
	var err error
	if s.maildir == "" {
		n, err = io.Copy(io.Discard, r)
	} else {
		n, err = s.deliver(r)
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se // too big: the client's fault, go-smtp's reply
	}
	if err != nil {
		s.failed.Add(1)
		log.Printf("smtpsink: %v", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error, try again later"}
	}
	s.messages.Add(1)
	s.bytes.Add(n)
	return nil
}

// deliver writes one message into the Maildir: into tmp, then renamed into
// new, so a reader never sees half a message.
func (s *Sink) deliver(r io.Reader) (int64, error) {
	name := strconv.FormatInt(time.Now().Unix(), 10) + "." +
		strconv.FormatInt(s.seq.Add(1), 10) + "." + s.host
	tmp := filepath.Join(s.maildir, "tmp", name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, fmt.Errorf("maildir: %w", err)
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.maildir, "new", name))
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("maildir %s: %w", name, err)
	}
	return n, nil
}
