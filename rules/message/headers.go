package message

import (
	"net/mail"
	"strings"
	"time"

	"relayguard/internal/mailaddr"
)

// Header helpers: addresses, dates and Received timestamps, each tolerant
// of what real (and forged) headers look like.

// Address is a parsed mailbox: display name and address, both decoded.
type Address struct {
	Name string
	Addr string // lower case
}

// Domain is the part after the last @, lower case.
func (a Address) Domain() string {
	return mailaddr.Domain(a.Addr)
}

var addrParser = mail.AddressParser{WordDecoder: &wordDecoder}

// namedAddresses is one header's parsed addresses, kept on the message.
type namedAddresses struct {
	name string
	list []Address
}

// HeaderAddresses parses an address-list header; when the strict parser
// refuses it, addresses are picked out of the text. The list is parsed
// once per message and header name (a dozen rules ask for From); callers
// share it and must not modify it.
//
// The lists are kept in a slice of their own rather than through Memo,
// whose boxed key and closure cost two allocations on every call, and a
// message is asked for a handful of header names; the parse, cheap and
// bounded by the header, runs under the lock.
func (m *Message) HeaderAddresses(name string) []Address {
	m.addrMu.Lock()
	defer m.addrMu.Unlock()
	for _, l := range m.addrLists {
		if l.name == name {
			return l.list[:len(l.list):len(l.list)] // an append by a caller copies
		}
	}
	as := m.parseAddresses(name)
	if m.addrLists == nil {
		m.addrLists = m.addrBuf[:0]
	}
	m.addrLists = append(m.addrLists, namedAddresses{name, as})
	return as[:len(as):len(as)]
}

func (m *Message) parseAddresses(name string) []Address {
	return parseAddressesValues(m.Header.Values(name))
}

// parseAddressesValues takes the plain lists itself (appendPlainAddresses)
// and the rest to net/mail, and failing that to looseAddresses.
func parseAddressesValues(values []string) []Address {
	var out []Address
	for _, v := range values {
		if plain, ok := appendPlainAddresses(out, v); ok {
			for i := len(out); i < len(plain); i++ {
				plain[i].Addr = strings.ToLower(plain[i].Addr)
			}
			out = plain
			continue
		}
		out = appendParsedAddresses(out, v)
	}
	return out
}

// appendParsedAddresses parses one address list with net/mail and, when
// it refuses the list, picks the addresses out of its text.
func appendParsedAddresses(out []Address, v string) []Address {
	list, err := addrParser.ParseList(v)
	if err != nil {
		return append(out, looseAddresses(DecodeHeader(v))...)
	}
	for _, a := range list {
		out = append(out, Address{Name: a.Name, Addr: strings.ToLower(a.Address)})
	}
	return out
}

// firstAddress is the first address of a header, if any.
func (m *Message) FirstAddress(name string) (Address, bool) {
	as := m.HeaderAddresses(name)
	if len(as) == 0 {
		return Address{}, false
	}
	return as[0], true
}

// looseAddresses finds "Name <addr>" or bare addr forms in a header the
// RFC 5322 parser rejected (unquoted dots or @ in display names, which
// real mail has plenty of).
func looseAddresses(v string) []Address {
	var out []Address
	for _, part := range splitAddrList(v) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if lt := strings.LastIndexByte(part, '<'); lt >= 0 {
			if gt := strings.IndexByte(part[lt:], '>'); gt > 0 {
				addr := strings.TrimSpace(part[lt+1 : lt+gt])
				name := strings.Trim(strings.TrimSpace(part[:lt]), `"' `)
				out = append(out, Address{Name: name, Addr: strings.ToLower(addr)})
				continue
			}
		}
		if a := FindEmail(part); a != "" {
			out = append(out, Address{Addr: strings.ToLower(a)})
		}
	}
	return out
}

