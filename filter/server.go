package filter

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"relayguard/internal/limit"
	"relayguard/rules/message"
	"relayguard/scoring"
)

// Options are the front door's settings (the [server] and [relay] timeouts
// of the config).
type Options struct {
	Hostname            string
	MaxMessageBytes     int64
	MaxRecipients       int
	MaxConnections      int
	MaxConnectionsPerIP int
	MaxLineLength       int
	MaxHeaderBytes      int64
	IdleTimeout         time.Duration
	DataTimeout         time.Duration
	RelayTimeout        time.Duration
	SpoolMemoryBytes    int64
	SpoolDir            string
	TLS                 *tls.Config // nil: no STARTTLS, no AUTH
	// RejectEarly refuses at RCPT when the sender checks alone reach the
	// reject threshold.
	RejectEarly bool
	// ParseOptions bound the work of parsing a message (rules.max_scan_bytes).
	ParseOptions message.Options
	// Limiter applies the volume limits, the hold and the AUTH block;
	// nil: none.
	Limiter *limit.Limiter
	// ProxyFrom are the load balancers whose PROXY protocol header names
	// the client (server.proxy_protocol_from); empty: PROXY protocol off.
	ProxyFrom []netip.Prefix
	// OnJudged, when set, is called with every judged message as its log
	// line is written (the console's history). It runs in the session,
	// before the spool is closed, so it may read the message; it must
	// copy what it keeps and return at once (never wait on a store).
	OnJudged func(*Judged)
}

// Server is relayguard's SMTP front door.
type Server struct {
	opts     Options
	policy   *Policy
	users    Users
	engine   atomic.Pointer[scoring.Engine]
	upstream Upstream
	log      *slog.Logger

	smtp *smtp.Server

	mu       sync.Mutex
	listener *limitListener // set by Serve
	closed   bool           // Shutdown was called
}

// NewServer wires the front door. users may be nil (AUTH off).
func NewServer(opts Options, policy *Policy, users Users, engine *scoring.Engine, up Upstream, log *slog.Logger) *Server {
	s := &Server{opts: opts, policy: policy, users: users, upstream: up, log: log}
	s.engine.Store(engine)
	srv := smtp.NewServer(s)
	srv.Domain = opts.Hostname
	// go-smtp v0.25.1's DATA reader refuses a message of exactly
	// MaxMessageBytes (it stops at the limit before seeing the final
	// "."), so it gets one byte more and Data holds the message to the
	// limit itself (spool.go). The price: EHLO advertises SIZE one byte
	// above max_message_bytes, and MAIL refuses that one declared size
	// itself. See docs/upstream/go-smtp-bdat.patch.
	if opts.MaxMessageBytes > 0 {
		srv.MaxMessageBytes = opts.MaxMessageBytes + 1
	}
	// go-smtp's own limit refuses the recipient past the limit with
	// 452 4.5.3 and advertises LIMITS RCPTMAX (RFC 9422).
	srv.MaxRecipients = opts.MaxRecipients
	srv.MaxLineLength = opts.MaxLineLength
	srv.ReadTimeout = opts.IdleTimeout
	srv.WriteTimeout = opts.IdleTimeout
	srv.EnableSMTPUTF8 = true
	srv.TLSConfig = opts.TLS
	srv.ErrorLog = slogAdapter{log}
	s.smtp = srv
	return s
}

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	if len(s.opts.ProxyFrom) > 0 {
		// Under the limits, so they count the client's address.
		l = newProxyListener(l, s.opts.ProxyFrom, s.log)
	}
	ll := newLimitListener(l, s.opts.MaxConnections, s.opts.MaxConnectionsPerIP, s.opts.Hostname,
		func(ip netip.Addr, reason string) { s.log.Warn("connection refused", "ip", ip, "reason", reason) })
	s.mu.Lock()
	if s.closed { // shut down before it started
		s.mu.Unlock()
		return l.Close()
	}
	s.listener = ll
	s.mu.Unlock()
	err := s.smtp.Serve(ll)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, ends idle sessions with 421, lets messages in
// DATA finish until ctx ends, then closes whatever is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	ll := s.listener
	s.mu.Unlock()
	if ll == nil {
		return nil
	}
	ll.drain()
	err := s.smtp.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		ll.closeAll()
		return fmt.Errorf("shutdown: sessions still open at the deadline were closed")
	}
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// SetEngine swaps the scoring engine (SIGHUP reloads rules this way).
// Sessions already open finish with the engine they began with.
func (s *Server) SetEngine(e *scoring.Engine) { s.engine.Store(e) }

// NewSession is go-smtp's hook at HELO/EHLO (again after STARTTLS).
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	tc := trackedOf(c.Conn())
	if tc != nil {
		if tc.closing() { // a half line read at the idle timeout: not a command
			return nil, errSessionEnding
		}
		tc.sc.Store(c)
	}
	ip := remoteIP(c.Conn())
	_, isTLS := c.TLSConnectionState()
	id := newID()
	sess := &session{srv: s, tc: tc, id: id, ip: ip, helo: c.Hostname(), tls: isTLS, log: s.log}
	sess.job = s.engine.Load().Begin(scoring.Conn{SessionID: id, ClientIP: ip, Helo: c.Hostname(), TLS: isTLS})
	s.log.Debug("session", "session", id, "ip", ip, "helo", c.Hostname(), "tls", isTLS)
	return sess, nil
}

// newID is a session reference: short enough to read over the phone,
// random enough not to collide in a day's logs (60 bits).
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])[:12])
}

// slogAdapter carries go-smtp's own error log into ours.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...any) { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Println(v ...any)               { a.l.Warn(fmt.Sprint(v...)) }
