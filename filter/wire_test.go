package filter

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"relayguard/internal/access"
	"relayguard/scoring"
)

// Wire tests: real sockets both sides. The client is a raw TCP connection
// that writes bytes and reads replies, the way a broken or hostile client
// would; the next hop is a real SMTP server (startMTA) reached through
// SMTPUpstream, so "nothing was relayed" means nothing crossed a socket.

// wireServer starts a front door relaying to a fresh in-process MTA.
func wireServer(t *testing.T, tune func(*Options)) (*Server, string, *mta) {
	t.Helper()
	m, mtaAddr := startMTA(t, false)
	opts := defaultTestOptions()
	if tune != nil {
		tune(&opts)
	}
	engine, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second, Checks: []scoring.Check{scoring.GTUBE{}}})
	if err != nil {
		t.Fatal(err)
	}
	pol := &Policy{Access: access.New(access.Options{
		RelayNetworks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		LocalDomains:  []string{"local.example"},
	})}
	up := &SMTPUpstream{Addr: mtaAddr, Hostname: "relayguard.test", TLS: TLSOff, Timeout: 5 * time.Second}
	srv := NewServer(opts, pol, nil, engine, up, discardLog())
	return srv, serveTest(t, srv), m
}

func (m *mta) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.got)
}

// raw is a client that writes bytes as given and reads whole replies.
type raw struct {
	t    *testing.T
	conn *net.TCPConn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *raw {
	t.Helper()
	conn := dialTest(t, addr)
	return &raw{t: t, conn: conn.(*net.TCPConn), r: bufio.NewReader(conn)}
}

func (c *raw) write(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// reply reads one reply, its lines joined by "\n".
func (c *raw) reply() (string, error) {
	var lines []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return strings.Join(append(lines, l), "\n"), err
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(lines, "\n"), nil
		}
	}
}

// expect reads a reply whose last line starts with prefix ("250", "451 4.4.2").
func (c *raw) expect(prefix string) string {
	c.t.Helper()
	text, err := c.reply()
	if err != nil {
		c.t.Fatalf("reading reply (want %s): %q, %v", prefix, text, err)
	}
	last := text[strings.LastIndex(text, "\n")+1:]
	if !strings.HasPrefix(last, prefix) {
		c.t.Fatalf("reply %q, want %s", text, prefix)
	}
	return text
}

// expectClosed reads to the end of the stream: the server must say
// nothing more and close.
func (c *raw) expectClosed() {
	c.t.Helper()
	rest, err := io.ReadAll(c.r)
	if len(rest) > 0 {
		c.t.Errorf("after the last reply the server said %q", rest)
	}
	// A reset is a close too: the kernel sends one instead of a FIN when
	// the server closes with client bytes still unread (a trickling
	// client's next byte), which is the point of closing it.
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		c.t.Errorf("connection not closed cleanly: %v", err)
	}
}

// noGoText fails when internal error text reached the client.
func noGoText(t *testing.T, reply string) {
	t.Helper()
	for _, s := range []string{"i/o timeout", "read tcp", "EOF", "transaction failed", "smtp:"} {
		if strings.Contains(reply, s) {
			t.Errorf("internal error text on the wire: %q", reply)
		}
	}
}

func (c *raw) open() {
	c.t.Helper()
	c.expect("220")
	c.write("EHLO client.example\r\n")
	c.expect("250")
	c.write("MAIL FROM:<a@example.org>\r\nRCPT TO:<u@local.example>\r\n")
	c.expect("250")
	c.expect("250")
}

// wireMessage is a plain message of exactly n bytes as transmitted:
// CRLF line ends, no dot-stuffing needed (no line starts with a dot).
func wireMessage(n int) string {
	head := "From: a@example.org\r\nTo: u@local.example\r\nSubject: size\r\nMessage-ID: <s@example.org>\r\n\r\n"
	if n < len(head)+2 {
		panic("message too small")
	}
	body := make([]byte, 0, n-len(head))
	for len(body) < n-len(head)-2 {
		line := 76
		if left := n - len(head) - 2 - len(body); left < line+2 {
			line = left
			body = append(body, strings.Repeat("b", line)...)
			break
		}
		body = append(body, strings.Repeat("b", line)+"\r\n"...)
	}
	return head + string(body) + "\r\n"
}

