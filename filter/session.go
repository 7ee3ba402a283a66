package filter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"relayguard/internal/metrics"
	"relayguard/rules/message"
	"relayguard/scoring"
)

// maxAuthFailures ends a session that keeps guessing passwords.
const maxAuthFailures = 3

// session is one client connection. go-smtp calls its methods from the
// connection's goroutine, one at a time.
type session struct {
	srv  *Server
	tc   *trackedConn
	id   string
	ip   netip.Addr
	helo string
	tls  bool
	user string // authenticated identity
	job  *scoring.Job
	log  *slog.Logger

	authFailures int

	// mu keeps Data apart from Reset and Logout: for BDAT, go-smtp runs
	// Data on a goroutine of its own, and calls Reset or Logout from the
	// connection's when the transfer is broken off.
	mu sync.Mutex

	// The transaction, mirrored to the next hop.
	up   UpstreamConn // kept across transactions, closed at Logout
	inTx bool         // the next hop has a MAIL outstanding
	// mailHeld: up holds the MAIL back to send with the first RCPT, which
	// then answers for it (mailOpts keeps it for a fresh try, mailRetry
	// allows one: the connection was kept from an earlier message).
	mailHeld  bool
	mailRetry bool
	mailOpts  smtp.MailOptions
	from      string
	utf8      bool // MAIL FROM carried SMTPUTF8 (RFC 6531): RCPT may be non-ASCII
	rcpts     []string
	started   time.Time
	early     *scoring.Verdict // with RejectEarly: the sender-only verdict, once known

	judged int // messages judged in this session (Judged.Seq)
}

func (s *session) ref() string { return s.id }

