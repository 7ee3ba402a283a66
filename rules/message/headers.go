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

// headerAddrKey memoises one header's addresses on the message.
type headerAddrKey struct{ name string }

// HeaderAddresses parses an address-list header; when the strict parser
// refuses it, addresses are picked out of the text. The list is parsed
// once per message and header name (a dozen rules ask for From); callers
// share it and must not modify it.
func (m *Message) HeaderAddresses(name string) []Address {
	as := m.Memo(headerAddrKey{name}, func() any { return m.parseAddresses(name) }).([]Address)
	return as[:len(as):len(as)] // an append by a caller copies
}

func (m *Message) parseAddresses(name string) []Address {
	var out []Address
	for _, v := range m.Header.Values(name) {
		list, err := addrParser.ParseList(v)
		if err == nil {
			for _, a := range list {
				out = append(out, Address{Name: a.Name, Addr: strings.ToLower(a.Address)})
			}
			continue
		}
		out = append(out, looseAddresses(DecodeHeader(v))...)
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

// ParseDate reads an RFC 5322 date, also accepting the common deviations
// (missing day name, two-digit years, named zones) that mail.ParseDate
// already tolerates, and a few it does not.
func ParseDate(v string) (time.Time, bool) {
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
