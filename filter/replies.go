// Package filter is relayguard's front door: the go-smtp backend and
// session, the access policy (who may relay where), the limits, the
// message spool and the upstream relay. It asks package scoring for a
// verdict and never decides spam on its own.
package filter

import (
	"fmt"

	"github.com/emersion/go-smtp"
)

// Every refusal the front door makes, in one place, so each condition maps
// to one reply code and one enhanced status code (RFC 3463) and the table
// test can hold them to it. The texts are short, true and generic: internal
// error text never reaches the client; the log carries the detail under the
// session reference.
var (
	errRelayDenied = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "Relay access denied"}
	errBadRcptSyntax = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3},
		Message: "Bad recipient address syntax"}
	errBadSenderSyntax = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 7},
		Message: "Bad sender address syntax"}
	// RFC 6531 §3.5: a non-ASCII address in a transaction without SMTPUTF8.
	errNeedsSMTPUTF8 = &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 6, 7},
		Message: "Non-ASCII address requires SMTPUTF8"}
	errHeaderTooLarge = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
		Message: "Message header too large"}
	errLineTooLong = &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 5, 2},
		Message: "Line too long"}
	errDataTimeout = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2},
		Message: "Timeout waiting for message data, try again later"}
	errAuthTooMany = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
		Message: "Too many failed authentication attempts"}
	errAuthNotConfigured = &smtp.SMTPError{Code: 502, EnhancedCode: smtp.EnhancedCode{5, 5, 1},
		Message: "Authentication not enabled"}
	errShuttingDown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2},
		Message: "Service shutting down, try again later"}
)

// localError is a failure on our side (spool disk full, a bug): the client
// is asked to retry, the detail goes to the log.
func localError(ref string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: fmt.Sprintf("Local error, try again later (ref %s)", ref)}
}

// upstreamUnavailable is the reply when the next hop cannot be reached or
// stops answering: temporary, so the client keeps the message and retries.
func upstreamUnavailable(ref string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 1},
		Message: fmt.Sprintf("Next hop unavailable, try again later (ref %s)", ref)}
}
