// Package filter is relayguard's front door: the go-smtp backend and
// session, the access policy (who may relay where), the limits, the
// message spool and the upstream relay. It asks package scoring for a
// verdict and never decides spam on its own.
package filter

import (
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"
)

// Every reply the front door makes, in one place, so each condition maps to
// one reply code and one enhanced status code (RFC 3463) and
// TestReplyClassesAgree can hold every one of them to it: fixed replies are
// made with fixed(), formatted ones with a replyKind. No other file builds an
// smtp.SMTPError (TestRepliesAreMadeOnlyInTheTable). The texts are short,
// true and generic: internal error text never reaches the client; the log
// carries the detail under the session reference. The next hop's own
// answers are passed on as they are and are not ours to list.

// replyTable holds every fixed reply and one sample of every formatted one.
var replyTable []*smtp.SMTPError

func fixed(code int, enhanced smtp.EnhancedCode, text string) *smtp.SMTPError {
	e := &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: text}
	replyTable = append(replyTable, e)
	return e
}

// replyKind is a formatted reply: the codes are fixed, the text is made
// per message (reasons, the session reference, the next hop's queue id).
type replyKind struct {
	code     int
	enhanced smtp.EnhancedCode
}

func kind(code int, enhanced smtp.EnhancedCode) replyKind {
	k := replyKind{code, enhanced}
	replyTable = append(replyTable, k.text("sample"))
	return k
}

func (k replyKind) text(msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: k.code, EnhancedCode: k.enhanced, Message: msg}
}

// lines formats a multi-line reply so that every line carries the enhanced
// code: go-smtp prefixes the code to each line and the enhanced code only
// to the last, so the others get it here ("554-5.7.1 ...").
func (k replyKind) lines(lines []string) *smtp.SMTPError {
	ec := fmt.Sprintf("%d.%d.%d", k.enhanced[0], k.enhanced[1], k.enhanced[2])
	out := make([]string, len(lines))
	for i, l := range lines {
		if i < len(lines)-1 {
			l = ec + " " + l
		}
		out[i] = l
	}
	return k.text(strings.Join(out, "\n"))
}

// Refusals at MAIL and RCPT.
var (
	errRelayDenied     = fixed(554, smtp.EnhancedCode{5, 7, 1}, "Relay access denied")
	errBadRcptSyntax   = fixed(501, smtp.EnhancedCode{5, 1, 3}, "Bad recipient address syntax")
	errBadSenderSyntax = fixed(501, smtp.EnhancedCode{5, 1, 7}, "Bad sender address syntax")
	// RFC 6531 §3.5: a non-ASCII address in a transaction without SMTPUTF8.
	errNeedsSMTPUTF8 = fixed(553, smtp.EnhancedCode{5, 6, 7}, "Non-ASCII address requires SMTPUTF8")
)

// The message itself.
var (
	// errMessageTooLarge: RFC 1870 §6, past max_message_bytes (declared
	// at MAIL or counted in DATA/BDAT).
	errMessageTooLarge = fixed(552, smtp.EnhancedCode{5, 3, 4}, "Message exceeds the size limit")
	errHeaderTooLarge  = fixed(552, smtp.EnhancedCode{5, 3, 4}, "Message header too large")
	// errLineTooLong: RFC 5321 §4.5.3.1.6, a line past max_line_length.
	errLineTooLong = fixed(500, smtp.EnhancedCode{5, 5, 2}, "Line too long")
	errDataTimeout = fixed(451, smtp.EnhancedCode{4, 4, 2}, "Timeout waiting for message data, try again later")
	// errIncomplete: the connection ended before the message did (a BDAT
	// chunk cut short). Nothing was relayed; the client may retry.
	errIncomplete = fixed(451, smtp.EnhancedCode{4, 4, 2}, "Connection broken during the message, not relayed")
)

// The session.
var (
	errIdleTimeout       = fixed(421, smtp.EnhancedCode{4, 4, 2}, "Idle timeout, closing connection")
	errAuthTooMany       = fixed(421, smtp.EnhancedCode{4, 7, 0}, "Too many failed authentication attempts")
	errAuthNotConfigured = fixed(502, smtp.EnhancedCode{5, 5, 1}, "Authentication not enabled")
	errShuttingDown      = fixed(421, smtp.EnhancedCode{4, 3, 2}, "Service shutting down, try again later")
	// errSessionEnding answers a command found after the session was ended
	// (a half line read at the idle timeout): nobody hears it, the
	// connection is already closed, but the command must not run.
	errSessionEnding = fixed(421, smtp.EnhancedCode{4, 4, 2}, "Session ending")
	// The connection limits, said before go-smtp sees the connection.
	errTooManyConnections = fixed(421, smtp.EnhancedCode{4, 7, 0}, "Too many connections, try again later")
	errTooManyFromIP      = fixed(421, smtp.EnhancedCode{4, 7, 0}, "Too many connections from your address, try again later")
)

