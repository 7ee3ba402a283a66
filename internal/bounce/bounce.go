// Package bounce explains a bounce: a delivery status notification (RFC
// 3464) or the free text an MTA mailed back (Exim, Postfix, Exchange,
// Gmail, Yahoo, cPanel hosts) or a pasted SMTP reply. It says, per failed
// recipient, which remote host refused, with which reply, at which stage
// of the SMTP dialogue, why in one category, and what to do next; for a
// blocklist, which list, its removal page and the listed IP, so the
// caller can look that IP up live.
//
// It is a leaf: it reads text and asks nothing on the network. A hosting
// company's support desk pastes what a customer sent; the input is
// untrusted, so the work is bounded (MaxInput) and nothing panics.
package bounce

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// MaxInput is how much of a bounce is read. The reason always comes
// before the copy of the returned message (RFC 3464 §2: the report part
// precedes it; every MTA's text does the same), and a bounce to a hundred
// recipients is some 30 KB, so 256 KiB holds any bounce's reason while a
// pasted input packed to the limit costs a fraction of a second (the
// regular expressions run in linear time). Past it, Report.Truncated says
// the rest was ignored.
const MaxInput = 256 << 10

// maxFailures bounds the recipients reported: a bounce to a mailing list
// can name hundreds, and nobody reads past the first screens.
const maxFailures = 100

// Category is why a remote refused the mail, in the words the advice uses.
type Category string

// The categories. Their names are lower-case words: they are shown to
// users and kept in JSON.
const (
	Blocklist        Category = "blocklist"
	Reputation       Category = "reputation"
	SpamContent      Category = "spam-content"
	Authentication   Category = "authentication"
	UnknownRecipient Category = "unknown-recipient"
	MailboxFull      Category = "mailbox-full"
	RateLimited      Category = "rate-limited"
	Greylisted       Category = "greylisted"
	TooBig           Category = "too-big"
	RelayDenied      Category = "relay-denied"
	TLSRequired      Category = "tls-required"
	Unknown          Category = "unknown"
)

// Report is what Explain found in one bounce.
type Report struct {
	// Found is false when the input holds neither a bounce nor an SMTP
	// reply: nothing to explain.
	Found bool `json:"found"`
	// Format names what wrote the bounce: "RFC 3464 delivery status",
	// "Exim", "Postfix", "Exchange", "Gmail", "Yahoo", "SMTP reply".
	Format string `json:"format,omitempty"`
	// Truncated says the input was longer than MaxInput and only its
	// first MaxInput bytes were read.
	Truncated bool      `json:"truncated,omitempty"`
	Failures  []Failure `json:"failures,omitempty"`
}

// Failure is one recipient the remote refused (or one failure when the
// bounce does not say whom).
type Failure struct {
	Recipient  string `json:"recipient,omitempty"`
	RemoteHost string `json:"remote_host,omitempty"`
	RemoteIP   string `json:"remote_ip,omitempty"`
	// Code is the SMTP reply code (550), zero when the bounce gives none.
	Code int `json:"code,omitempty"`
	// Enhanced is the RFC 3463 enhanced status code ("5.7.1").
	Enhanced string `json:"enhanced,omitempty"`
	// Text is what the remote said, without the codes.
	Text string `json:"text,omitempty"`
	// Stage is when the remote refused: "connect", "EHLO", "MAIL FROM",
	// "RCPT TO", "DATA", "end of data"; empty when not said.
	Stage string `json:"stage,omitempty"`
	// Temporary is true for a 4xx reply: the sender's MTA tries again.
	Temporary bool     `json:"temporary,omitempty"`
	Category  Category `json:"category"`
	// List is the blocklist (or reputation service) named, if any.
	List *List `json:"list,omitempty"`
	// ListedIP is the IP the remote says is listed, for a live lookup.
	ListedIP string `json:"listed_ip,omitempty"`
	// Score is the remote's spam score when it gave one ("120", "12.3").
	Score string `json:"score,omitempty"`
	// Suggestion is the likely intended address when the recipient's
	// domain looks like a misspelt well-known provider.
	Suggestion string `json:"suggestion,omitempty"`
	// Advice is what to do next, in plain words.
	Advice string `json:"advice"`
}

// Explainer explains bounces with extra knowledge from the caller.
type Explainer struct {
	// RemovalPages maps a DNS zone suffix to a list's removal page
	// (blocklists.removal_pages); an entry replaces the built-in page of
	// the list whose zones it matches.
	RemovalPages map[string]string
}

// Explain reads raw with the built-in knowledge only.
func Explain(raw []byte) Report { return Explainer{}.Explain(raw) }

// Explain reads raw, a whole bounce message or a pasted part of one.
func (x Explainer) Explain(raw []byte) Report {
	var rep Report
	if len(raw) > MaxInput {
		raw, rep.Truncated = raw[:MaxInput], true
	}
	if fs, ok := readDSN(raw); ok {
		rep.Format = "RFC 3464 delivery status"
		rep.Failures = fs
	} else {
		text := plainText(raw)
		rep.Format, rep.Failures = readText(text)
	}
	if len(rep.Failures) > maxFailures {
		rep.Failures = rep.Failures[:maxFailures]
	}
	rep.Found = len(rep.Failures) > 0
	if !rep.Found {
		rep.Format = ""
	}
	for i := range rep.Failures {
		x.finish(&rep.Failures[i])
	}
	return rep
}

// finish classifies f and fills in the advice.
func (x Explainer) finish(f *Failure) {
	f.Temporary = f.Code/100 == 4 || strings.HasPrefix(f.Enhanced, "4.")
	classify(f)
	if f.List != nil {
		l := *f.List
		if page := x.removalPage(l); page != "" {
			l.RemovalPage = page
		}
		f.List = &l
	}
	if f.Category == UnknownRecipient {
		f.Suggestion = suggestAddress(f.Recipient)
	}
	f.Advice = advise(f)
}

// removalPage is the caller's page for one of l's zones, if it has one.
func (x Explainer) removalPage(l List) string {
	best, url := -1, ""
	for suffix, u := range x.RemovalPages {
		s := strings.ToLower(strings.Trim(suffix, "."))
		if s == "" || len(s) <= best {
			continue
		}
		for _, z := range l.Zones {
			if z == s || strings.HasSuffix(z, "."+s) || strings.HasSuffix(s, "."+z) {
				best, url = len(s), u
			}
		}
	}
	return url
}

// plainText is raw as text: line ends made \n, invalid UTF-8 replaced, and
// NULs dropped, so every later pattern sees ordinary lines. A pasted
// bounce may be a whole message: its body is not decoded here (readDSN
// does that for MIME reports); quoted-printable soft breaks are undone
// because Exchange and Gmail bounces are often sent that way.
func plainText(raw []byte) string {
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	raw = bytes.ReplaceAll(raw, []byte("\r"), []byte("\n"))
	raw = bytes.ReplaceAll(raw, []byte{0}, nil)
	s := string(raw)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.Contains(s, "=\n") && strings.Contains(strings.ToLower(s), "quoted-printable") {
		s = strings.ReplaceAll(s, "=\n", "")
	}
	return s
}
