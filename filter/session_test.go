package filter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"relayguard/internal/access"
	"relayguard/scoring"
)

const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// fakeUpstream records what reaches the next hop, and refuses what it is
// told to refuse.
type fakeUpstream struct {
	mu        sync.Mutex
	delivered []delivery
	refuse    map[string]*smtp.SMTPError // recipient → reply
	dataErr   error                      // returned by Data
	down      bool                       // Open fails
	opened    int
	// staleAfter makes a connection fail MAIL once it has carried this
	// many transactions, as when the MTA timed out an idle connection.
	staleAfter int
	// holdMail makes MAIL answer at the first RCPT, as the real client
	// does toward a next hop with PIPELINING; refuseMail is that answer.
	holdMail   bool
	refuseMail *smtp.SMTPError
	// discard counts messages without keeping them (benchmarks).
	discard bool
	count   int
}

type delivery struct {
	from  string
	rcpts []string
	data  string
}

func (f *fakeUpstream) Open(context.Context) (UpstreamConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errors.New("dial tcp 127.0.0.1:1: connection refused")
	}
	f.opened++
	return &fakeConn{f: f}, nil
}

func (f *fakeUpstream) messages() []delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]delivery(nil), f.delivered...)
}

type fakeConn struct {
	f       *fakeUpstream
	from    string
	rcpts   []string
	mails   int
	mailErr error // the answer to a held MAIL, given at every RCPT
	held    bool  // a MAIL waits for the first RCPT
}

func (c *fakeConn) Mail(from string, _ *smtp.MailOptions) (bool, error) {
	c.from, c.rcpts, c.mailErr = from, nil, nil
	var err error
	if c.f.staleAfter > 0 && c.mails >= c.f.staleAfter {
		err = io.EOF
	} else {
		c.f.mu.Lock()
		if c.f.refuseMail != nil {
			err = c.f.refuseMail
		}
		c.f.mu.Unlock()
	}
	c.mails++
	if c.f.holdMail {
		c.held, c.mailErr = true, err
		return true, nil
	}
	return false, err
}
func (c *fakeConn) Rcpt(to string) error {
	if c.held && c.mailErr != nil {
		return &heldMailError{c.mailErr}
	}
	c.held = false
	if e := c.f.refuse[to]; e != nil {
		return e
	}
	c.rcpts = append(c.rcpts, to)
	return nil
}
func (c *fakeConn) Data(header []byte, body io.Reader) (string, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return "", err
	}
	if c.f.dataErr != nil {
		return "", c.f.dataErr
	}
	c.f.mu.Lock()
	c.f.count++
	if !c.f.discard {
		c.f.delivered = append(c.f.delivered, delivery{c.from, c.rcpts, string(header) + string(b)})
	}
	c.f.mu.Unlock()
	return "2.0.0 Ok: queued as ABC", nil
}
func (c *fakeConn) Reset() error { c.from, c.rcpts = "", nil; return nil }
func (c *fakeConn) Close() error { return nil }

type testServer struct {
	addr string
	up   *fakeUpstream
	srv  *Server
}

func defaultTestOptions() Options {
	return Options{
		Hostname: "relayguard.test", MaxMessageBytes: 64 << 10, MaxRecipients: 3,
		MaxConnections: 10, MaxConnectionsPerIP: 5, MaxLineLength: 2000, MaxHeaderBytes: 4096,
		IdleTimeout: 5 * time.Second, DataTimeout: 5 * time.Second, RelayTimeout: 5 * time.Second,
		SpoolMemoryBytes: 1024,
	}
}

func startServer(t testing.TB, opts Options, policy scoring.Policy, up *fakeUpstream, checks ...scoring.Check) *testServer {
	t.Helper()
	engine, err := scoring.NewEngine(scoring.Options{Policy: policy, Timeout: 5 * time.Second, Checks: append(checks, scoring.GTUBE{})})
	if err != nil {
		t.Fatal(err)
	}
	return startEngineServer(t, opts, engine, up, discardLog())
}

