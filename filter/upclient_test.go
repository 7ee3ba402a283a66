package filter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// scriptMTA is a next hop on a raw socket that answers from a script and
// records the commands and messages it is sent, and whether each RSET
// arrived with the next command already behind it (pipelined).
type scriptMTA struct {
	caps       []string // EHLO keywords; nil answers EHLO with 502
	refuseData bool     // 554 to DATA
	silentAt   string   // a verb that gets no answer, ever
	injectTLS  bool     // STARTTLS: 220 with a plaintext reply behind it

	mu        sync.Mutex
	cmds      []string
	rsetPiped []bool
	mailPiped []bool // whether each MAIL arrived with the next command behind it
	msgs      []string
}

func startScriptMTA(t *testing.T, m *scriptMTA) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go m.serve(c)
		}
	}()
	return l.Addr().String()
}

func (m *scriptMTA) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(lines ...string) { io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n") }
	say("220 script.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		m.mu.Lock()
		m.cmds = append(m.cmds, line)
		switch verb {
		case "RSET":
			m.rsetPiped = append(m.rsetPiped, r.Buffered() > 0)
		case "MAIL":
			m.mailPiped = append(m.mailPiped, r.Buffered() > 0)
		}
		m.mu.Unlock()
		if verb == m.silentAt {
			io.Copy(io.Discard, r)
			return
		}
		switch verb {
		case "EHLO":
			if m.caps == nil {
				say("502 5.5.2 EHLO not here")
				continue
			}
			reply := []string{"250-script.test"}
			for _, k := range m.caps {
				reply = append(reply, "250-"+k)
			}
			reply[len(reply)-1] = "250 " + strings.TrimPrefix(reply[len(reply)-1], "250-")
			say(reply...)
		case "HELO":
			say("250 script.test")
		case "STARTTLS":
			if m.injectTLS {
				say("220 2.0.0 Ready", "250 2.0.0 injected")
				continue
			}
			say("454 4.7.0 TLS not available")
		case "AUTH":
			cred, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(arg, "PLAIN "))
			if string(cred) != "\x00relay\x00s3cret" {
				say("535 5.7.8 Authentication credentials invalid")
				continue
			}
			say("235 2.7.0 Authentication successful")
		case "MAIL":
			if strings.Contains(arg, "blocked") {
				say("550 5.7.1 Sender blocked here")
				continue
			}
			say("250 2.0.0 Ok")
		case "RSET":
			say("250 2.0.0 Ok")
		case "RCPT":
			if strings.Contains(arg, "nobody") {
				say("550-5.1.1 No such", "550 5.1.1 user here")
				continue
			}
			say("250 2.1.5 Ok")
		case "DATA":
			if m.refuseData {
				say("554 5.5.1 No valid recipients")
				continue
			}
			say("354 go on")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(strings.TrimPrefix(l, "."))
			}
			m.keep(msg.String())
			say("250 2.0.0 Ok: queued as DATA1")
		case "BDAT":
			sz, last, _ := strings.Cut(arg, " ")
			n, _ := strconv.Atoi(sz)
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return
			}
			m.mu.Lock()
			m.appendChunk(string(b))
			m.mu.Unlock()
			if last == "LAST" {
				say("250 2.0.0 Ok: queued as BDAT1")
			} else {
				say("250 2.0.0 " + sz + " octets")
			}
		case "QUIT":
			say("221 2.0.0 Bye")
			return
		default:
			say("500 5.5.1 What")
		}
	}
}

func (m *scriptMTA) keep(msg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
}

// appendChunk adds to the message the last BDAT began; BDAT after a
// LAST or a MAIL begins another.
func (m *scriptMTA) appendChunk(b string) {
	prev := ""
	if n := len(m.cmds); n > 1 {
		prev = m.cmds[n-2]
	}
	if len(m.msgs) == 0 || !strings.HasPrefix(prev, "BDAT") || strings.HasSuffix(prev, "LAST") {
		m.msgs = append(m.msgs, b)
		return
	}
	m.msgs[len(m.msgs)-1] += b
}

