package filter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// ProxyHeaderTimeout bounds the wait for a PROXY header from a listed load
// balancer; HAProxy sends it with the connection, so only a broken or
// hostile peer ever waits this long.
const ProxyHeaderTimeout = 5 * time.Second

// proxyListener takes the client's address from a PROXY protocol header
// (v1 or v2, go-proxyproto) on connections from the trusted load balancers,
// so that every check, limit, log line and Received header sees the client
// and not the balancer.
//
// The policy, per source address of the TCP connection:
//
//   - listed in server.proxy_protocol_from: REQUIRE. A connection without a
//     header is closed: otherwise a host inside the balancer's network
//     would be judged by its own address, which is trusted (relay networks
//     often cover that network) and is not a client's.
//   - anywhere else: the connection is taken as it is (the library's SKIP:
//     no header is read, its address is the TCP peer's). The library's
//     REJECT would read ahead for a header before the greeting, but an
//     SMTP client waits for our greeting first, so every direct client
//     would wait out the header timeout. A header it sends anyway arrives
//     as the first bytes after the greeting; proxyGuardConn answers those
//     with 554 5.7.1 and closes, so a forged header never passes as SMTP.
//
// Headers are read on a goroutine per connection, never in Accept: one
// slow peer cannot hold up the others' connections.
type proxyListener struct {
	net.Listener
	from []netip.Prefix
	log  *slog.Logger

	ready     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	errMu     sync.Mutex
	err       error // the inner Accept's error, once it failed
}

func newProxyListener(l net.Listener, from []netip.Prefix, log *slog.Logger) *proxyListener {
	pl := &proxyListener{Listener: l, from: from, log: log, ready: make(chan net.Conn), done: make(chan struct{})}
	go pl.acceptLoop()
	return pl
}

// trusted tells whether addr is one of the load balancers.
func (l *proxyListener) trusted(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip := ta.AddrPort().Addr().Unmap()
	for _, p := range l.from {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (l *proxyListener) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				l.errMu.Lock()
				l.err = err
				l.errMu.Unlock()
				l.Close()
				return
			}
			// Out of file descriptors and the like: wait, as net/http
			// does, rather than stop serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Warn("accept", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-l.done:
				return
			}
			continue
		}
		backoff = 0
		if !l.trusted(c.RemoteAddr()) {
			l.hand(&proxyGuardConn{Conn: c, log: l.log})
			continue
		}
		go l.readHeader(c)
	}
}

// readHeader waits for the balancer's header and hands the connection on
// with the client's address, or closes it.
func (l *proxyListener) readHeader(raw net.Conn) {
	pc := proxyproto.NewConn(raw, proxyproto.WithPolicy(proxyproto.REQUIRE),
		proxyproto.SetReadHeaderTimeout(ProxyHeaderTimeout))
	// ProxyHeader reads the header (or fails) once; its error comes back
	// from every later Read, so it is checked here through Read's guard.
	h := pc.ProxyHeader()
	if _, err := pc.Read(nil); err != nil {
		l.log.Warn("connection refused: no valid PROXY header from a proxy_protocol_from address",
			"peer", raw.RemoteAddr().String(), "err", err)
		raw.Close()
		return
	}
	if h != nil && h.Command.IsLocal() {
		// A balancer's health check (PROXY v2 LOCAL): its own address
		// stands, as the protocol says.
		l.log.Debug("PROXY LOCAL connection", "peer", raw.RemoteAddr().String())
	}
	l.hand(pc)
}

func (l *proxyListener) hand(c net.Conn) {
	select {
	case l.ready <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *proxyListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		l.errMu.Lock()
		defer l.errMu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

func (l *proxyListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

// Signatures of a PROXY header: v1's text prefix, and the start of v2's
// 12-byte binary signature (long enough to be no SMTP command).
var (
	proxyV1Sig = []byte("PROXY ")
	proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")[:7]
)

// errProxyHeaderRefused is what go-smtp reads after a refused header: it
// wraps net.ErrClosed, on which go-smtp leaves without a reply of its own.
var errProxyHeaderRefused = fmt.Errorf("PROXY header from an address outside server.proxy_protocol_from: %w", net.ErrClosed)

// proxyGuardConn is a connection from outside server.proxy_protocol_from
// while PROXY protocol is on: if its first bytes are a PROXY header, the
// client is told 554 5.7.1 and the connection ends, instead of the header
// being read as commands.
type proxyGuardConn struct {
	net.Conn
	log     *slog.Logger
	checked bool // the first read was looked at (the serving goroutine's)
	refused bool
}

func (c *proxyGuardConn) Read(p []byte) (int, error) {
	if c.refused {
		return 0, errProxyHeaderRefused
	}
	n, err := c.Conn.Read(p)
	if c.checked || n == 0 {
		return n, err
	}
	c.checked = true
	if first := p[:n]; bytes.HasPrefix(first, proxyV1Sig) || bytes.HasPrefix(first, proxyV2Sig) {
		c.refused = true
		c.log.Warn("connection refused: PROXY header from an address outside server.proxy_protocol_from",
			"ip", remoteIP(c.Conn))
		c.Conn.SetWriteDeadline(time.Now().Add(replyWriteTimeout))
		io.WriteString(c.Conn, wireReply("", errProxyNotAllowed))
		c.Conn.Close()
		return 0, errProxyHeaderRefused
	}
	return n, err
}
