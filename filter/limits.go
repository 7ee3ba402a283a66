package filter

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"relayguard/internal/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// limitListener enforces the connection limits before go-smtp sees a
// connection: over max in all, or over perIP from one address, the client
// gets 421 4.7.0 and is closed. It also tracks live connections so a
// shutdown can end idle sessions while letting transfers in DATA finish.
type limitListener struct {
	net.Listener
	max, perIP int
	hostname   string
	onRefuse   func(ip netip.Addr, reason string)

	mu       sync.Mutex
	total    int
	byIP     map[netip.Addr]int
	live     map[*trackedConn]struct{}
	draining bool
}

func newLimitListener(l net.Listener, max, perIP int, hostname string, onRefuse func(netip.Addr, string)) *limitListener {
	return &limitListener{
		Listener: l, max: max, perIP: perIP, hostname: hostname, onRefuse: onRefuse,
		byIP: make(map[netip.Addr]int), live: make(map[*trackedConn]struct{}),
	}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if reply := l.admit(ip); reply != nil {
			metrics.ConnRefused(refusalReason(reply))
			go l.refuse(c, ip, reply)
			continue
		}
		metrics.ConnAccepted()
		tc := &trackedConn{Conn: c, l: l, ip: ip}
		l.mu.Lock()
		l.live[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

// refusalReason is the metrics label of a refusal by admit.
func refusalReason(reply *smtp.SMTPError) string {
	switch reply {
	case errShuttingDown:
		return "draining"
	case errTooManyConnections:
		return "max_connections"
	case errTooManyFromIP:
		return "max_connections_per_ip"
	}
	return "other"
}

// admit counts the connection in, or gives the reply that keeps it out.
func (l *limitListener) admit(ip netip.Addr) *smtp.SMTPError {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.draining:
		return errShuttingDown
	case l.total >= l.max:
		return errTooManyConnections
	case l.byIP[ip] >= l.perIP:
		return errTooManyFromIP
	}
	l.total++
	l.byIP[ip]++
	return nil
}

// replyWriteTimeout bounds a reply the front door writes itself: a client
// that does not read cannot keep the goroutine.
const replyWriteTimeout = 2 * time.Second

// refuse answers 421 and closes.
func (l *limitListener) refuse(c net.Conn, ip netip.Addr, reply *smtp.SMTPError) {
	defer c.Close()
	if l.onRefuse != nil {
		l.onRefuse(ip, reply.Message)
	}
	c.SetWriteDeadline(time.Now().Add(replyWriteTimeout))
	io.WriteString(c, wireReply(l.hostname, reply))
}

func (l *limitListener) release(tc *trackedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.live[tc]; !ok {
		return
	}
	delete(l.live, tc)
	l.total--
	if l.byIP[tc.ip]--; l.byIP[tc.ip] <= 0 {
		delete(l.byIP, tc.ip)
	}
}

// drain stops admitting connections and wakes every session that is not
// receiving a message: its pending read times out, and go-smtp answers
// 421 and closes. Sessions in DATA are left to finish.
func (l *limitListener) drain() {
	l.mu.Lock()
	l.draining = true
	conns := make([]*trackedConn, 0, len(l.live))
	for tc := range l.live {
		conns = append(conns, tc)
	}
	l.mu.Unlock()
	for _, tc := range conns {
		if !tc.inData.Load() {
			tc.Conn.SetReadDeadline(time.Now())
		}
	}
}

// closeAll ends every connection still open (the shutdown deadline passed).
func (l *limitListener) closeAll() {
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.live))
	for tc := range l.live {
		conns = append(conns, tc)
	}
	l.mu.Unlock()
	for _, tc := range conns {
		tc.Close()
	}
}

func (l *limitListener) isDraining() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.draining
}

// trackedConn is a counted connection, and the front door's hold on the
// wire below go-smtp (v0.25.1), which cannot be told how to end a session:
//
//   - Every read timeout ends here. go-smtp's reader (bufio under
//     textproto) would hand a half line read before the timeout to the
//     command loop as if CRLF had come, and run it; and a BDAT chunk that
//     times out would be answered with Go's error text under 554 5.0.0.
//     Instead the client hears our one reply (idle, data or shutdown) and
//     the connection is closed, so whatever go-smtp does next reaches
//     nobody, and the session refuses to act on it (closing).
//   - While a message is received the read deadline is data_timeout from
//     the start of the message, whatever go-smtp sets between BDAT chunks.
//   - It remembers that the client closed its side (EOF or a broken
//     connection), which is the only trace of a BDAT chunk cut short.
//   - endAfterReply closes the connection right after the reply being
//     written, so go-smtp's own "idle timeout" or "too long line" never
//     follows ours.
//   - Replies wait in a buffer until the session next reads (or closes):
//     go-smtp flushes every reply on its own, so a client that pipelines
//     MAIL, RCPT and DATA (RFC 2920; Exim and Postfix do) got three
//     writes where one carries all three answers. RFC 2920 §3.2 asks
//     exactly this of a server: send what is pending before waiting for
//     input. A client that waits for each reply sees no difference: the
//     session reads right after every reply.
type trackedConn struct {
	net.Conn
	l  *limitListener
	ip netip.Addr
	// sc is go-smtp's connection, once there is a session: replies we
	// write ourselves go through sc.Conn(), the TLS layer after STARTTLS.
	sc atomic.Pointer[smtp.Conn]

	inData       atomic.Bool
	dataDeadline atomic.Int64 // unix nanoseconds; 0: none
	ending       atomic.Bool  // close after the reply being written
	ended        atomic.Bool  // closed by us; nothing more is done
	peerClosed   atomic.Bool  // a read found EOF or a broken connection
	once         sync.Once

	wmu     sync.Mutex
	pending []byte // replies written and not yet sent
}

