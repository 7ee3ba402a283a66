package filter

import (
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"relayguard/internal/access"
	"relayguard/scoring"
)

// writeCounter counts the writes made on the connections it accepts.
type writeCounter struct {
	net.Listener
	writes atomic.Int64
}

func (l *writeCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, n: &l.writes}, nil
}

// dialCounted serves srv on a writeCounter and says EHLO to it.
func dialCounted(t *testing.T, srv *Server) (*client, *writeCounter) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &writeCounter{Listener: inner}
	c := dial(t, serveTestOn(t, srv, l))
	c.hello()
	return c, l
}

type countedConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// A client that pipelines MAIL, RCPT and DATA (RFC 2920) gets the three
// answers in one write, sent when the session waits for the message; a
// client that waits for each answer still gets each (the test would hang
// on a reply held back).
func TestPipelinedCommandsAreAnsweredInOneWrite(t *testing.T) {
	pol := &Policy{Access: access.New(access.Options{
		RelayNetworks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		LocalDomains:  []string{"local.example"},
	})}
	up := &fakeUpstream{}
	srv := NewServer(defaultTestOptions(), pol, nil, mustGTUBEEngine(t), up, discardLog())
	c, l := dialCounted(t, srv)
	before := l.writes.Load()
	if _, err := c.conn.Write([]byte("MAIL FROM:<a@example.org>\r\nRCPT TO:<user@local.example>\r\nDATA\r\n")); err != nil {
		t.Fatal(err)
	}
	c.expect(250, "")
	c.expect(250, "")
	c.expect(354, "")
	if n := l.writes.Load() - before; n != 1 {
		t.Errorf("the three answers took %d writes, want 1", n)
	}
	w := c.tp.DotWriter()
	io.WriteString(w, ham)
	w.Close()
	c.expect(250, "")
	// One command at a time: every answer comes without the next command.
	c.envelope("a@example.org", "user@local.example")
	c.sendMessage(ham)
	c.expect(250, "")
	c.send("QUIT")
	c.expect(221, "")
	if n := len(up.messages()); n != 2 {
		t.Errorf("%d messages relayed, want 2", n)
	}
}

// Replies beyond maxPending are sent at once, in order, none lost: 200
// pipelined NOOPs get 200 answers, in more than one write.
func TestManyPipelinedRepliesOverflowInOrder(t *testing.T) {
	srv := NewServer(defaultTestOptions(), &Policy{Access: access.New(access.Options{})}, nil, mustGTUBEEngine(t), &fakeUpstream{}, discardLog())
	c, l := dialCounted(t, srv)
	before := l.writes.Load()
	const n = 200
	if _, err := c.conn.Write([]byte(strings.Repeat("NOOP\r\n", n))); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		c.expect(250, "")
	}
	if w := l.writes.Load() - before; w < 2 || w > n/10 {
		t.Errorf("%d answers took %d writes, want a few (each up to %d bytes)", n, w, maxPending)
	}
	c.send("QUIT")
	c.expect(221, "")
}

func mustGTUBEEngine(t *testing.T) *scoring.Engine {
	t.Helper()
	engine, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second, Checks: []scoring.Check{scoring.GTUBE{}}})
	if err != nil {
		t.Fatal(err)
	}
	return engine
}