func TestWireMessageHasTheSizeAsked(t *testing.T) {
	for _, n := range []int{200, 1000, 4096, 4097} {
		if got := len(wireMessage(n)); got != n {
			t.Errorf("wireMessage(%d) is %d bytes", n, got)
		}
	}
}

// TestBdatCutShortIsNotRelayed: a client that announces a last chunk and
// stops sending part way has not sent a message. go-smtp v0.25.1 reads the
// chunk with io.LimitReader and takes a short read as the whole chunk; the
// front door must not relay what it got.
func TestBdatCutShortIsNotRelayed(t *testing.T) {
	msg := wireMessage(1608)
	for _, tc := range []struct {
		name string
		end  func(c *raw)
	}{
		{"half-close, still listening", func(c *raw) { c.conn.CloseWrite() }},
		{"full close", func(c *raw) { c.conn.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, addr, m := wireServer(t, nil)
			c := dialRaw(t, addr)
			c.open()
			c.write("BDAT 1608 LAST\r\n" + msg[:500])
			tc.end(c)
			text, _ := c.reply() // empty after a full close
			if strings.HasPrefix(text, "250") {
				t.Errorf("client told %q for a message cut short", text)
			}
			noGoText(t, text)
			c.conn.Close()
			waitSessionsDone(t, srv)
			if n := m.count(); n != 0 {
				t.Errorf("%d messages reached the upstream", n)
			}
		})
	}
}

// waitSessionsDone waits until every session of srv has ended (and so
// finished any Data), polling the connection count.
func waitSessionsDone(t *testing.T, srv *Server) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		srv.mu.Lock()
		ll := srv.listener
		srv.mu.Unlock()
		ll.mu.Lock()
		n := ll.total
		ll.mu.Unlock()
		if n == 0 {
			return
		}
	}
	t.Fatal("sessions still open")
}

// TestBdatTimeoutIsTemporaryInOurWords: a chunk that stops arriving ends
// the transaction with 451 4.4.2 and our text, not 554 5.0.0 and Go's.
func TestBdatTimeoutIsTemporaryInOurWords(t *testing.T) {
	_, addr, m := wireServer(t, func(o *Options) { o.DataTimeout = 300 * time.Millisecond })
	c := dialRaw(t, addr)
	c.open()
	c.write("BDAT 1000 LAST\r\n" + wireMessage(1000)[:100])
	text := c.expect("451 4.4.2")
	noGoText(t, text)
	c.expectClosed()
	if n := m.count(); n != 0 {
		t.Errorf("%d messages reached the upstream", n)
	}
}

// TestDataTimeoutBoundsBdatTransfer: data_timeout bounds the whole
// transfer, however many chunks it is cut into; each chunk arriving well
// within the idle timeout must not renew it.
func TestDataTimeoutBoundsBdatTransfer(t *testing.T) {
	_, addr, m := wireServer(t, func(o *Options) {
		o.DataTimeout = 300 * time.Millisecond
		o.IdleTimeout = 5 * time.Second
	})
	c := dialRaw(t, addr)
	c.open()
	msg := wireMessage(2000)
	var text string
	for i := 0; i < 20; i++ { // 20 × 100 bytes, one chunk every 50 ms: 1 s in all
		chunk := msg[i*100 : (i+1)*100]
		cmd := "BDAT 100"
		if i == 19 {
			cmd += " LAST"
		}
		if _, err := io.WriteString(c.conn, cmd+"\r\n"+chunk); err != nil {
			break // closed after the timeout reply
		}
		var err error
		if text, err = c.reply(); err != nil || !strings.HasPrefix(text, "250") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.HasPrefix(text, "451 4.4.2") {
		t.Errorf("last reply %q, want 451 4.4.2 (data_timeout)", text)
	}
	noGoText(t, text)
	if n := m.count(); n != 0 {
		t.Errorf("%d messages reached the upstream", n)
	}
}

// TestBdatLineLimit: max_line_length applies to a message sent with BDAT
// as it does with DATA (go-smtp lifts its line limit for chunks).
func TestBdatLineLimit(t *testing.T) {
	for _, size := range []int{100 << 10, 3 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			_, addr, m := wireServer(t, func(o *Options) {
				o.MaxLineLength = 1000
				o.MaxMessageBytes = 4 << 20
			})
			c := dialRaw(t, addr)
			c.open()
			body := "Subject: long\r\n\r\n" + strings.Repeat("y", size) + "\r\n"
			go io.WriteString(c.conn, fmt.Sprintf("BDAT %d LAST\r\n%s", len(body), body))
			// 500 5.5.2 from our Data, or go-smtp's 500 5.4.0 when the
			// long line was already read ahead with the command line.
			text := c.expect("500 5.")
			noGoText(t, text)
			if n := m.count(); n != 0 {
				t.Errorf("%d messages reached the upstream", n)
			}
		})
	}
}

