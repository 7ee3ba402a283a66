package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is an in-process SMTP server that keeps what it receives and can
// be told to refuse some messages.
type sink struct {
	tempfailEvery int  // answer every k-th DATA with 451
	rejectGTUBE   bool // answer bodies with GTUBE with 554 5.7.1
	refuseMail    bool // answer MAIL with 550 5.7.1
	hold          chan struct{}

	mu       sync.Mutex
	messages []received
	sessions []*sinkSession
	datas    int
}

type received struct {
	from, to string
	data     []byte
}

type sinkSession struct {
	s        *sink
	from, to string
	messages int
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) {
	ss := &sinkSession{s: s}
	s.mu.Lock()
	s.sessions = append(s.sessions, ss)
	s.mu.Unlock()
	return ss, nil
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.refuseMail {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender refused"}
	}
	ss.from = from
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = to
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	if s.hold != nil {
		<-s.hold
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.datas++
	ss.messages++
	if s.tempfailEvery > 0 && s.datas%s.tempfailEvery == 0 {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	if s.rejectGTUBE && bytes.Contains(data, []byte(gtube)) {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "spam\nscore 1000 >= 15"}
	}
	s.messages = append(s.messages, received{ss.from, ss.to, data})
	return nil
}

func (ss *sinkSession) Reset()        {}
func (ss *sinkSession) Logout() error { return nil }

// received returns a copy of the messages kept so far.
func (s *sink) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.messages...)
}

// sessionCount returns how many sessions were opened.
func (s *sink) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// start serves s on a loopback port and returns its address.
func (s *sink) start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(s)
	srv.Domain = "sink.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// bothModes runs test with each command waiting for its reply, and with
// MAIL, RCPT and DATA pipelined.
func bothModes(t *testing.T, test func(t *testing.T, pipeline bool)) {
	for _, pipeline := range []bool{false, true} {
		t.Run(fmt.Sprintf("pipeline=%v", pipeline), func(t *testing.T) { test(t, pipeline) })
	}
}

// A refused MAIL in a pipelined transaction: the replies to the RCPT and
// DATA behind it are read too, so every message gets the MAIL's refusal
// and the conversation stays in step.
func TestRunPipelinedRefusedMailStaysInStep(t *testing.T) {
	s := &sink{refuseMail: true}
	cfg := testConfig(s.start(t))
	cfg.Messages, cfg.Concurrency, cfg.Pipeline = 5, 1, true
	rep := runOK(t, cfg)
	if rep.Failures["550"] != 5 || len(rep.Failures) != 1 || rep.Connections != 1 {
		t.Errorf("failures %v over %d connections, want 550:5 over 1", rep.Failures, rep.Connections)
	}
	if ex := rep.Examples["550"]; !strings.Contains(ex, "MAIL FROM: 550 5.7.1 sender refused") {
		t.Errorf("550 example %q", ex)
	}
}

func testConfig(addr string) Config {
	return Config{
		Addr: addr, Messages: 25, Size: 1000, Concurrency: 4,
		From: "load@example.com", To: "user@example.net", Helo: "load.test",
		Timeout: 10 * time.Second,
	}
}

func runOK(t *testing.T, cfg Config) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := run(ctx, cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

func TestRunDeliversEveryMessage(t *testing.T) { bothModes(t, testRunDeliversEveryMessage) }

func testRunDeliversEveryMessage(t *testing.T, pipeline bool) {
	s := &sink{}
	cfg := testConfig(s.start(t))
	cfg.Pipeline = pipeline
	rep := runOK(t, cfg)

	msgs := s.received()
	if len(msgs) != cfg.Messages {
		t.Fatalf("sink got %d messages, want %d", len(msgs), cfg.Messages)
	}
	var total int64
	ids := map[string]bool{}
	for i, m := range msgs {
		total += int64(len(m.data))
		header, body, ok := bytes.Cut(m.data, []byte("\r\n\r\n"))
		if !ok {
			t.Fatalf("message %d has no header/body separator", i)
		}
		if len(body) != cfg.Size {
			t.Errorf("message %d body is %d bytes, want %d", i, len(body), cfg.Size)
		}
		for _, f := range []string{"Date: ", "From: ", "To: <user@example.net>", "Subject: ", "Message-ID: <"} {
			if !bytes.Contains(header, []byte("\r\n"+f)) && !bytes.HasPrefix(header, []byte(f)) {
				t.Errorf("message %d header lacks %q:\n%s", i, f, header)
			}
		}
		id := string(header[bytes.Index(header, []byte("Message-ID:")):])
		id, _, _ = strings.Cut(id, "\r\n")
		if ids[id] {
			t.Errorf("duplicate %s", id)
		}
		ids[id] = true
		for _, line := range strings.Split(string(m.data), "\r\n") {
			if len(line) >= 78 {
				t.Errorf("message %d has a %d-character line: %q", i, len(line), line)
			}
		}
		if m.from != cfg.From || m.to != cfg.To {
			t.Errorf("message %d envelope %s -> %s, want %s -> %s", i, m.from, m.to, cfg.From, cfg.To)
		}
	}

	if rep.Requested != 25 || rep.Attempted != 25 || rep.Accepted != 25 {
		t.Errorf("report requested/attempted/accepted = %d/%d/%d, want 25/25/25", rep.Requested, rep.Attempted, rep.Accepted)
	}
	if rep.Rejected != 0 || rep.NoReply != 0 || rep.Unexpected != 0 || len(rep.Failures) != 0 {
		t.Errorf("report shows failures: %+v", rep)
	}
	if rep.Bytes != total {
		t.Errorf("report bytes %d, sink received %d", rep.Bytes, total)
	}
	if n := s.sessionCount(); rep.Connections != n || n > cfg.Concurrency || n < 1 {
		t.Errorf("report connections %d, sink sessions %d, concurrency %d", rep.Connections, n, cfg.Concurrency)
	}
	l := rep.Latency
	if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("latency percentiles out of order: %+v", l)
	}
	if rep.Rate <= 0 || rep.CPUSec <= 0 {
		t.Errorf("rate %v, CPU %v s; want both positive", rep.Rate, rep.CPUSec)
	}
}