// startEngineServer serves a front door with the test access policy on
// engine, relaying to up (a new fakeUpstream when nil), logging to log.
func startEngineServer(t testing.TB, opts Options, engine *scoring.Engine, up *fakeUpstream, log *slog.Logger) *testServer {
	t.Helper()
	if up == nil {
		up = &fakeUpstream{}
	}
	pol := &Policy{Access: access.New(access.Options{
		RelayNetworks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		LocalDomains:  []string{"local.example", "kiosk.test", "xn--bcher-kva.example"},
	})}
	srv := NewServer(opts, pol, nil, engine, up, log)
	return &testServer{addr: serveTest(t, srv), up: up, srv: srv}
}

// serveTest serves srv on a loopback port until the test ends and
// returns the address.
func serveTest(t testing.TB, srv *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveTestOn(t, srv, l)
}

func serveTestOn(t testing.TB, srv *Server, l net.Listener) string {
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return l.Addr().String()
}

// client speaks SMTP line by line, so tests read like transcripts.
type client struct {
	t    *testing.T
	conn net.Conn
	tp   *textproto.Conn
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn := dialTest(t, addr)
	return &client{t: t, conn: conn, tp: textproto.NewConn(conn)}
}

// dialTest connects to a test server, closed when the test ends. The
// deadline is a safety net against a hung server, not a timing assertion.
func dialTest(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return conn
}

// expect reads one (possibly multi-line) reply and checks its code and
// that its text contains want.
func (c *client) expect(code int, want string) string {
	c.t.Helper()
	lines, err := c.readReply()
	if err != nil {
		c.t.Fatalf("reading reply (want %d %s): %v", code, want, err)
	}
	text := strings.Join(lines, "\n")
	if !strings.HasPrefix(lines[len(lines)-1], fmt.Sprint(code)+" ") {
		c.t.Fatalf("reply:\n%s\nwant %d ... %s", text, code, want)
	}
	if !strings.Contains(text, want) {
		c.t.Fatalf("reply:\n%s\nwant it to contain %q", text, want)
	}
	return text
}

func (c *client) readReply() ([]string, error) {
	var lines []string
	for {
		l, err := c.tp.ReadLine()
		if err != nil {
			return lines, err
		}
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines, nil
		}
	}
}

func (c *client) send(format string, args ...any) {
	c.t.Helper()
	if err := c.tp.PrintfLine(format, args...); err != nil {
		c.t.Fatal(err)
	}
}

// envelope opens a transaction that must be accepted.
func (c *client) envelope(from, to string) {
	c.t.Helper()
	c.send("MAIL FROM:<%s>", from)
	c.expect(250, "")
	c.send("RCPT TO:<%s>", to)
	c.expect(250, "")
}

func (c *client) hello() {
	c.t.Helper()
	c.expect(220, "relayguard.test")
	c.send("EHLO client.example")
	c.expect(250, "PIPELINING")
}

// sendMessage sends DATA with the given message text (LF line ends are
// turned into CRLF).
func (c *client) sendMessage(msg string) {
	c.t.Helper()
	c.send("DATA")
	c.expect(354, "")
	w := c.tp.DotWriter()
	io.WriteString(w, msg)
	w.Close()
}

const ham = "From: a@example.org\nTo: user@local.example\nSubject: lunch\nDate: Thu, 26 Nov 2026 12:00:00 +0000\nMessage-ID: <1@example.org>\n\nSee you at noon.\n"

