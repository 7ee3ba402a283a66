package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// serve starts a sink on a loopback port and returns its address.
func serve(t *testing.T, s *Sink) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(s, "sink.test", 1<<20)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// send delivers msgs over one connection.
func send(t *testing.T, addr string, msgs ...string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = 5*time.Second, 5*time.Second
	for _, m := range msgs {
		if err := c.SendMail("a@example.com", []string{"b@example.net", "c@example.net"}, strings.NewReader(m)); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	if err := c.Quit(); err != nil {
		t.Fatalf("QUIT: %v", err)
	}
}

func TestSinkCountsAndDiscards(t *testing.T) {
	s, err := NewSink("")
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, s)
	m1 := "Subject: one\r\n\r\nhello\r\n"
	m2 := "Subject: two\r\n\r\n" + strings.Repeat("line of text\r\n", 1000)
	send(t, addr, m1, m2)
	send(t, addr, m1)
	got := s.Stats()
	want := Stats{Sessions: 2, Messages: 3, Bytes: int64(2*len(m1) + len(m2))}
	if got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

func TestSinkRefusesOversizedMessage(t *testing.T) {
	s, _ := NewSink("")
	addr := serve(t, s)
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.SendMail("a@example.com", []string{"b@example.net"}, bytes.NewReader(bytes.Repeat([]byte("x\r\n"), 1<<19)))
	if se, ok := err.(*smtp.SMTPError); !ok || se.Code != 552 {
		t.Errorf("oversized message: %v, want 552", err)
	}
	if s.Stats().Messages != 0 {
		t.Errorf("oversized message counted")
	}
}

func TestSinkMaildirKeepsMessages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Maildir")
	s, err := NewSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, s)
	m := "Subject: kept\r\n\r\nbody\r\n"
	send(t, addr, m, m)
	files, err := os.ReadDir(filepath.Join(dir, "new"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("%d files in new/, want 2", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, "new", f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != m {
			t.Errorf("%s holds %q, want %q", f.Name(), data, m)
		}
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("%d files left in tmp/", len(tmp))
	}
}

func TestSinkMaildirFailureIsTemporary(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Maildir")
	s, err := NewSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, s)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.SendMail("a@example.com", []string{"b@example.net"}, strings.NewReader("Subject: x\r\n\r\ny\r\n"))
	if se, ok := err.(*smtp.SMTPError); !ok || se.Code != 451 {
		t.Errorf("delivery into a removed maildir: %v, want 451", err)
	}
	if st := s.Stats(); st.Failed != 1 || st.Messages != 0 {
		t.Errorf("stats %+v, want 1 failed and no message", st)
	}
}

func TestMainHelpAndBadFlags(t *testing.T) {
	var errOut bytes.Buffer
	if code := mainWithArgs([]string{"-h"}, &errOut); code != 0 {
		t.Errorf("-h exit %d, want 0", code)
	}
	if !strings.Contains(errOut.String(), "discards it") || !strings.Contains(errOut.String(), "-listen") {
		t.Errorf("-h output does not explain the tool:\n%s", errOut.String())
	}
	if code := mainWithArgs([]string{"-bogus"}, &errOut); code != 2 {
		t.Errorf("bad flag exit %d, want 2", code)
	}
	if code := mainWithArgs([]string{"-listen", "256.0.0.1:1"}, &errOut); code != 1 {
		t.Errorf("bad listen address exit %d, want 1", code)
	}
}