// AuthMechanisms offers PLAIN and LOGIN; go-smtp advertises them only after
// STARTTLS (AllowInsecureAuth is off), so passwords never cross in clear.
func (s *session) AuthMechanisms() []string {
	if s.srv.users == nil {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.tc != nil && s.tc.closing() { // a half line read at the idle timeout
		return nil, errSessionEnding
	}
	if s.srv.users == nil {
		return nil, errAuthNotConfigured
	}
	if s.authBlocked() {
		metrics.RateLimited("auth_failures")
		s.log.Warn("auth refused: address blocked after repeated failures", "session", s.id, "ip", s.ip)
		return nil, errAuthBlocked
	}
	check := func(user, pass string) error {
		if err := s.srv.users.Verify(user, pass); err != nil {
			s.authFailures++
			s.authFailed()
			// The password is never logged, nor the user name of a failed
			// attempt beyond what helps an operator spot guessing.
			s.log.Warn("auth failed", "session", s.id, "ip", s.ip, "user", user, "failures", s.authFailures)
			if s.authFailures >= maxAuthFailures && s.tc != nil {
				s.tc.endAfterReply()
				return errAuthTooMany
			}
			return smtp.ErrAuthFailed
		}
		s.user = user
		s.job.Auth(user)
		s.log.Info("auth ok", "session", s.id, "ip", s.ip, "user", user)
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return newLoginServer(check), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// Mail opens the transaction here and at the next hop (where PIPELINING
// lets it, the MAIL goes with the first RCPT: see upstreamRcpt).
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if err := s.checkDeclaredSize(opts); err != nil {
		return err
	}
	s.Reset()
	utf8 := opts != nil && opts.UTF8
	if err := CheckSender(from, utf8); err != nil {
		s.log.Info("sender refused", "session", s.id, "ip", s.ip, "helo", s.helo, "from", from, "reply", err.Message)
		return err
	}
	if err := s.checkMailLimits(from); err != nil {
		return err
	}
	if err := s.openMail(from, opts); err != nil {
		return err
	}
	s.mailOpts = smtp.MailOptions{}
	if opts != nil {
		s.mailOpts = *opts
	}
	s.from, s.utf8 = from, utf8
	s.started = time.Now()
	s.job.Mail(from)
	return nil
}

// openMail starts the transaction at the next hop, on the connection kept
// from an earlier message or a new one. A kept one may have been timed out
// by the next hop while idle: it gets one fresh try before giving up. With
// the MAIL held for the first RCPT, that try is made there (mailRetry).
func (s *session) openMail(from string, opts *smtp.MailOptions) error {
	reused := s.up != nil
	if err := s.upstream(); err != nil {
		return err
	}
	held, err := s.up.Mail(from, opts)
	if err != nil && reused && !isPermanent(err) {
		s.dropUpstream()
		if err := s.upstream(); err != nil {
			return err
		}
		held, err = s.up.Mail(from, opts)
		reused = false
	}
	if err != nil {
		return s.upstreamError("MAIL", err)
	}
	if !held {
		metrics.UpstreamReply(250)
	}
	s.inTx, s.mailHeld, s.mailRetry = true, held, held && reused
	return nil
}

// checkDeclaredSize holds SIZE= (RFC 1870 §6) to max_message_bytes:
// go-smtp is given one byte more (see NewServer), so that one is refused
// here.
func (s *session) checkDeclaredSize(opts *smtp.MailOptions) error {
	if max := s.srv.opts.MaxMessageBytes; max > 0 && opts != nil && opts.Size > max {
		return errMessageTooLarge
	}
	return nil
}

// upstream makes sure a conversation with the next hop is open.
func (s *session) upstream() error {
	if s.tc != nil && s.tc.closing() { // a half line read at the idle timeout
		return errSessionEnding
	}
	if s.up != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.opts.RelayTimeout)
	defer cancel()
	up, err := s.srv.upstream.Open(ctx)
	if err != nil {
		s.log.Error("upstream unavailable", "session", s.id, "err", err)
		metrics.UpstreamReply(0)
		return upstreamUnavailable(s.ref())
	}
	s.up = up
	return nil
}

// upstreamError turns a failure talking to the next hop into the client's
// reply: the next hop's own answer is passed on as it is; a broken
// conversation is 451 4.4.1 and the connection is dropped.
func (s *session) upstreamError(stage string, err error) error {
	if se, ok := isReply(err); ok {
		metrics.UpstreamReply(se.Code)
		s.log.Info("upstream refused", "session", s.id, "stage", stage, "code", se.Code, "reply", se.Message)
		if se.Code == 421 { // the next hop is closing the connection
			s.dropUpstream()
		}
		return se
	}
	metrics.UpstreamReply(0)
	s.log.Error("upstream failed", "session", s.id, "stage", stage, "err", err)
	s.dropUpstream()
	return upstreamUnavailable(s.ref())
}

// isPermanent tells a 5xx answer from the next hop.
func isPermanent(err error) bool {
	se, ok := isReply(err)
	return ok && se.Code >= 500
}

func (s *session) dropUpstream() {
	if s.up != nil {
		s.up.Close()
	}
	s.up, s.inTx = nil, false
}

// Rcpt applies the access policy, then asks the next hop.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.srv.policy.CheckRcpt(to, s.ip, s.user != "", s.utf8); err != nil {
		s.log.Info("rcpt refused", "session", s.id, "ip", s.ip, "helo", s.helo, "from", s.from, "rcpt", to, "reply", err.Message)
		return err
	}
	if sym, ok := s.job.RefusedRcpt(to); ok {
		s.log.Info("rcpt refused", "session", s.id, "ip", s.ip, "helo", s.helo, "from", s.from, "rcpt", to, "symbol", sym.Name, "reason", sym.Detail)
		return rcptBlocked(sym.Detail, s.ref())
	}
	if reply := s.otherClass(to); reply != nil {
		return reply
	}
	if reply := s.rejectEarly(to); reply != nil {
		return reply
	}
	if err := s.checkRcptLimits(); err != nil {
		return err
	}
	if !s.inTx || s.up == nil {
		return upstreamUnavailable(s.ref())
	}
	if err := s.upstreamRcpt(to); err != nil {
		return err
	}
	s.rcpts = append(s.rcpts, to)
	s.job.Rcpt(to)
	return nil
}

// upstreamRcpt asks the next hop for to. The first RCPT may carry the MAIL
// held back for it (UpstreamConn.Mail), whose answer comes back here: the
// client, which heard 250 for its MAIL, hears a refused MAIL at each RCPT,
// in the next hop's words. A kept connection that broke while idle gets the
// fresh try Mail would have given it.
func (s *session) upstreamRcpt(to string) error {
	err := s.up.Rcpt(to)
	var heldErr *heldMailError
	if !errors.As(err, &heldErr) {
		if s.mailHeld {
			s.mailHeld = false
			metrics.UpstreamReply(250)
		}
		if err != nil {
			return s.upstreamError("RCPT", err)
		}
		metrics.UpstreamReply(250)
		return nil
	}
	if !s.mailHeld { // a later RCPT: the refusal already counted and logged
		if se, ok := isReply(err); ok {
			return se
		}
		return s.upstreamError("MAIL", err)
	}
	if s.mailRetry && !isPermanent(err) {
		s.dropUpstream() // a new connection: openMail sets no retry again
		if err := s.openMail(s.from, &s.mailOpts); err != nil {
			return err
		}
		return s.upstreamRcpt(to)
	}
	s.mailHeld = false
	return s.upstreamError("MAIL", err)
}

