// Package smtpreply reads the enhanced status code (RFC 3463) out of an
// SMTP reply's text, for the two clients relayguard has that do not go
// through go-smtp's reply reader: its own client to the upstream
// (filter/upclient.go) and smtpload's pipelined transaction. go-smtp
// parses these codes too, but only inside its Client.
package smtpreply

import (
	"strings"

	"github.com/emersion/go-smtp"
)

// Split takes the enhanced code from the start of text, the reply's lines
// joined by "\n", when its class is the reply code's, and drops it from
// the following lines too, as RFC 2034 §3 has every line repeat it. Without
// one (or with one of another class: "451 5.7.0" says two different things)
// it returns the zero code and text whole.
func Split(code int, text string) (smtp.EnhancedCode, string) {
	ec, rest, ok := cutEnhancedCode(text, code/100)
	if !ok {
		return smtp.EnhancedCode{}, text
	}
	prefix := text[:len(text)-len(rest)]
	if !strings.HasSuffix(prefix, " ") {
		prefix += " "
	}
	return ec, strings.ReplaceAll(rest, "\n"+prefix, "\n")
}

// cutEnhancedCode parses "class.subject.detail" at the start of text.
func cutEnhancedCode(text string, class int) (smtp.EnhancedCode, string, bool) {
	word, rest, _ := strings.Cut(text, " ")
	if i := strings.IndexByte(word, '\n'); i >= 0 { // "5.1.1\nnext line"
		word, rest = word[:i], text[i:]
	}
	var ec smtp.EnhancedCode
	for i := 0; i < 3; i++ {
		part, tail, found := strings.Cut(word, ".")
		if found != (i < 2) || len(part) == 0 || len(part) > 3 {
			return ec, text, false
		}
		n := 0
		for j := 0; j < len(part); j++ {
			if part[j] < '0' || part[j] > '9' {
				return ec, text, false
			}
			n = n*10 + int(part[j]-'0')
		}
		ec[i] = n
		word = tail
	}
	if ec[0] != class {
		return smtp.EnhancedCode{}, text, false
	}
	return ec, rest, true
}