// maxPending bounds the replies held back; more are sent at once.
const maxPending = 4 << 10

// errSessionEnded is what go-smtp reads once we ended the session: it wraps
// net.ErrClosed, on which go-smtp's command loop leaves without a reply.
var errSessionEnded = fmt.Errorf("relayguard ended the session: %w", net.ErrClosed)

// endAfterReply makes the reply go-smtp writes next the session's last.
func (c *trackedConn) endAfterReply() { c.ending.Store(true) }

// closing tells the session not to act on commands any more.
func (c *trackedConn) closing() bool { return c.ending.Load() || c.ended.Load() }

// clientClosed tells whether the client has closed its side (or the
// connection broke) by now.
func (c *trackedConn) clientClosed() bool { return c.peerClosed.Load() }

// startData bounds the whole message transfer by d from now.
func (c *trackedConn) startData(d time.Duration) {
	dl := time.Now().Add(d)
	c.dataDeadline.Store(dl.UnixNano())
	c.inData.Store(true)
	c.Conn.SetReadDeadline(dl)
}

func (c *trackedConn) endData() {
	c.inData.Store(false)
	c.dataDeadline.Store(0)
}

func (c *trackedConn) Read(p []byte) (int, error) {
	if c.ended.Load() {
		return 0, errSessionEnded
	}
	if err := c.flush(); err != nil {
		// The client is gone (or stopped reading for the write timeout):
		// nothing more can reach it, so the session ends as on EOF.
		c.peerClosed.Store(true)
		return 0, io.EOF
	}
	n, err := c.Conn.Read(p)
	if err == nil {
		return n, nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.end(c.timeoutReply())
		return 0, errSessionEnded
	}
	c.peerClosed.Store(true)
	return n, err
}

// Write holds the reply back until the session reads again (see
// trackedConn); replies beyond maxPending are sent at once.
func (c *trackedConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	n, err := len(p), error(nil)
	if len(c.pending)+len(p) > maxPending {
		if err = c.flushLocked(); err != nil {
			n = 0
		} else if len(p) > maxPending {
			n, err = c.Conn.Write(p)
			p = nil
		}
	}
	if err == nil {
		c.pending = append(c.pending, p...)
	}
	c.wmu.Unlock()
	if c.ending.Load() && !c.ended.Load() {
		c.end(nil)
	}
	return n, err
}

// flush sends the replies held back.
func (c *trackedConn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.flushLocked()
}

func (c *trackedConn) flushLocked() error {
	if len(c.pending) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.pending)
	c.pending = c.pending[:0]
	return err
}

// timeoutReply says why a read timed out.
func (c *trackedConn) timeoutReply() *smtp.SMTPError {
	switch {
	case c.inData.Load():
		return errDataTimeout
	case c.l.isDraining():
		return errShuttingDown
	}
	return errIdleTimeout
}

// end writes reply (if any) and closes the connection. It runs on the
// goroutine that serves the connection (inside its read or write), so the
// reply cannot interleave with one of go-smtp's.
func (c *trackedConn) end(reply *smtp.SMTPError) {
	c.ended.Store(true)
	if reply != nil {
		var w net.Conn = c
		if sc := c.sc.Load(); sc != nil {
			w = sc.Conn()
		}
		c.Conn.SetWriteDeadline(time.Now().Add(replyWriteTimeout))
		io.WriteString(w, wireReply(c.l.hostname, reply))
	}
	c.flush()
	c.Conn.Close()
}

// Close sends the replies held back (go-smtp's last, as 221 to QUIT),
// within replyWriteTimeout, and closes. When another goroutine is sending
// them (to a client that does not read), it closes at once, which ends
// that write.
func (c *trackedConn) Close() error {
	c.once.Do(func() { c.l.release(c) })
	if c.wmu.TryLock() {
		if len(c.pending) > 0 {
			c.Conn.SetWriteDeadline(time.Now().Add(replyWriteTimeout))
			c.flushLocked()
		}
		c.wmu.Unlock()
	}
	return c.Conn.Close()
}

// SetReadDeadline is go-smtp's, adjusted: while the server drains, a
// deadline outside a message is now, so a session that just finished a
// message ends at its next command instead of idling; within a message, no
// later than data_timeout from its start.
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	if c.inData.Load() {
		if dl := c.dataDeadline.Load(); dl != 0 && (t.IsZero() || t.UnixNano() > dl) {
			t = time.Unix(0, dl)
		}
	} else if c.l.isDraining() {
		t = time.Now()
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *trackedConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// trackedOf finds our connection under go-smtp's (which is a *tls.Conn
// after STARTTLS).
func trackedOf(c net.Conn) *trackedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	t, _ := c.(*trackedConn)
	return t
}

func remoteIP(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.IPv6Unspecified()
}