func (m *scriptMTA) verbs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var v []string
	for _, c := range m.cmds {
		verb, _, _ := strings.Cut(c, " ")
		v = append(v, verb)
	}
	return v
}

func openScript(t *testing.T, addr string, timeout time.Duration) UpstreamConn {
	t.Helper()
	u := &SMTPUpstream{Addr: addr, Hostname: "relayguard.test", TLS: TLSOpportunistic, Timeout: timeout}
	c, err := u.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUpClientResetWaitsForTheNextMailAndNeverSaysEHLOAgain(t *testing.T) {
	for _, tc := range []struct {
		name       string
		caps       []string
		refuseData bool
		wantVerbs  string
		wantPiped  []bool // RSETs with MAIL behind them
		wantMail   []bool // MAILs with RCPT behind them
	}{
		// With PIPELINING, RSET and MAIL wait for the first RCPT and go in
		// its write; the last MAIL, never followed by RCPT, is never sent.
		{"pipelining: RSET and MAIL in the same write as RCPT", []string{"PIPELINING", "CHUNKING"}, false,
			"EHLO MAIL RCPT RSET MAIL RCPT BDAT QUIT", []bool{true}, []bool{true, true}},
		{"no pipelining: RSET alone, then MAIL", []string{"CHUNKING"}, false,
			"EHLO MAIL RCPT RSET MAIL RCPT BDAT MAIL QUIT", []bool{false}, []bool{false, false, false}},
		{"HELO server: RSET alone, message by DATA", nil, false,
			"EHLO HELO MAIL RCPT RSET MAIL RCPT DATA MAIL QUIT", []bool{false}, []bool{false, false, false}},
		// A refused DATA leaves the transaction open at the next hop, so
		// the MAIL after it needs RSET though the session never asked.
		{"refused DATA: RSET before the next MAIL", []string{"PIPELINING"}, true,
			"EHLO MAIL RCPT RSET MAIL RCPT DATA QUIT", []bool{true}, []bool{true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &scriptMTA{caps: tc.caps, refuseData: tc.refuseData}
			c := openScript(t, startScriptMTA(t, m), 5*time.Second)
			if _, err := c.Mail("a@example.org", nil); err != nil {
				t.Fatal(err)
			}
			if err := c.Rcpt("b@example.org"); err != nil {
				t.Fatal(err)
			}
			if err := c.Reset(); err != nil { // the message was refused here
				t.Fatal(err)
			}
			if _, err := c.Mail("a@example.org", nil); err != nil {
				t.Fatal(err)
			}
			if err := c.Rcpt("b@example.org"); err != nil {
				t.Fatal(err)
			}
			_, err := c.Data([]byte("X: y\r\n"), strings.NewReader("\r\nbody\r\n"))
			if _, ok := isReply(err); tc.refuseData != ok {
				t.Fatalf("Data = %v", err)
			}
			if _, err := c.Mail("a@example.org", nil); err != nil {
				t.Fatal(err)
			}
			c.Reset() // then Close: QUIT alone, no RSET
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(m.verbs(), " "); got != tc.wantVerbs {
				t.Errorf("commands %q, want %q", got, tc.wantVerbs)
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			if !equalBools(m.rsetPiped, tc.wantPiped) {
				t.Errorf("RSET arrived with MAIL behind it: %v, want %v", m.rsetPiped, tc.wantPiped)
			}
			if !equalBools(m.mailPiped, tc.wantMail) {
				t.Errorf("MAIL arrived with RCPT behind it: %v, want %v", m.mailPiped, tc.wantMail)
			}
		})
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// asDATAWouldDeliver is what a next hop received of header+body through
// go-smtp's DATA (net/textproto's DotWriter), the relay's behaviour before
// its own client: the bytes both of our paths must deliver.
func asDATAWouldDeliver(t *testing.T, header, body []byte) string {
	var wire bytes.Buffer
	w := textproto.NewWriter(bufio.NewWriter(&wire)).DotWriter()
	w.Write(header)
	w.Write(body)
	w.Close()
	var got strings.Builder
	r := bufio.NewReader(&wire)
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("dot-stuffed message has no end: %q", wire.String())
		}
		if l == ".\r\n" {
			return got.String()
		}
		got.WriteString(strings.TrimPrefix(l, "."))
	}
}

func TestUpClientMessageArrivesAsDATADeliveredIt(t *testing.T) {
	big := bytes.Repeat([]byte(".dot first\r\nbare\nlf\r\n"), 5000) // ~100 KB: several chunks
	bodies := []struct {
		name     string
		body     string
		noHeader bool // the body is the whole message
	}{
		{"leading dots", "\r\n.hidden\r\n..two\r\n.\r\nafter a dot line\r\n", false},
		{"bare LF", "\nline one\nline two\n", false},
		{"last line without CRLF", "\r\nno end", false},
		{"last line ends in CR", "\r\nends in CR\r", false},
		{"CR alone within a line", "\r\na\rb\r\n.\rc\r\n", false},
		{"8-bit bytes", "\r\nGr\xfc\xdfe \xe2\x82\xac\r\n", false},
		{"empty body", "", false},
		{"larger than a chunk", "\r\n" + string(big), false},
		{"larger than a chunk, a dot first", string(big), true},
	}
	for _, mode := range []struct {
		name string
		caps []string
		verb string
	}{
		{"BDAT", []string{"PIPELINING", "CHUNKING", "8BITMIME"}, "BDAT"},
		{"DATA", []string{"PIPELINING", "8BITMIME"}, "DATA"},
	} {
		for _, b := range bodies {
			t.Run(mode.name+"/"+b.name, func(t *testing.T) {
				m := &scriptMTA{caps: mode.caps}
				c := openScript(t, startScriptMTA(t, m), 5*time.Second)
				defer c.Close()
				header := []byte("Received: from x\r\nSubject: t\r\n")
				if b.noHeader {
					header = nil
				}
				// BDAT only for a message that fits one chunk.
				verb := mode.verb
				if len(b.body) > 20000 {
					verb = "DATA"
				}
				if _, err := c.Mail("a@example.org", nil); err != nil {
					t.Fatal(err)
				}
				if err := c.Rcpt("b@example.org"); err != nil {
					t.Fatal(err)
				}
				// A reader that gives a few bytes at a time, as a file may.
				text, err := c.Data(header, iotestHalfReader{strings.NewReader(b.body)})
				if err != nil || !strings.Contains(text, "queued as "+verb) {
					t.Fatalf("Data = %q, %v", text, err)
				}
				want := asDATAWouldDeliver(t, header, []byte(b.body))
				m.mu.Lock()
				defer m.mu.Unlock()
				if len(m.msgs) != 1 || m.msgs[0] != want {
					got := ""
					if len(m.msgs) > 0 {
						got = m.msgs[0]
					}
					t.Errorf("next hop got %d messages, first %q\nwant %q", len(m.msgs), clip(got, 200), clip(want, 200))
				}
			})
		}
	}
}

// iotestHalfReader reads at most 1000 bytes at a time.
type iotestHalfReader struct{ r io.Reader }

func (h iotestHalfReader) Read(p []byte) (int, error) {
	if len(p) > 1000 {
		p = p[:1000]
	}
	return h.r.Read(p)
}

func TestUpClientRefusalsKeepTheNextHopsWords(t *testing.T) {
	m := &scriptMTA{caps: []string{"PIPELINING"}}
	c := openScript(t, startScriptMTA(t, m), 5*time.Second)
	defer c.Close()
	if _, err := c.Mail("a@example.org", nil); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt("nobody@example.org")
	se, ok := isReply(err)
	if !ok || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) || se.Message != "No such\nuser here" {
		t.Fatalf("multi-line refusal = %#v", err)
	}
	if err := c.Rcpt("b@example.org"); err != nil {
		t.Errorf("the conversation went on badly after a refusal: %v", err)
	}
}

// A held MAIL's refusal is the answer to every RCPT of the transaction,
// the RCPT sent behind it is answered and read (the conversation stays in
// step), and the next MAIL starts clean.
func TestUpClientHeldMailRefusedAnswersEveryRcpt(t *testing.T) {
	m := &scriptMTA{caps: []string{"PIPELINING", "CHUNKING"}}
	c := openScript(t, startScriptMTA(t, m), 5*time.Second)
	defer c.Close()
	if held, err := c.Mail("blocked@example.org", nil); err != nil || !held {
		t.Fatalf("Mail = %v, %v; want held", held, err)
	}
	for i := 0; i < 2; i++ {
		err := c.Rcpt("b@example.org")
		var he *heldMailError
		se, ok := isReply(err)
		if !errors.As(err, &he) || !ok || se.Code != 550 || se.Message != "Sender blocked here" {
			t.Fatalf("Rcpt %d = %#v, want the MAIL's 550", i, err)
		}
	}
	if _, err := c.Mail("a@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("b@example.org"); err != nil {
		t.Fatalf("after a refused MAIL, the next transaction: %v", err)
	}
	if _, err := c.Data(nil, strings.NewReader("Subject: x\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(m.verbs(), " "), "EHLO MAIL RCPT RSET MAIL RCPT BDAT"; got != want {
		t.Errorf("commands %q, want %q", got, want)
	}
}

func TestReplyParsing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		code    int
		enh     smtp.EnhancedCode
		msg     string
		wantErr string
	}{
		{"one line", "250 2.0.0 Ok: queued as X\r\n", 250, smtp.EnhancedCode{2, 0, 0}, "Ok: queued as X", ""},
		{"no enhanced code", "554 no thanks\r\n", 554, smtp.EnhancedCode{}, "no thanks", ""},
		{"code alone", "250\r\n", 250, smtp.EnhancedCode{}, "", ""},
		{"bare LF ends a line", "421 4.3.2 closing\n", 421, smtp.EnhancedCode{4, 3, 2}, "closing", ""},
		{"multi-line, code on every line", "550-5.7.1 one\r\n550-5.7.1 two\r\n550 5.7.1 three\r\n", 550, smtp.EnhancedCode{5, 7, 1}, "one\ntwo\nthree", ""},
		{"multi-line, code on the first line only", "452-4.2.2 full\r\n452 try later\r\n", 452, smtp.EnhancedCode{4, 2, 2}, "full\ntry later", ""},
		{"class differs from the code's", "451 5.7.0 odd\r\n", 451, smtp.EnhancedCode{}, "5.7.0 odd", ""},
		{"not an enhanced code", "550 5.1 short\r\n", 550, smtp.EnhancedCode{}, "5.1 short", ""},
		{"code changes within a reply", "250-a\r\n251 b\r\n", 0, smtp.EnhancedCode{}, "", "code changed"},
		{"not a code", "hello\r\n", 0, smtp.EnhancedCode{}, "", "malformed"},
		{"code out of range", "650 x\r\n", 0, smtp.EnhancedCode{}, "", "malformed"},
		{"bad separator", "250_x\r\n", 0, smtp.EnhancedCode{}, "", "malformed"},
		{"cut short", "250-more to come\r\n", 0, smtp.EnhancedCode{}, "", "unexpected EOF"},
		{"line too long", "250 " + strings.Repeat("x", maxReplyLine) + "\r\n", 0, smtp.EnhancedCode{}, "", "longer than"},
		{"too many lines", strings.Repeat("250-x\r\n", maxReplyLines+1) + "250 x\r\n", 0, smtp.EnhancedCode{}, "", "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := readReply(bufio.NewReaderSize(strings.NewReader(tc.in), maxReplyLine))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			se := replyError(rep)
			if se.Code != tc.code || se.EnhancedCode != tc.enh || se.Message != tc.msg {
				t.Errorf("got %d %v %q, want %d %v %q", se.Code, se.EnhancedCode, se.Message, tc.code, tc.enh, tc.msg)
			}
		})
	}
}