// TestBdatWithinLimitsIsRelayed: the guards above do not stop a good
// message sent in chunks.
func TestBdatWithinLimitsIsRelayed(t *testing.T) {
	_, addr, m := wireServer(t, nil)
	c := dialRaw(t, addr)
	c.open()
	msg := wireMessage(3000)
	c.write("BDAT 1000\r\n" + msg[:1000])
	c.expect("250")
	c.write("BDAT 2000 LAST\r\n" + msg[1000:])
	c.expect("250 2.0.0")
	c.write("QUIT\r\n")
	c.expect("221")
	if n := m.count(); n != 1 {
		t.Fatalf("%d messages reached the upstream, want 1", n)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !strings.HasSuffix(m.got[0], msg) {
		t.Errorf("relayed message differs from the one sent")
	}
}

// TestUnterminatedCommandIsNotRunAtIdleTimeout: bytes without CRLF are not
// a command. At the idle timeout the client hears 421 4.4.2 and the
// connection closes; the half line is never answered.
func TestUnterminatedCommandIsNotRunAtIdleTimeout(t *testing.T) {
	for _, partial := range []string{"NOOP", "QUIT", "MAIL FROM:<a@example.org>", "xyzzy"} {
		t.Run(partial, func(t *testing.T) {
			_, addr, _ := wireServer(t, func(o *Options) { o.IdleTimeout = 300 * time.Millisecond })
			c := dialRaw(t, addr)
			c.expect("220")
			c.write("EHLO client.example\r\n")
			c.expect("250")
			c.write(partial)
			text := c.expect("421 4.4.2")
			noGoText(t, text)
			c.expectClosed()
		})
	}
}

// TestTricklingClientIsCutAtIdleTimeout: a byte now and then does not
// renew the idle timeout; one command must arrive within it.
func TestTricklingClientIsCutAtIdleTimeout(t *testing.T) {
	_, addr, _ := wireServer(t, func(o *Options) { o.IdleTimeout = 300 * time.Millisecond })
	c := dialRaw(t, addr)
	c.expect("220")
	go func() {
		for i := 0; i < 200; i++ { // 10 s at most; the server cuts it long before
			if _, err := c.conn.Write([]byte{"NOOP"[i%4]}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	text := c.expect("421 4.4.2")
	noGoText(t, text)
	c.expectClosed()
}

// TestShutdownTellsIdleSessionsWhy: at shutdown an idle session hears the
// shutdown reply, not an idle timeout.
func TestShutdownTellsIdleSessionsWhy(t *testing.T) {
	srv, addr, _ := wireServer(t, nil)
	c := dialRaw(t, addr)
	c.expect("220")
	c.write("EHLO client.example\r\n")
	c.expect("250")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	c.expect("421 4.3.2")
	c.expectClosed()
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestSizeLimitIsExact: max_message_bytes is the largest message accepted.
// "Message size" is RFC 1870's: the message as transmitted, counted with
// CRLF line ends, without the dot-stuffing of DATA and without the
// terminating "." line; for BDAT it is the sum of the chunk sizes.
func TestSizeLimitIsExact(t *testing.T) {
	const limit = 4096
	for _, tc := range []struct {
		name string
		size int
		send func(c *raw, msg string)
		want string
	}{
		{"DATA of exactly the limit", limit, sendData, "250 2.0.0"},
		{"DATA one byte over", limit + 1, sendData, "552 5.3.4"},
		{"BDAT of exactly the limit", limit, sendBdat, "250 2.0.0"},
		{"BDAT one byte over", limit + 1, sendBdat, "552 5.3.4"},
		{"BDAT over in its second chunk", limit + 1, func(c *raw, msg string) {
			c.write(fmt.Sprintf("BDAT %d\r\n%s", limit-10, msg[:limit-10]))
			c.expect("250")
			c.write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg)-(limit-10), msg[limit-10:]))
		}, "552 5.3.4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr, m := wireServer(t, func(o *Options) { o.MaxMessageBytes = limit })
			c := dialRaw(t, addr)
			c.open()
			tc.send(c, wireMessage(tc.size))
			c.expect(tc.want)
			c.write("QUIT\r\n")
			c.expect("221")
			want := 0
			if strings.HasPrefix(tc.want, "250") {
				want = 1
			}
			if n := m.count(); n != want {
				t.Errorf("%d messages reached the upstream, want %d", n, want)
			}
		})
	}
}

func sendData(c *raw, msg string) {
	c.write("DATA\r\n")
	c.expect("354")
	c.write(msg + ".\r\n")
}

func sendBdat(c *raw, msg string) {
	c.write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg), msg))
}

