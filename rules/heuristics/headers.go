package heuristics

import (
	"fmt"
	"relayguard/internal/mailaddr"
	"relayguard/rules/message"
	"strings"
	"time"
	"unicode"
)

// Heuristics that read the header fields.

func dateMissing(in *Input) (string, bool) {
	return "", !in.Msg.Header.Has("Date")
}

func dateInvalid(in *Input) (string, bool) {
	v := in.Msg.Header.Get("Date")
	if v == "" {
		return "", false
	}
	_, ok := headerDate(in)
	return v, !ok
}

type dateKey struct{}

type parsedDate struct {
	t  time.Time
	ok bool
}

// headerDate is the Date header parsed once per message: three rules read
// it, and a date in an unusual layout costs a failed parse per layout tried.
func headerDate(in *Input) (time.Time, bool) {
	d := in.Msg.Memo(dateKey{}, func() any {
		t, ok := parseDate(in.Msg.Header.Get("Date"))
		return parsedDate{t, ok}
	}).(parsedDate)
	return d.t, d.ok
}

// rfc5322Date is the layout nearly every Date field is written in.
const rfc5322Date = "Mon, 2 Jan 2006 15:04:05 -0700"

// parseDate is message.ParseDate with a shortcut for a date written as
// rfc5322Date: net/mail tries its 24 layouts without a day name first,
// each failure allocating an error (some 120 allocations a message), and
// the first layout that can succeed on such a date is this one, so parsing
// with it alone gives the same time. Anything else, or a date this layout
// rejects (31 Feb), takes the full path.
//
// A zone comment after such a date ("+0100 (CET)", how most Received
// fields end) takes the shortcut too when it is only letters, digits and
// spaces: net/mail parses the date up to the zone's sign and four digits
// and skips the comment, so the comment changes nothing.
func parseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	d := v
	if i := strings.IndexByte(v, '('); i > 0 && plainZoneComment(v[i:]) {
		d = strings.TrimRight(v[:i], " ")
	}
	if plainRFC5322Date(d) {
		if t, err := time.Parse(rfc5322Date, d); err == nil {
			return t, true
		}
	}
	return message.ParseDate(v)
}

// ParseDate is message.ParseDate, faster for the common forms of a date
// (see parseDate).
func ParseDate(v string) (time.Time, bool) { return parseDate(v) }

// plainZoneComment tells a comment of ASCII letters, digits and spaces in
// parentheses, nothing after it: "(CET)", "(Coordinated Universal Time)".
func plainZoneComment(c string) bool {
	if len(c) < 2 || c[0] != '(' || c[len(c)-1] != ')' {
		return false
	}
	for i := 1; i < len(c)-1; i++ {
		if b := c[i]; !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == ' ') {
			return false
		}
	}
	return true
}

// plainRFC5322Date tells a date of the shape "Thu, 26 Nov 2026 09:14:03
// +0100" (day of the month in one or two digits), nothing before or after.
func plainRFC5322Date(v string) bool {
	shape := "Aaa, 00 Aaa 0000 00:00:00 +0000"
	if len(v) == len(shape)-1 {
		shape = shape[:5] + shape[6:] // one-digit day
	}
	if len(v) != len(shape) {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		var ok bool
		switch shape[i] {
		case 'A':
			ok = 'A' <= c && c <= 'Z'
		case 'a':
			ok = 'a' <= c && c <= 'z'
		case '0':
			ok = '0' <= c && c <= '9'
		case '+':
			ok = c == '+' || c == '-'
		default:
			ok = c == shape[i]
		}
		if !ok {
			return false
		}
	}
	return true
}

func dateOffset(in *Input) (time.Duration, string, bool) {
	v := in.Msg.Header.Get("Date")
	t, ok := headerDate(in)
	if !ok {
		return 0, "", false
	}
	return t.Sub(in.Arrival()), v, true
}

func dateFuture(in *Input) (string, bool) {
	d, v, ok := dateOffset(in)
	if ok && d >= time.Duration(in.Min*float64(time.Hour)) {
		return fmt.Sprintf("%s (%s ahead)", v, roundHours(d)), true
	}
	return "", false
}

func datePast(in *Input) (string, bool) {
	d, v, ok := dateOffset(in)
	if ok && -d >= time.Duration(in.Min*float64(time.Hour)) {
		return fmt.Sprintf("%s (%s before arrival)", v, roundHours(-d)), true
	}
	return "", false
}