func TestUpClientNextHopThatStopsAnsweringTimesOut(t *testing.T) {
	for _, tc := range []struct {
		name     string
		silentAt string
		step     func(UpstreamConn) error
	}{
		// MAIL is held and sent with the first RCPT.
		{"at MAIL", "MAIL", func(c UpstreamConn) error {
			if _, err := c.Mail("a@example.org", nil); err != nil {
				return err
			}
			return c.Rcpt("b@example.org")
		}},
		{"at end of data", "BDAT", func(c UpstreamConn) error {
			if _, err := c.Mail("a@example.org", nil); err != nil {
				return err
			}
			if err := c.Rcpt("b@example.org"); err != nil {
				return err
			}
			_, err := c.Data(nil, strings.NewReader("Subject: x\r\n\r\nbody\r\n"))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &scriptMTA{caps: []string{"PIPELINING", "CHUNKING"}, silentAt: tc.silentAt}
			c := openScript(t, startScriptMTA(t, m), 200*time.Millisecond)
			err := tc.step(c)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("err = %v, want a timeout", err)
			}
			if _, ok := isReply(err); ok {
				t.Error("a timeout looks like the next hop's answer")
			}
			if _, err := c.Mail("a@example.org", nil); !errors.Is(err, errBroken) {
				t.Errorf("after a timeout, Mail = %v, want errBroken", err)
			}
			c.Close()
		})
	}
}