func TestHamIsRelayedWithHeaders(t *testing.T) {
	ts := startServer(t, defaultTestOptions(), scoring.DefaultPolicy(), nil)
	c := dial(t, ts.addr)
	c.hello()
	c.envelope("a@example.org", "user@local.example")
	c.sendMessage(ham)
	c.expect(250, "queued as ABC")

	got := ts.up.messages()
	if len(got) != 1 {
		t.Fatalf("%d messages upstream, want 1", len(got))
	}
	m := got[0]
	if m.from != "a@example.org" || len(m.rcpts) != 1 || m.rcpts[0] != "user@local.example" {
		t.Errorf("envelope = %q %q", m.from, m.rcpts)
	}
	for _, want := range []string{
		"Received: from client.example ([127.0.0.1]) by relayguard.test (relayguard) with ESMTP id ",
		"Authentication-Results: relayguard.test; none\r\n",
		"X-Spam-Score: 0.0\r\n",
		"X-Spam-Status: No, score=0.0, required=6.0, tests=none\r\n",
		"\r\nFrom: a@example.org\r\n",
		"\r\n\r\nSee you at noon.\r\n",
	} {
		if !strings.Contains(unfold(m.data), want) {
			t.Errorf("relayed message lacks %q:\n%s", want, m.data)
		}
	}
	if strings.Contains(m.data, "X-Spam-Flag") {
		t.Error("ham flagged as spam")
	}
}