// Formatted replies.
var (
	kindRejected    = kind(554, smtp.EnhancedCode{5, 7, 1})
	kindTempfail    = kind(451, smtp.EnhancedCode{4, 4, 3})
	kindRelayed     = kind(250, smtp.EnhancedCode{2, 0, 0})
	kindLocalError  = kind(451, smtp.EnhancedCode{4, 3, 0})
	kindUpstreamOff = kind(451, smtp.EnhancedCode{4, 4, 1})
)

// rejected is the verdict's refusal, one reason a line (DESIGN.md).
func rejected(lines []string) *smtp.SMTPError { return kindRejected.lines(lines) }

// tempfailed asks the client to retry when the checks could not judge.
func tempfailed(lines []string) *smtp.SMTPError { return kindTempfail.lines(lines) }

// relayed is the client's 250 once the next hop said 250; it carries the
// next hop's reply (its queue id). It travels as an error because go-smtp
// writes a Data error's code and text as they are.
func relayed(ref, upstreamText string) *smtp.SMTPError {
	// Concatenation, not fmt: this reply goes out for every relayed message.
	return kindRelayed.text("Ok, relayed (ref " + ref + "): " + clip(upstreamText, 200))
}

// localError is a failure on our side (spool disk full, a bug): the client
// is asked to retry, the detail goes to the log.
func localError(ref string) *smtp.SMTPError {
	return kindLocalError.text(fmt.Sprintf("Local error, try again later (ref %s)", ref))
}

// upstreamUnavailable is the reply when the next hop cannot be reached or
// stops answering: temporary, so the client keeps the message and retries.
func upstreamUnavailable(ref string) *smtp.SMTPError {
	return kindUpstreamOff.text(fmt.Sprintf("Next hop unavailable, try again later (ref %s)", ref))
}

// wireReply is a one-line reply as the front door writes it itself, outside
// go-smtp (connection refusals, timeouts, shutdown). A 421 names the host
// closing the channel (RFC 5321 §3.8).
func wireReply(hostname string, e *smtp.SMTPError) string {
	text := e.Message
	if e.Code == 421 && hostname != "" {
		text = hostname + " " + text
	}
	return fmt.Sprintf("%d %d.%d.%d %s\r\n", e.Code, e.EnhancedCode[0], e.EnhancedCode[1], e.EnhancedCode[2], text)
}

// The volume limits, the hold and the AUTH block (internal/limit).
var (
	// kindLimited: RFC 3463 4.7.1, delivery not authorized for now; the
	// text says which limit and when to retry.
	kindLimited = kind(451, smtp.EnhancedCode{4, 7, 1})
	// errLimitsUnavailable: store.on_error = "tempfail" while the state
	// store cannot be reached (RFC 3463 4.3.0, a local system problem).
	errLimitsUnavailable = fixed(451, smtp.EnhancedCode{4, 3, 0}, "Sending limits cannot be checked now, try again later")
	// errAuthBlocked: RFC 4954 §6 454 4.7.0, temporary authentication
	// failure. Not 535 5.7.8: the credentials were not judged, and a
	// mail client told its password is wrong asks its user for a new
	// one or stops trying; the block ends by itself.
	errAuthBlocked = fixed(454, smtp.EnhancedCode{4, 7, 0}, "Too many failed logins from your address, try again later")
)

// limited is the reply over a volume limit or for a held account: the
// limiter's plain sentence and the session reference.
func limited(text, ref string) *smtp.SMTPError {
	return kindLimited.text(fmt.Sprintf("%s (ref %s)", clip(text, 300), ref))
}

// Per-recipient policy: RFC 3463 4.5.3 (too many recipients) is what
// clients already retry in a new transaction, as amavis and Postfix
// set-ups answer for a split by policy bank.
var errOtherPolicyClass = fixed(452, smtp.EnhancedCode{4, 5, 3},
	"Recipients with a different filtering policy must be sent in a separate transaction; try again")

// PROXY protocol (proxy.go).
var (
	// errProxyNotAllowed: a PROXY header from an address outside
	// server.proxy_protocol_from; RFC 3463 5.7.1, not authorized. The
	// connection is closed after it.
	errProxyNotAllowed = fixed(554, smtp.EnhancedCode{5, 7, 1}, "PROXY protocol header not accepted from your address")
)

// kindRcptBlocked: a recipient on the operator's block list, refused alone
// (RFC 3463 5.7.1, delivery not authorized); the others of the message
// still get it.
var kindRcptBlocked = kind(550, smtp.EnhancedCode{5, 7, 1})

func rcptBlocked(reason, ref string) *smtp.SMTPError {
	return kindRcptBlocked.text(fmt.Sprintf("%s (ref %s)", clip(reason, 300), ref))
}

// upstreamReply is the upstream's own refusal, passed on to the client as
// the upstream worded it (filter/upclient.go reads it; its class is the
// upstream's, 4 or 5, and an enhanced code of another class is dropped).
// It is not ours, so it is not in replyTable.
func upstreamReply(code int, ec smtp.EnhancedCode, text string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: text}
}