// Timeout bounds each exchange, not the connection's life: a connection
// kept idle between two of the client's messages for longer still works.
func TestUpClientIdleConnectionOutlivesTimeout(t *testing.T) {
	m := &scriptMTA{caps: []string{"PIPELINING", "CHUNKING"}}
	c := openScript(t, startScriptMTA(t, m), 100*time.Millisecond)
	defer c.Close()
	time.Sleep(300 * time.Millisecond)
	if _, err := c.Mail("a@example.org", nil); err != nil {
		t.Fatalf("Mail after an idle while = %v", err)
	}
}

func TestUpClientAuthPlain(t *testing.T) {
	for _, tc := range []struct {
		name, password string
		ok             bool
	}{
		{"right password", "s3cret", true},
		{"wrong password", "guess", false},
		{"AUTH not offered", "s3cret", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &scriptMTA{caps: []string{"PIPELINING", "AUTH PLAIN"}}
			if tc.name == "AUTH not offered" {
				m.caps = m.caps[:1]
			}
			u := &SMTPUpstream{Addr: startScriptMTA(t, m), Hostname: "relayguard.test", TLS: TLSOff,
				Timeout: 5 * time.Second, Username: "relay", Password: tc.password}
			c, err := u.Open(context.Background())
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("Open succeeded")
			}
			if se, ok := isReply(err); m.caps[len(m.caps)-1] == "AUTH PLAIN" && (!ok || se.Code != 535) {
				t.Fatalf("Open = %v, want the upstream's 535", err)
			}
			if strings.Contains(err.Error(), tc.password) {
				t.Errorf("the password is in the error: %v", err)
			}
		})
	}
}

