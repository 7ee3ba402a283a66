package filter

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
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
		if reason := l.admit(ip); reason != "" {
			go l.refuse(c, ip, reason)
			continue
		}
		tc := &trackedConn{Conn: c, l: l, ip: ip}
		l.mu.Lock()
		l.live[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

// admit counts the connection in, or says why it may not come in.
func (l *limitListener) admit(ip netip.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.draining:
		return "shutting down"
	case l.total >= l.max:
		return "too many connections"
	case l.byIP[ip] >= l.perIP:
		return "too many connections from your address"
	}
	l.total++
	l.byIP[ip]++
	return ""
}

// refuse answers 421 and closes. The write has a short deadline: a client
// that does not read cannot keep the goroutine.
func (l *limitListener) refuse(c net.Conn, ip netip.Addr, reason string) {
	defer c.Close()
	if l.onRefuse != nil {
		l.onRefuse(ip, reason)
	}
	code := "4.7.0"
	if reason == "shutting down" {
		code = "4.3.2"
	}
	c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte("421 " + code + " " + l.hostname + " " + reason + ", try again later\r\n"))
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

// trackedConn is a counted connection. While the server drains, any new
// read deadline outside DATA is pulled to now, so a session that just
// finished a message is closed at its next command instead of idling.
type trackedConn struct {
	net.Conn
	l      *limitListener
	ip     netip.Addr
	inData atomic.Bool
	ending atomic.Bool // end at the next command (too many failures)
	once   sync.Once
}

// endAfterReply makes the session end at its next read: go-smtp sends the
// reply being written, then times out reading and closes.
func (c *trackedConn) endAfterReply() { c.ending.Store(true) }

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.l.release(c) })
	return c.Conn.Close()
}

func (c *trackedConn) SetReadDeadline(t time.Time) error {
	if c.ending.Load() || !c.inData.Load() && c.l.isDraining() {
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