func TestGTUBEIsRejectedWithExplanation(t *testing.T) {
	ts := startServer(t, defaultTestOptions(), scoring.DefaultPolicy(), nil)
	c := dial(t, ts.addr)
	c.hello()
	c.envelope("a@example.org", "user@local.example")
	c.sendMessage("Subject: test\n\n" + gtube + "\n")
	lines, _ := c.readReply()
	if len(lines) < 3 {
		t.Fatalf("reply is not multi-line: %q", lines)
	}
	for i, l := range lines {
		prefix := "554-5.7.1 "
		if i == len(lines)-1 {
			prefix = "554 5.7.1 "
		}
		if !strings.HasPrefix(l, prefix) {
			t.Errorf("line %d = %q, want prefix %q", i, l, prefix)
		}
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{"score 1000.0, reject threshold 15.0", "GTUBE", "Reference "} {
		if !strings.Contains(text, want) {
			t.Errorf("reply lacks %q:\n%s", want, text)
		}
	}
	if n := len(ts.up.messages()); n != 0 {
		t.Errorf("%d messages reached the upstream", n)
	}
	// The session goes on: the next message is judged on its own.
	c.envelope("a@example.org", "user@local.example")
	c.sendMessage(ham)
	c.expect(250, "")
	if n := len(ts.up.messages()); n != 1 {
		t.Errorf("%d messages upstream after the ham, want 1", n)
	}
}

func TestMonitorModeRelaysSpamMarked(t *testing.T) {
	p := scoring.DefaultPolicy()
	p.Mode = scoring.ModeMonitor
	ts := startServer(t, defaultTestOptions(), p, nil)
	c := dial(t, ts.addr)
	c.hello()
	c.envelope("a@example.org", "user@local.example")
	c.sendMessage("Subject: test\n\n" + gtube + "\n")
	c.expect(250, "")
	m := ts.up.messages()
	if len(m) != 1 || !strings.Contains(m[0].data, "X-Spam-Status: Yes, score=1000.0") || !strings.Contains(m[0].data, "X-Spam-Flag: YES") {
		t.Fatalf("monitor mode did not relay GTUBE marked as spam: %+v", m)
	}
}

// TestReplies holds every refusal the front door makes to its code and
// enhanced code.
func TestReplies(t *testing.T) {
	big := strings.Repeat("x", 70) + "\n"
	tests := []struct {
		name  string
		opts  func(*Options)
		up    *fakeUpstream
		steps func(c *client)
	}{
		{"relay denied", nil, nil, func(c *client) {
			c.send("MAIL FROM:<a@example.org>")
			c.expect(250, "")
			c.send("RCPT TO:<victim@other.example>")
			c.expect(554, "5.7.1 Relay access denied")
			c.send("%s", "RCPT TO:<victim%other.example@local.example>")
			c.expect(554, "5.7.1 Relay access denied")
			c.send("RCPT TO:<@local.example:victim@other.example>")
			c.expect(554, "5.7.1 Relay access denied")
			c.send(`RCPT TO:<"victim@other.example"@local.example>`)
			c.expect(554, "5.7.1 Relay access denied")
			c.send("RCPT TO:<victim@local.example.>")
			c.expect(501, "5.1.3")
		}},
		{"too many recipients", nil, nil, func(c *client) {
			c.send("MAIL FROM:<a@example.org>")
			c.expect(250, "")
			for i := 0; i < 3; i++ {
				c.send("RCPT TO:<u%d@local.example>", i)
				c.expect(250, "")
			}
			c.send("RCPT TO:<u9@local.example>")
			c.expect(452, "4.5.3")
		}},
		{"declared size too big", nil, nil, func(c *client) {
			c.send("MAIL FROM:<a@example.org> SIZE=10000000")
			c.expect(552, "5.3.4")
		}},
		{"message too big", nil, nil, func(c *client) {
			c.envelope("a@example.org", "u@local.example")
			c.sendMessage("Subject: big\n\n" + strings.Repeat(big, 1000))
			c.expect(552, "5.3.4")
		}},
		{"header too large", nil, nil, func(c *client) {
			c.envelope("a@example.org", "u@local.example")
			c.sendMessage(strings.Repeat("X-Filler: "+big, 100) + "\nbody\n")
			c.expect(552, "5.3.4 Message header too large")
		}},
		{"upstream refuses a recipient", nil, &fakeUpstream{refuse: map[string]*smtp.SMTPError{
			"nobody@local.example": {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}}},
			func(c *client) {
				c.send("MAIL FROM:<a@example.org>")
				c.expect(250, "")
				c.send("RCPT TO:<nobody@local.example>")
				c.expect(550, "5.1.1 No such user here")
				c.send("RCPT TO:<somebody@local.example>")
				c.expect(250, "")
			}},
		{"upstream down", nil, &fakeUpstream{down: true}, func(c *client) {
			c.send("MAIL FROM:<a@example.org>")
			text := c.expect(451, "4.4.1")
			if strings.Contains(text, "connection refused") {
				t.Errorf("internal error text reached the client: %s", text)
			}
		}},
		{"upstream refuses the data", nil, &fakeUpstream{dataErr: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Upstream says no"}},
			func(c *client) {
				c.envelope("a@example.org", "u@local.example")
				c.sendMessage(ham)
				c.expect(550, "5.7.1 Upstream says no")
			}},
		{"upstream breaks during data", nil, &fakeUpstream{dataErr: io.ErrUnexpectedEOF}, func(c *client) {
			c.envelope("a@example.org", "u@local.example")
			c.sendMessage(ham)
			c.expect(451, "4.4.1")
		}},
		{"line too long", func(o *Options) { o.MaxLineLength = 1000 }, nil, func(c *client) {
			c.envelope("a@example.org", "u@local.example")
			c.sendMessage("Subject: x\n\n" + strings.Repeat("y", 1500) + "\n")
			c.expect(500, "5.5.2")
		}},
		{"data before rcpt", nil, nil, func(c *client) {
			c.send("MAIL FROM:<a@example.org>")
			c.expect(250, "")
			c.send("DATA")
			c.expect(502, "5.5.1")
		}},
		{"auth not offered without TLS", nil, nil, func(c *client) {
			c.send("AUTH PLAIN AGFsaWNlAHNlY3JldA==")
			c.expect(523, "5.7.10 TLS is required")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := defaultTestOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			ts := startServer(t, opts, scoring.DefaultPolicy(), tt.up)
			c := dial(t, ts.addr)
			c.hello()
			tt.steps(c)
			if n := len(ts.up.messages()); n != 0 {
				t.Errorf("%d messages reached the upstream", n)
			}
		})
	}
}

func TestConnectionLimits(t *testing.T) {
	opts := defaultTestOptions()
	opts.MaxConnections, opts.MaxConnectionsPerIP = 3, 2
	ts := startServer(t, opts, scoring.DefaultPolicy(), nil)
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	a.expect(220, "")
	b.expect(220, "")
	third := dial(t, ts.addr)
	third.expect(421, "4.7.0")
	// A closed connection frees its place.
	a.send("QUIT")
	a.expect(221, "")
	a.conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dial(t, ts.addr)
		lines, _ := c.readReply()
		if len(lines) > 0 && strings.HasPrefix(lines[0], "220") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("place not freed: %q", lines)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSilentClientIsDisconnected(t *testing.T) {
	opts := defaultTestOptions()
	opts.IdleTimeout = 200 * time.Millisecond
	ts := startServer(t, opts, scoring.DefaultPolicy(), nil)
	c := dial(t, ts.addr)
	c.expect(220, "")
	c.expect(421, "4.4.2") // no command: the idle timeout ends the session
}

func TestTricklingClientIsCutAtDataTimeout(t *testing.T) {
	opts := defaultTestOptions()
	opts.DataTimeout = 300 * time.Millisecond
	ts := startServer(t, opts, scoring.DefaultPolicy(), nil)
	c := dial(t, ts.addr)
	c.hello()
	c.envelope("a@example.org", "u@local.example")
	c.send("DATA")
	c.expect(354, "")
	// Each line comes well within the idle timeout, but the transfer as a
	// whole outlasts data_timeout.
	var lines []string
	var err error
	for i := 0; i < 50; i++ {
		if _, err = fmt.Fprintf(c.conn, "line %d\r\n", i); err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
		c.conn.SetReadDeadline(time.Now().Add(time.Millisecond))
		if lines, err = c.readReply(); err == nil {
			break
		}
		c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "451 4.4.2") {
		t.Fatalf("reply = %q (err %v), want 451 4.4.2", lines, err)
	}
	if n := len(ts.up.messages()); n != 0 {
		t.Errorf("%d messages relayed", n)
	}
}

func TestBigMessageSpoolsToDiskAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	opts := defaultTestOptions()
	opts.SpoolDir = dir
	opts.SpoolMemoryBytes = 1024
	ts := startServer(t, opts, scoring.DefaultPolicy(), nil)
	c := dial(t, ts.addr)
	c.hello()
	c.envelope("a@example.org", "u@local.example")
	body := strings.Repeat("The quick brown fox jumps over the lazy dog.\n", 500) // ~22 KiB
	c.sendMessage("Subject: big\n\n" + body + gtube + "\n")
	c.expect(554, "GTUBE") // found past the memory part
	c.envelope("a@example.org", "u@local.example")
	c.sendMessage("Subject: big\n\n" + body)
	c.expect(250, "")
	m := ts.up.messages()
	if len(m) != 1 || !strings.HasSuffix(m[0].data, strings.ReplaceAll(body, "\n", "\r\n")) {
		t.Fatal("big message not relayed intact")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("spool files left behind: %v", entries)
	}
}

func TestShutdownLetsDataFinishAndEndsIdleSessions(t *testing.T) {
	ts := startServer(t, defaultTestOptions(), scoring.DefaultPolicy(), nil)
	idle := dial(t, ts.addr)
	idle.hello()
	busy := dial(t, ts.addr)
	busy.hello()
	busy.envelope("a@example.org", "u@local.example")
	busy.send("DATA")
	busy.expect(354, "")
	io.WriteString(busy.conn, "Subject: half\r\n\r\nfirst half\r\n")
	time.Sleep(50 * time.Millisecond) // let the server enter Data

	done := make(chan error)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.srv.Shutdown(ctx)
	}()
	idle.expect(421, "")
	// New connections are refused while draining.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			break // listener closed: also a refusal
		}
		line, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if strings.HasPrefix(line, "421") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new connection during shutdown got %q", line)
		}
	}
	io.WriteString(busy.conn, "second half\r\n.\r\n")
	busy.expect(250, "")
	busy.expect(421, "") // and then the session is ended
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n := len(ts.up.messages()); n != 1 {
		t.Errorf("%d messages relayed, want the one in flight", n)
	}
}