// RFC 3207 §6 / CVE-2011-0411: a reply sent in plaintext behind the 220
// to STARTTLS must not be read as if it had come over TLS.
func TestUpClientRefusesPlaintextInjectedAfterSTARTTLS(t *testing.T) {
	m := &scriptMTA{caps: []string{"PIPELINING", "STARTTLS"}, injectTLS: true}
	u := &SMTPUpstream{Addr: startScriptMTA(t, m), Hostname: "relayguard.test", TLS: TLSOpportunistic, Timeout: 5 * time.Second}
	if c, err := u.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "data after the 220") {
		if c != nil {
			c.Close()
		}
		t.Fatalf("Open = %v, want a refusal of the injected reply", err)
	}
}

func TestUpClientGreetingNeverComesTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c)
		}
	}()
	u := &SMTPUpstream{Addr: l.Addr().String(), Hostname: "x", TLS: TLSOff, Timeout: 200 * time.Millisecond}
	if _, err := u.Open(context.Background()); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Open = %v, want a timeout", err)
	}
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"250 ok\r\n", "250-a\r\n250 b\r\n", "550-5.1.1 x\r\n550 5.1.1 y\r\n", "451 5.7.0 z\n", "250\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rep, err := readReply(bufio.NewReaderSize(bytes.NewReader(in), maxReplyLine))
		if err != nil {
			return
		}
		if rep.code < 200 || rep.code > 599 {
			t.Fatalf("code %d accepted", rep.code)
		}
		se := replyError(rep)
		if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode[0] != rep.code/100 {
			t.Fatalf("%d with enhanced code %v", rep.code, se.EnhancedCode)
		}
	})
}