// rejectEarly refuses at RCPT, so the body is never sent, when the checks
// that judge the sender (connect and MAIL phase) already reach reject.
func (s *session) rejectEarly(to string) error {
	if !s.srv.opts.RejectEarly {
		return nil
	}
	if s.early == nil {
		v := s.job.EarlyFor(to)
		s.early = &v
		if v.Action == scoring.ActionReject {
			countVerdict(&v, metrics.ActionRejected)
			s.logMessage(&record{verdict: &v, reply: "554 5.7.1 rejected at RCPT"})
		}
	}
	if s.early.Action != scoring.ActionReject {
		return nil
	}
	return rejected(s.early.RejectLines(s.ref()))
}

// Data spools the message, asks for the verdict, and rejects it or relays
// it. The client's answer is the next hop's: 250 only after it said 250.
func (s *session) Data(r io.Reader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tc != nil && s.tc.closing() { // a half line read at the idle timeout
		return errSessionEnding
	}
	if s.up == nil || !s.inTx {
		// The next hop went away after RCPT: no point taking the message.
		return upstreamUnavailable(s.ref())
	}
	// go-smtp v0.25.1 hands Data its DATA reader, or a pipe it feeds BDAT
	// chunks into; for chunks it applies no line limit and cannot tell a
	// chunk cut short from a whole one.
	_, chunked := r.(*io.PipeReader)
	lm := &limitedMessage{r: r, max: s.srv.opts.MaxMessageBytes}
	if chunked {
		lm.maxLine = s.srv.opts.MaxLineLength
	}
	if s.tc != nil {
		// One bound on the whole transfer, across BDAT chunks too: a
		// client trickling a byte a minute cannot hold the session past
		// data_timeout.
		s.tc.startData(s.srv.opts.DataTimeout)
		defer s.tc.endData()
	}
	sp := newSpool(s.srv.opts.SpoolMemoryBytes, s.srv.opts.SpoolDir)
	defer sp.Close()
	err := sp.fill(lm)
	metrics.Spooled(sp.Size(), sp.onDisk())
	if err != nil {
		metrics.Message(metrics.ActionAborted)
		return s.abort(s.spoolError(err))
	}
	if chunked && s.tc != nil && s.tc.clientClosed() {
		// The last chunk ended because the connection did: a short read
		// that go-smtp took for the whole chunk. Never relay it.
		s.log.Info("message incomplete: client closed during BDAT", "session", s.id, "bytes", sp.Size())
		return s.abort(errIncomplete)
	}
	if _, ok := message.HeaderSize(sp, sp.Size(), s.srv.opts.MaxHeaderBytes); !ok {
		return s.abort(errHeaderTooLarge)
	}
	msg := message.ParseMessageOptions(sp, sp.Size(), s.srv.opts.ParseOptions)
	finishing := time.Now()
	verdict := s.job.Finish(msg)
	metrics.Verdict(time.Since(finishing))
	rec := s.record(sp, &verdict, msg)
	s.recordVerdict(verdict.Spam())

	switch verdict.Action {
	case scoring.ActionReject:
		reply := rejected(verdict.RejectLines(s.ref()))
		rec.reply = "554 5.7.1 rejected"
		countVerdict(&verdict, metrics.ActionRejected)
		s.logMessage(rec)
		return s.abort(reply)
	case scoring.ActionTempfail:
		reply := tempfailed(verdict.TempfailLines(s.ref()))
		rec.reply = "451 4.4.3 checks failed"
		countVerdict(&verdict, metrics.ActionTempfailed)
		s.logMessage(rec)
		return s.abort(reply)
	}

	if reply := s.checkDataLimits(); reply != nil {
		countVerdict(&verdict, metrics.ActionLimited)
		rec.reply = replyText(reply)
		s.logMessage(rec)
		return s.abort(reply)
	}

	h := &hop{hostname: s.srv.opts.Hostname, id: s.id, clientIP: s.ip, helo: s.helo,
		tls: s.tls, auth: s.user != "", rcpts: s.rcpts, at: time.Now()}
	body, stripped := relayedMessage(msg, s.srv.opts.Hostname)
	if stripped > 0 {
		s.log.Warn("removed forged Authentication-Results/X-Spam fields", "session", s.id, "count", stripped)
	}
	text, err := s.up.Data(addedHeader(h, &verdict), body)
	s.inTx = false
	if err != nil {
		reply := s.upstreamError("DATA", err)
		action := metrics.ActionUpstreamFailed
		if _, ok := isReply(err); ok {
			action = metrics.ActionUpstreamRefused
		}
		countVerdict(&verdict, action)
		rec.reply = replyText(reply)
		s.logMessage(rec)
		return reply
	}
	rec.reply = "250 " + text
	metrics.UpstreamReply(250)
	countVerdict(&verdict, metrics.ActionRelayed)
	s.logMessage(rec)
	s.countAccepted()
	return relayed(s.ref(), text)
}