func TestRunDomainRotatesRecipients(t *testing.T) {
	s := &sink{}
	cfg := testConfig(s.start(t))
	cfg.To, cfg.Messages = "example.org", 5
	runOK(t, cfg)
	seen := map[string]bool{}
	for _, m := range s.received() {
		if !strings.HasSuffix(m.to, "@example.org") {
			t.Errorf("recipient %q not in example.org", m.to)
		}
		seen[m.to] = true
	}
	if len(seen) != 5 {
		t.Errorf("got %d distinct recipients, want 5: %v", len(seen), seen)
	}
}

func TestRunPerConnReconnects(t *testing.T) {
	s := &sink{}
	cfg := testConfig(s.start(t))
	cfg.Messages, cfg.Concurrency, cfg.PerConn = 10, 2, 3
	rep := runOK(t, cfg)
	if rep.Accepted != 10 {
		t.Fatalf("accepted %d, want 10", rep.Accepted)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rep.Connections != len(s.sessions) {
		t.Errorf("report connections %d, sink sessions %d", rep.Connections, len(s.sessions))
	}
	if len(s.sessions) < 4 { // at least ceil(10/3)
		t.Errorf("%d sessions for 10 messages at 3 per connection", len(s.sessions))
	}
	for i, ss := range s.sessions {
		if ss.messages > 3 {
			t.Errorf("session %d carried %d messages, want at most 3", i, ss.messages)
		}
	}
}

func TestRunCountsFailuresByReplyCode(t *testing.T) { bothModes(t, testRunCountsFailuresByReplyCode) }

func testRunCountsFailuresByReplyCode(t *testing.T, pipeline bool) {
	s := &sink{tempfailEvery: 3}
	cfg := testConfig(s.start(t))
	cfg.Pipeline = pipeline
	cfg.Messages, cfg.Concurrency = 9, 1
	rep := runOK(t, cfg)
	if rep.Accepted != 6 || rep.Rejected != 3 || rep.Unexpected != 3 {
		t.Errorf("accepted/rejected/unexpected = %d/%d/%d, want 6/3/3", rep.Accepted, rep.Rejected, rep.Unexpected)
	}
	if rep.Failures["451"] != 3 || len(rep.Failures) != 1 {
		t.Errorf("failures %v, want 451:3", rep.Failures)
	}
	if ex := rep.Examples["451"]; !strings.Contains(ex, "451 4.3.0 try again later") {
		t.Errorf("451 example %q lacks the reply", ex)
	}
	if len(s.received()) != 6 {
		t.Errorf("sink kept %d messages, want 6", len(s.received()))
	}
	// All 9 were transferred, so all count as bytes sent.
	var one int64
	for _, m := range s.received() {
		one = int64(len(m.data))
	}
	if rep.Bytes < 9*(one-10) || rep.Bytes > 9*(one+10) {
		t.Errorf("bytes %d, want about 9 x %d", rep.Bytes, one)
	}
}

func TestRunGTUBERejectsAreExpected(t *testing.T) { bothModes(t, testRunGTUBERejectsAreExpected) }

func testRunGTUBERejectsAreExpected(t *testing.T, pipeline bool) {
	s := &sink{rejectGTUBE: true}
	cfg := testConfig(s.start(t))
	cfg.Pipeline = pipeline
	cfg.Messages, cfg.GTUBE = 10, 0.5
	rep := runOK(t, cfg)
	if rep.GTUBE != 5 || rep.GTUBEReject != 5 {
		t.Errorf("gtube %d, gtube rejected %d, want 5 and 5", rep.GTUBE, rep.GTUBEReject)
	}
	if rep.Accepted != 5 || rep.Failures["554"] != 5 || rep.Unexpected != 0 {
		t.Errorf("accepted %d, failures %v, unexpected %d; want 5, 554:5, 0", rep.Accepted, rep.Failures, rep.Unexpected)
	}
	if ex := rep.Examples["554"]; !strings.Contains(ex, "554") || !strings.Contains(ex, "spam | ") ||
		!strings.Contains(ex, "score 1000") || strings.Contains(ex, "\n") {
		t.Errorf("554 example %q: want the multi-line reply on one line", ex)
	}
	for _, m := range s.received() {
		if bytes.Contains(m.data, []byte(gtube)) {
			t.Errorf("an accepted message carries GTUBE")
		}
	}
}

func TestRunGTUBEAcceptedIsNotAFailure(t *testing.T) {
	s := &sink{}
	cfg := testConfig(s.start(t))
	cfg.Messages, cfg.GTUBE = 4, 1
	rep := runOK(t, cfg)
	if rep.GTUBE != 4 || rep.Accepted != 4 || rep.Unexpected != 0 {
		t.Errorf("gtube %d accepted %d unexpected %d, want 4 4 0", rep.GTUBE, rep.Accepted, rep.Unexpected)
	}
	for _, m := range s.received() {
		_, body, _ := bytes.Cut(m.data, []byte("\r\n\r\n"))
		if len(body) != cfg.Size || !bytes.Contains(body, []byte(gtube)) {
			t.Errorf("GTUBE body of %d bytes, GTUBE present %v", len(body), bytes.Contains(body, []byte(gtube)))
		}
	}
}

func TestRunNoServerCountsNoReply(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := testConfig(addr)
	cfg.Messages = 5
	rep := runOK(t, cfg)
	if rep.NoReply != 5 || rep.Failures[noReplyKey] != 5 || rep.Unexpected != 5 || rep.Accepted != 0 {
		t.Errorf("report %+v, want 5 without reply", rep)
	}
	if !strings.Contains(rep.Examples[noReplyKey], "connect") {
		t.Errorf("example %q does not say the connection failed", rep.Examples[noReplyKey])
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	s := &sink{hold: make(chan struct{})}
	defer close(s.hold)
	cfg := testConfig(s.start(t))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err := run(ctx, cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("run error %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("run took %v after cancellation", d)
	}
	if rep.Accepted != 0 {
		t.Errorf("accepted %d while the server held every message", rep.Accepted)
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no messages":    func(c *Config) { c.Messages = 0 },
		"no connections": func(c *Config) { c.Concurrency = 0 },
		"size 1":         func(c *Config) { c.Size = 1 },
		"gtube too big":  func(c *Config) { c.GTUBE = 1.5 },
		"gtube no room":  func(c *Config) { c.GTUBE, c.Size = 1, 50 },
		"per-conn < 0":   func(c *Config) { c.PerConn = -1 },
		"no port":        func(c *Config) { c.Addr = "127.0.0.1" },
		"bad sender":     func(c *Config) { c.From = "nobody" },
		"bad recipient":  func(c *Config) { c.To = "user@" },
		"zero timeout":   func(c *Config) { c.Timeout = 0 },
	} {
		cfg := testConfig("127.0.0.1:2525")
		mod(&cfg)
		if _, err := run(context.Background(), cfg); err == nil {
			t.Errorf("%s: run accepted the config", name)
		}
	}
}

func TestMainExitStatus(t *testing.T) {
	s := &sink{tempfailEvery: 2}
	addr := s.start(t)
	var out, errOut bytes.Buffer

	if code := mainWithArgs([]string{"-h"}, &out, &errOut); code != 0 {
		t.Errorf("-h exit %d, want 0", code)
	}
	if !strings.Contains(errOut.String(), "smtp-source") || !strings.Contains(errOut.String(), "-per-conn") {
		t.Errorf("-h output does not explain the tool:\n%s", errOut.String())
	}
	if code := mainWithArgs([]string{"-n", "0"}, &out, &errOut); code != 2 {
		t.Errorf("-n 0 exit %d, want 2", code)
	}

	out.Reset()
	code := mainWithArgs([]string{"-addr", addr, "-n", "4", "-c", "1", "-s", "300", "-json"}, &out, &errOut)
	if code != 1 {
		t.Errorf("exit %d with 2 of 4 messages temp-failed, want 1", code)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("-json output %q: %v", out.String(), err)
	}
	if rep.Accepted != 2 || rep.Failures["451"] != 2 {
		t.Errorf("JSON report accepted %d failures %v, want 2 and 451:2", rep.Accepted, rep.Failures)
	}

	ok := &sink{}
	out.Reset()
	if code := mainWithArgs([]string{"-addr", ok.start(t), "-n", "3", "-c", "2"}, &out, &errOut); code != 0 {
		t.Errorf("exit %d with every message accepted, want 0", code)
	}
	if !strings.Contains(out.String(), "msgs/s") || !strings.Contains(out.String(), "p99") {
		t.Errorf("text report lacks rate or latency:\n%s", out.String())
	}
}