// unfold joins folded header lines (RFC 5322 §2.2.3).
func unfold(s string) string { return strings.ReplaceAll(s, "\r\n ", " ") }

func TestStaleUpstreamConnectionIsReplaced(t *testing.T) {
	// Held: the MAIL waits for the first RCPT, so the broken connection
	// shows only there, and the fresh try is made there.
	for _, held := range []bool{false, true} {
		ts := startServer(t, defaultTestOptions(), scoring.DefaultPolicy(), &fakeUpstream{staleAfter: 1, holdMail: held})
		c := dial(t, ts.addr)
		c.hello()
		for i := 0; i < 3; i++ {
			c.envelope("a@example.org", "user@local.example")
			c.sendMessage(ham)
			c.expect(250, "")
		}
		if n := len(ts.up.messages()); n != 3 {
			t.Errorf("held %v: %d messages relayed, want 3", held, n)
		}
		if ts.up.opened != 3 {
			t.Errorf("held %v: %d upstream connections, want 3 (one per stale failure)", held, ts.up.opened)
		}
	}
}

// A MAIL the next hop refuses after the client heard 250 (it was held for
// the first RCPT) is refused at every RCPT in the next hop's words, and the
// session can start over.
func TestHeldMailRefusalIsTheAnswerToEveryRcpt(t *testing.T) {
	up := &fakeUpstream{holdMail: true, refuseMail: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender blocked here"}}
	ts := startServer(t, defaultTestOptions(), scoring.DefaultPolicy(), up)
	c := dial(t, ts.addr)
	c.hello()
	c.send("MAIL FROM:<a@example.org>")
	c.expect(250, "")
	for _, rcpt := range []string{"user@local.example", "other@local.example"} {
		c.send("RCPT TO:<%s>", rcpt)
		c.expect(550, "5.7.1 sender blocked here")
	}
	c.send("DATA")
	c.expect(502, "") // go-smtp: no recipient was accepted
	up.mu.Lock()
	up.refuseMail = nil
	up.mu.Unlock()
	c.send("RSET")
	c.expect(250, "")
	c.envelope("a@example.org", "user@local.example")
	c.sendMessage(ham)
	c.expect(250, "")
	if n := len(ts.up.messages()); n != 1 {
		t.Errorf("%d messages relayed, want 1", n)
	}
}

func TestRejectEarlyRefusesAtRcpt(t *testing.T) {
	listed := scoring.CheckFunc{CheckName: "dnsbl", CheckPhase: scoring.PhaseConnect,
		Fn: func(context.Context, *scoring.Input) scoring.Result {
			return scoring.Result{Symbols: []scoring.Symbol{{Name: "DNSBL_TEST", Score: 20, Detail: "127.0.0.1 listed on bl.test"}}}
		}}
	for _, early := range []bool{true, false} {
		opts := defaultTestOptions()
		opts.RejectEarly = early
		ts := startServer(t, opts, scoring.DefaultPolicy(), nil, listed)
		c := dial(t, ts.addr)
		c.hello()
		c.send("MAIL FROM:<a@example.org>")
		c.expect(250, "")
		c.send("RCPT TO:<user@local.example>")
		if early {
			c.expect(554, "listed on bl.test")
			continue
		}
		c.expect(250, "")
		c.sendMessage(ham)
		c.expect(554, "listed on bl.test")
	}
}

func TestForgedAuthenticationResultsRemoved(t *testing.T) {
	ts := startServer(t, defaultTestOptions(), scoring.DefaultPolicy(), nil)
	c := dial(t, ts.addr)
	c.hello()
	c.envelope("a@example.org", "user@local.example")
	forged := "Authentication-Results: relayguard.test; dkim=pass header.d=bank.example\n" +
		"X-Spam-Flag: NO\nX-Spam-Status: No, score=-100.0, required=6.0, tests=WHITELISTED\n" +
		"Authentication-Results: mx.other.example; spf=pass smtp.mailfrom=a@example.org\n"
	c.sendMessage(forged + ham)
	c.expect(250, "")
	m := ts.up.messages()[0].data
	if strings.Contains(m, "header.d=bank.example") || strings.Contains(m, "WHITELISTED") || strings.Contains(m, "X-Spam-Flag: NO") {
		t.Errorf("forged result claiming our authserv-id relayed:\n%s", m)
	}
	if !strings.Contains(m, "Authentication-Results: mx.other.example; spf=pass") {
		t.Errorf("another server's result was removed:\n%s", m)
	}
	if !strings.Contains(m, "\r\n\r\nSee you at noon.\r\n") {
		t.Errorf("body damaged:\n%s", m)
	}
}

func TestFailedChecksTempfailWhenAsked(t *testing.T) {
	broken := scoring.CheckFunc{CheckName: "dnsbl", CheckPhase: scoring.PhaseConnect,
		Fn: func(context.Context, *scoring.Input) scoring.Result {
			return scoring.Result{Err: errors.New("dns: timeout")}
		}}
	p := scoring.DefaultPolicy()
	p.TempfailOnError = true
	ts := startServer(t, defaultTestOptions(), p, nil, broken)
	c := dial(t, ts.addr)
	c.hello()
	c.envelope("a@example.org", "user@local.example")
	c.sendMessage(ham)
	text := c.expect(451, "4.4.3")
	if strings.Contains(text, "timeout") {
		t.Errorf("internal error text reached the client: %s", text)
	}
	if n := len(ts.up.messages()); n != 0 {
		t.Errorf("%d messages relayed", n)
	}
}

// TestReplyClassesAgree: the enhanced code's class matches the reply
// code's (maddy once sent 451 5.7.0), for every reply the front door makes:
// replyTable holds each fixed reply and a sample of each formatted one.
func TestReplyClassesAgree(t *testing.T) {
	if len(replyTable) < 20 {
		t.Fatalf("replyTable has %d replies; the table is not being filled", len(replyTable))
	}
	for _, e := range replyTable {
		class := e.Code / 100
		if class != 2 && class != 4 && class != 5 || e.EnhancedCode[0] != class {
			t.Errorf("%d %d.%d.%d %s: classes differ", e.Code, e.EnhancedCode[0], e.EnhancedCode[1], e.EnhancedCode[2], e.Message)
		}
		if e.Message == "" || strings.ContainsAny(e.Message, "\r") {
			t.Errorf("%d: empty or raw text %q", e.Code, e.Message)
		}
	}
}

// TestRepliesAreMadeOnlyInTheTable: no file of the front door but
// replies.go builds an smtp.SMTPError, so no reply escapes
// TestReplyClassesAgree.
func TestRepliesAreMadeOnlyInTheTable(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob: %v %v", files, err)
	}
	for _, f := range files {
		if f == "replies.go" || strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), "SMTPError{") {
			t.Errorf("%s builds an SMTP reply; add it to replies.go", f)
		}
	}
}

func TestReceivedFieldTamesTheClientsWords(t *testing.T) {
	h := &hop{hostname: "relayguard.test", id: "ID", clientIP: netip.MustParseAddr("192.0.2.1"),
		helo: "evil(comment)\x01" + strings.Repeat("x", 400), rcpts: []string{strings.Repeat("a", 300) + "@example.com"},
		at: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	v := h.received()
	if strings.Contains(v, "evil(") || strings.Contains(v, "\x01") || strings.Contains(v, " for <") {
		t.Errorf("Received = %q", v)
	}
	if len(v) > 998 {
		t.Errorf("Received is %d octets", len(v))
	}
	if !strings.HasPrefix(v, "from evil_comment__xxx") {
		t.Errorf("Received = %q", v[:40])
	}
}