// countVerdict counts a judged message by what became of it, and its
// symbols.
func countVerdict(v *scoring.Verdict, action string) {
	metrics.Message(action)
	for _, sym := range v.Symbols {
		metrics.Symbol(sym.Name)
	}
}

// abort ends the transaction at the next hop (RSET) and returns reply.
func (s *session) abort(reply error) error {
	s.resetUpstream()
	return reply
}

// spoolError maps a failure while receiving the message to its reply.
// Timeouts are answered on the wire by trackedConn, which closes the
// connection; what is returned then reaches nobody, but is still ours.
func (s *session) spoolError(err error) error {
	var se *smtp.SMTPError
	switch {
	case errors.As(err, &se): // our limits, go-smtp's 552 5.3.4
		return se
	case errors.Is(err, smtp.ErrTooLongLine):
		// go-smtp's reader stays past the limit and would answer the
		// next command "500 5.4.0 Too long line" after ours.
		if s.tc != nil {
			s.tc.endAfterReply()
		}
		return errLineTooLong
	case errors.Is(err, errSessionEnded), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, smtp.ErrDataReset):
		s.log.Info("message incomplete", "session", s.id, "err", err)
		return errIncomplete
	}
	s.log.Error("spool failed", "session", s.id, "err", err)
	return localError(s.ref())
}

// Reset drops the transaction (RSET, or after DATA).
func (s *session) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetUpstream()
	s.from, s.rcpts, s.early = "", nil, nil
	s.job.Reset()
}

func (s *session) resetUpstream() {
	if !s.inTx || s.up == nil {
		return
	}
	s.inTx, s.mailHeld, s.mailRetry = false, false, false
	if err := s.up.Reset(); err != nil {
		s.log.Warn("upstream RSET failed, reconnecting next time", "session", s.id, "err", err)
		s.dropUpstream()
	}
}

// Logout ends the session.
func (s *session) Logout() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetUpstream()
	if s.up != nil {
		s.up.Close()
		s.up = nil
	}
	s.job.Close()
	return nil
}

func replyText(err error) string {
	if se, ok := isReply(err); ok {
		return fmt.Sprintf("%d %d.%d.%d %s", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message)
	}
	return err.Error()
}

// clip puts s on one line, its runs of whitespace made one space, cut to n
// bytes.
func clip(s string, n int) string {
	if !tidy(s) {
		s = strings.Join(strings.Fields(s), " ")
	}
	if len(s) > n {
		return s[:n]
	}
	return s
}

// tidy tells whether s is already as clip would make it (the common case,
// "2.0.0 Ok: queued as ABC"), so that it need not be rebuilt.
func tidy(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ':
			if i == 0 || i == len(s)-1 || s[i+1] == ' ' {
				return false
			}
		case c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c >= 0x80:
			// Other whitespace, or UTF-8 that may hold Unicode spaces.
			return false
		}
	}
	return true
}

// otherClass defers a recipient whose policy class differs from the one
// the transaction's first recipient fixed: one message gets one verdict,
// so the client must send it again in a transaction of its own (RFC 5321
// §4.5.3.1.10 lets a client retry 452'd recipients later, as it does for
// too many recipients). The first accepted recipient decides.
func (s *session) otherClass(to string) error {
	if len(s.rcpts) == 0 {
		return nil
	}
	if c := s.job.ClassOf(to); c != s.job.Class() {
		s.log.Info("rcpt deferred: another policy class", "session", s.id, "ip", s.ip, "from", s.from, "rcpt", to,
			"class", className(c), "transaction_class", className(s.job.Class()))
		return errOtherPolicyClass
	}
	return nil
}

func className(c string) string {
	if c == "" {
		return "default"
	}
	return c
}