func roundHours(d time.Duration) string {
	h := d.Hours()
	if h >= 48 {
		return fmt.Sprintf("%.0f days", h/24)
	}
	return fmt.Sprintf("%.0f hours", h)
}

func msgidMissing(in *Input) (string, bool) {
	return "", strings.TrimSpace(in.Msg.Header.Get("Message-ID")) == ""
}

// fromNameOtherAddr finds From: "support@bank.example" <x@evil.example>:
// the reader sees an address that is not the sender's.
func fromNameOtherAddr(in *Input) (string, bool) {
	from, ok := in.Msg.FirstAddress("From")
	if !ok || from.Name == "" {
		return "", false
	}
	shown := message.FindEmail(from.Name)
	if shown == "" {
		return "", false
	}
	shown = strings.ToLower(shown)
	if shown == from.Addr || registeredDomain(mailaddr.Domain(shown)) == registeredDomain(from.Domain()) {
		return "", false
	}
	return fmt.Sprintf("shows %s, is %s", shown, from.Addr), true
}

// replyToFreemail: answers go to a free-mail box while the message claims
// to come from somewhere else, a mark of advance-fee and phishing mail.
func replyToFreemail(in *Input) (string, bool) {
	rt, ok := in.Msg.FirstAddress("Reply-To")
	if !ok {
		return "", false
	}
	from, _ := in.Msg.FirstAddress("From")
	rd := rt.Domain()
	if !in.Domains[rd] && !in.Domains[registeredDomain(rd)] {
		return "", false
	}
	if registeredDomain(rd) == registeredDomain(from.Domain()) {
		return "", false
	}
	return rt.Addr, true
}

func subjEmpty(in *Input) (string, bool) {
	return "", strings.TrimSpace(in.Msg.HeaderText("Subject")) == ""
}

func subjAllCaps(in *Input) (string, bool) {
	s := in.Msg.HeaderText("Subject")
	letters := 0
	for _, c := range s {
		if unicode.IsLower(c) {
			return "", false
		}
		if unicode.IsUpper(c) {
			letters++
		}
	}
	if float64(letters) >= in.Min {
		return s, true
	}
	return "", false
}

func rcptsMany(in *Input) (string, bool) {
	n := len(in.Msg.HeaderAddresses("To")) + len(in.Msg.HeaderAddresses("Cc"))
	if float64(n) >= in.Min {
		return fmt.Sprintf("%d recipients in To and Cc", n), true
	}
	return "", false
}

// toUndisclosed: no To at all, or an empty group (undisclosed-recipients:;),
// the mark of mail sent to a list of Bcc addresses.
func toUndisclosed(in *Input) (string, bool) {
	v := strings.TrimSpace(in.Msg.Header.Get("To"))
	if v == "" {
		return "no To", true
	}
	if strings.HasSuffix(v, ":;") || strings.HasSuffix(v, ": ;") {
		return v, true
	}
	return "", false
}

// fakeReply: "Re:" in the subject of a message that answers nothing, a
// trick to look like part of a conversation.
func fakeReply(in *Input) (string, bool) {
	s := strings.TrimSpace(in.Msg.HeaderText("Subject"))
	if len(s) < 3 || !strings.EqualFold(s[:3], "re:") {
		return "", false
	}
	if in.Msg.Header.Has("In-Reply-To") || in.Msg.Header.Has("References") {
		return "", false
	}
	return s, true
}

// subjGreetsRcpt: the subject opens with the recipient's mailbox name
// ("jsmith, your account..."), mail merged from a list of addresses.
func subjGreetsRcpt(in *Input) (string, bool) {
	to, ok := in.Msg.FirstAddress("To")
	if !ok {
		return "", false
	}
	local, _, _ := strings.Cut(to.Addr, "@")
	if len(local) < 3 {
		return "", false
	}
	s := strings.ToLower(strings.TrimSpace(in.Msg.HeaderText("Subject")))
	rest, ok := strings.CutPrefix(s, local)
	if !ok || rest == "" {
		return "", false
	}
	switch rest[0] {
	case ',', ':', '!', '-', ';':
		return in.Msg.HeaderText("Subject"), true
	}
	return "", false
}