// TestDeclaredSizeIsExact: SIZE= at MAIL (RFC 1870 §6) is held to the same
// limit as the message itself.
func TestDeclaredSizeIsExact(t *testing.T) {
	_, addr, _ := wireServer(t, func(o *Options) { o.MaxMessageBytes = 4096 })
	c := dialRaw(t, addr)
	c.expect("220")
	c.write("EHLO client.example\r\n")
	c.expect("250")
	c.write("MAIL FROM:<a@example.org> SIZE=4097\r\n")
	c.expect("552 5.3.4")
	c.write("MAIL FROM:<a@example.org> SIZE=4096\r\n")
	c.expect("250")
}

// TestThirdFailedAuthEndsWithOneReply: the third wrong password gets
// 421 4.7.0 and the connection closes, with no second 421 after it.
func TestThirdFailedAuthEndsWithOneReply(t *testing.T) {
	ts := startAuthServer(t)
	c := dialRaw(t, ts.addr)
	c.expect("220")
	c.write("EHLO client.example\r\n")
	c.expect("250")
	c.write("STARTTLS\r\n")
	c.expect("220")
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	c.r = bufio.NewReader(tc)
	write := func(s string) {
		if _, err := io.WriteString(tc, s); err != nil {
			t.Fatal(err)
		}
	}
	write("EHLO client.example\r\n")
	c.expect("250")
	for i, want := range []string{"535", "535", "421 4.7.0"} {
		write("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("\x00alice\x00guess%d", i))) + "\r\n")
		c.expect(want)
	}
	c.expectClosed()
}

// TestUnterminatedCommandIsNotRunAtIdleTimeoutOverTLS: the same after
// STARTTLS, where our idle reply must go through the TLS layer.
func TestUnterminatedCommandIsNotRunAtIdleTimeoutOverTLS(t *testing.T) {
	opts := defaultTestOptions()
	opts.TLS = testTLS(t)
	opts.IdleTimeout = 300 * time.Millisecond
	ts := startServer(t, opts, scoring.DefaultPolicy(), nil)
	c := dialRaw(t, ts.addr)
	c.expect("220")
	c.write("EHLO client.example\r\nSTARTTLS\r\n")
	c.expect("250")
	c.expect("220")
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	c.r = bufio.NewReader(tc)
	io.WriteString(tc, "EHLO client.example\r\n")
	c.expect("250")
	io.WriteString(tc, "NOOP")
	c.expect("421 4.4.2")
	c.expectClosed()
}