// splitAddrList splits at commas outside quotes and angle brackets.
func splitAddrList(v string) []string {
	var parts []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '<':
			depth++
		case '>':
			if depth > 0 {
				depth--
			}
		case ',':
			if !quoted && depth == 0 {
				parts = append(parts, v[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, v[start:])
}

// FindEmail returns the first thing shaped like local@domain.tld in s.
func FindEmail(s string) string {
	at := strings.IndexByte(s, '@')
	for at >= 0 {
		i := at
		for i > 0 && isEmailByte(s[i-1]) {
			i--
		}
		j := at + 1
		for j < len(s) && (isEmailByte(s[j]) && s[j] != '+') {
			j++
		}
		dom := strings.TrimRight(s[at+1:j], ".")
		if i < at && strings.Contains(dom, ".") && !strings.HasPrefix(dom, ".") {
			return s[i:at] + "@" + dom
		}
		next := strings.IndexByte(s[at+1:], '@')
		if next < 0 {
			break
		}
		at += 1 + next
	}
	return ""
}

func isEmailByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c == '_' || c == '+'
}

// rfc5322Date is the layout nearly every Date field is written in.
const rfc5322Date = "Mon, 2 Jan 2006 15:04:05 -0700"

// ParseDate reads an RFC 5322 date, also accepting the common deviations
// (missing day name, two-digit years, named zones) that mail.ParseDate
// already tolerates, and a few it does not.
//
// A date written as rfc5322Date takes a shortcut: net/mail tries its 24 layouts without a day name first,
// each failure allocating an error (some 120 allocations a message), and
// the first layout that can succeed on such a date is this one, so parsing
// with it alone gives the same time. Anything else, or a date this layout
// rejects (31 Feb), takes the full path.
//
// A zone comment after such a date ("+0100 (CET)", how most Received
// fields end) takes the shortcut too when it is only letters, digits and
// spaces: net/mail parses the date up to the zone's sign and four digits
// and skips the comment, so the comment changes nothing.
func ParseDate(v string) (time.Time, bool) {
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
	return parseDateFull(v)
}

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

// parseDateFull is ParseDate without the shortcut: net/mail's layouts,
// then the deviations it does not take.
func parseDateFull(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	// Drop a trailing comment such as "(PDT)" or a zone name after the offset.
	if i := strings.IndexByte(v, '('); i > 0 {
		if t, err := mail.ParseDate(strings.TrimSpace(v[:i])); err == nil {
			return t, true
		}
	}
	for _, layout := range []string{
		"Mon, 2 Jan 2006 15:04:05 -0700 MST",
		"Mon, 2 Jan 2006 15:04:05 MST",
		"Mon, 2 Jan 2006 15:04 -0700",
		"2 Jan 2006 15:04:05 -0700",
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006",
		"Mon, 02 Jan 2006 15:04:05",
		"2006-01-02 15:04:05 -0700",
	} {
		if t, err := time.Parse(layout, strings.Join(strings.Fields(v), " ")); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// NewestReceived returns the timestamp of the topmost Received field that
// has a readable date: when the hop nearest to us took the message.
func (m *Message) NewestReceived() (time.Time, bool) {
	for _, v := range m.Header.Values("Received") {
		i := strings.LastIndexByte(v, ';')
		if i < 0 {
			continue
		}
		if t, ok := ParseDate(v[i+1:]); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// ReferenceTime is the time a message's Date is judged against: the
// newest Received timestamp, when the message carries one no later than
// received (so archived or replayed mail is judged at its own arrival),
// else received itself, else now.
//
// In live traffic the topmost Received was written by the hop that handed
// us the message (or a trusted relay in front of us) seconds before
// received, so this changes nothing; a sender that forges it can at most
// dodge the date checks it forged the Received for.
func ReferenceTime(m *Message, received time.Time) time.Time {
	if received.IsZero() {
		received = time.Now()
	}
	if t, ok := m.NewestReceived(); ok && !t.After(received.Add(time.Hour)) {
		return t
	}
	return received
}