// FuzzLineEncoder holds the encoder, however the message is cut into
// reads and chunks, to encodeSlow, and to net/textproto's DotWriter (what
// go-smtp's DATA sent) byte for byte wherever the two agree: DotWriter
// forgets a CR that follows a CR, so it sends "\r\r\n" as "\r\r\r\n";
// the encoder keeps that line end as it is.
func FuzzLineEncoder(f *testing.F) {
	f.Add([]byte(".a\r\nb\nc\r"), uint8(3), uint8(7))
	f.Add([]byte("\n\n.\n"), uint8(1), uint8(2))
	f.Add([]byte{}, uint8(1), uint8(2))
	f.Fuzz(func(t *testing.T, msg []byte, readSize, room uint8) {
		enc := lineEncoder{dots: true}
		var got []byte
		chunk := make([]byte, 0, int(room)%64+2)
		for src := msg; len(src) > 0; {
			part := src[:min(len(src), int(readSize)%16+1)]
			src = src[len(part):]
			for len(part) > 0 {
				var n int
				chunk, n = enc.encode(chunk, part)
				part = part[n:]
				if len(part) > 0 {
					got = append(got, chunk...)
					chunk = chunk[:0]
				}
			}
		}
		got = append(append(got, chunk...), enc.finish(nil)...)
		got = append(got, ".\r\n"...)
		if want := encodeSlow(msg); !bytes.Equal(got, want) {
			t.Fatalf("encoded %q\n got %q\nwant %q", msg, got, want)
		}
		if bytes.Contains(msg, []byte("\r\r")) {
			return
		}
		var dw bytes.Buffer
		w := textproto.NewWriter(bufio.NewWriter(&dw)).DotWriter()
		w.Write(msg)
		w.Close()
		if !bytes.Equal(got, dw.Bytes()) {
			t.Fatalf("encoded %q\n got %q\nDotWriter %q", msg, got, dw.Bytes())
		}
	})
}

// encodeSlow is the encoding by its rules, a byte at a time: LF not after
// CR gets one, a dot that begins a line is doubled, the last line is
// ended, ".\r\n" ends the message.
func encodeSlow(msg []byte) []byte {
	var out []byte
	prev := byte('\n')
	for _, c := range msg {
		if c == '\n' && prev != '\r' {
			out = append(out, '\r')
		}
		if c == '.' && prev == '\n' {
			out = append(out, '.')
		}
		out = append(out, c)
		prev = c
	}
	switch {
	case len(msg) == 0 || prev != '\n' && prev != '\r':
		out = append(out, '\r', '\n')
	case prev == '\r':
		out = append(out, '\n')
	}
	return append(out, ".\r\n"...)
}
