// Package trace reads Received header fields (RFC 5321 §4.4) and, for
// mail that came through a trusted relay (a forwarder, our own Exim), finds
// the hop where the message entered trusted hands, so that the sender checks
// judge the IP that really sent it rather than the forwarder.
package trace

import (
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"strings"
	"time"
)

// Hop is what one Received field says about one transfer: who connected
// (IP, the HELO it gave, the reverse name the receiver found) and who
// received (By), when.
type Hop struct {
	// IP is the address of the connecting client, as the receiving host
	// recorded it. It is valid whenever Parse returns no error.
	IP netip.Addr
	// Helo is the name the client gave in HELO/EHLO, as recorded.
	Helo string
	// RDNS is the reverse DNS name the receiving host found for IP, when
	// the field says so unambiguously; empty when unknown.
	RDNS string
	// By is the host that received the message and wrote the field.
	By string
	// With is the protocol (SMTP, ESMTPS, ...).
	With string
	// ID is the receiving host's queue id.
	ID string
	// Time is the date after the ';', zero when missing or unreadable.
	Time time.Time

	// Via is set by OriginalHop: the trusted relay that wrote this field
	// (the client of this connection, or the previous trusted hop).
	Via netip.Addr
}

// Authenticated tells whether the client had authenticated to the host
// that wrote the field: RFC 3848's ESMTPA and ESMTPSA (Exim writes them in
// lower case, "with esmtpsa"). Such a hop is a customer submitting mail,
// not a stranger handing it over.
func (h Hop) Authenticated() bool {
	return strings.HasSuffix(strings.ToUpper(h.With), "A")
}

// ErrNoIP is returned (with the rest of the Hop) for a Received field that
// names no client IP, such as a local submission
// ("from user by host with local").
var ErrNoIP = errors.New("received: no client IP address")

// maxField bounds the work on one field; real ones are a few hundred
// octets, and a hostile message may carry megabytes in one.
const maxField = 4096

// Parse reads one Received field value (unfolded or not). It knows the
// layouts of Postfix ("from HELO (RDNS [IP]) by ..."), sendmail (the same,
// with "(may be forged)"), Exim ("from RDNS ([IP] helo=HELO) by ...",
// "from [IP] (helo=HELO)"), qmail ("from RDNS (HELO name) (IP)") and
// Microsoft ("from NAME (IP) by ..."); IPv6 in brackets with or without the
// "IPv6:" tag of RFC 5321 §4.1.3. It returns ErrNoIP, with what else it
// found, when no client IP is named; another error when there is no from
// clause at all.
func Parse(value string) (Hop, error) {
	if len(value) > maxField {
		value = value[:maxField]
	}
	value = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, value)
	body, date := splitDate(value)
	clauses := splitClauses(tokenize(body))

	var h Hop
	if date != "" {
		h.Time = parseDate(date)
	}
	for _, c := range clauses {
		first := ""
		if len(c.items) > 0 && !c.items[0].comment {
			first = c.items[0].text
		}
		switch c.keyword {
		case "by":
			h.By = first
		case "with":
			h.With = first
		case "id":
			h.ID = first
		}
	}
	from, ok := findClause(clauses, "from")
	if !ok {
		return h, fmt.Errorf("received: no from clause in %q", truncate(value, 80))
	}
	readFrom(&h, from.items)
	if !h.IP.IsValid() {
		return h, ErrNoIP
	}
	return h, nil
}

// item is a word or a comment (the text inside balanced parentheses,
// nested ones flattened).
type item struct {
	text    string
	comment bool
}

type clause struct {
	keyword string
	items   []item
}

// splitDate cuts the field at its last ';' outside comments: RFC 5321
// §4.4 puts the date there.
func splitDate(v string) (body, date string) {
	depth, cut := 0, -1
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case ';':
			if depth == 0 {
				cut = i
			}
		}
	}
	if cut < 0 {
		return v, ""
	}
	return v[:cut], strings.TrimSpace(v[cut+1:])
}

// tokenize splits v into words and comments. An unclosed comment runs to
// the end.
func tokenize(v string) []item {
	var items []item
	for i := 0; i < len(v); {
		switch c := v[i]; {
		case c == ' ':
			i++
		case c == '(':
			depth, j := 0, i
			var b strings.Builder
			for ; j < len(v); j++ {
				switch v[j] {
				case '(':
					depth++
					if depth > 1 {
						b.WriteByte(' ')
					}
					continue
				case ')':
					depth--
					if depth > 0 {
						b.WriteByte(' ')
					}
				default:
					b.WriteByte(v[j])
				}
				if depth == 0 {
					break
				}
			}
			items = append(items, item{text: strings.TrimSpace(b.String()), comment: true})
			i = j + 1
		default:
			j := i
			for j < len(v) && v[j] != ' ' && v[j] != '(' {
				j++
			}
			items = append(items, item{text: v[i:j]})
			i = j
		}
	}
	return items
}

// keywords start the clauses of RFC 5321 §4.4's Stamp.
var keywords = map[string]bool{"from": true, "by": true, "via": true, "with": true, "id": true, "for": true}

func splitClauses(items []item) []clause {
	var out []clause
	for _, it := range items {
		if !it.comment && keywords[strings.ToLower(it.text)] {
			out = append(out, clause{keyword: strings.ToLower(it.text)})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].items = append(out[len(out)-1].items, it)
		}
	}
	return out
}

func findClause(cs []clause, kw string) (clause, bool) {
	for _, c := range cs {
		if c.keyword == kw {
			return c, true
		}
	}
	return clause{}, false
}

// readFrom fills IP, Helo and RDNS from the from clause.
func readFrom(h *Hop, items []item) {
	first := ""
	if len(items) > 0 && !items[0].comment {
		first = items[0].text
	}
	helo, heloSeen := "", false
	var bare netip.Addr // an unbracketed IP alone in a comment (Microsoft, qmail)
	for _, it := range items {
		if !it.comment {
			continue
		}
		words := strings.Fields(it.text)
		for i, w := range words {
			lw := strings.ToLower(w)
			switch {
			case strings.HasPrefix(lw, "helo="): // Exim
				helo, heloSeen = w[len("helo="):], true
			case (lw == "helo" || lw == "ehlo") && i+1 < len(words): // qmail
				helo, heloSeen = words[i+1], true
			}
			if ip, ok := bracketIP(w); ok && !h.IP.IsValid() {
				h.IP = ip
				// Postfix and sendmail: "(RDNS [IP])", "unknown" when
				// there was none.
				if i > 0 && isName(words[i-1]) {
					h.RDNS = words[i-1]
				}
			}
		}
		if len(words) == 1 && !bare.IsValid() {
			if ip, ok := plainIP(words[0]); ok {
				bare = ip
			}
		}
	}
	if !h.IP.IsValid() {
		if ip, ok := bracketIP(first); ok { // Exim without reverse DNS: "from [IP]"
			h.IP = ip
		} else {
			h.IP = bare
		}
	}
	if heloSeen {
		h.Helo = helo
		if isName(first) { // Exim and qmail put the reverse name first
			h.RDNS = first
		}
	} else {
		h.Helo = first
	}
	h.RDNS = strings.TrimSuffix(h.RDNS, ".")
	if strings.EqualFold(h.RDNS, "unknown") {
		h.RDNS = ""
	}
}

// bracketIP reads "[192.0.2.1]", "[IPv6:2001:db8::1]", "[2001:db8::1]" or
// "[192.0.2.1]:25" (Exim with incoming_port).
func bracketIP(w string) (netip.Addr, bool) {
	open := strings.IndexByte(w, '[')
	if open < 0 {
		return netip.Addr{}, false
	}
	end := strings.IndexByte(w[open:], ']')
	if end < 0 {
		return netip.Addr{}, false
	}
	s := w[open+1 : open+end]
	if len(s) > 5 && strings.EqualFold(s[:5], "ipv6:") {
		s = s[5:]
	}
	return plainIP(s)
}

// plainIP parses an IP address without a zone (a scope such as "%eth0"
// means nothing beyond the host that wrote it), IPv4-mapped ones unmapped.
func plainIP(s string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// isName tells whether w looks like a host name (not an IP, not a tag).
func isName(w string) bool {
	if w == "" || strings.ContainsAny(w, "[]=()<>@") {
		return false
	}
	if _, err := netip.ParseAddr(w); err == nil {
		return false
	}
	return true
}

// dateLayouts are the date forms seen after the ';' (RFC 5322 §3.3 and the
// variants real MTAs write). net/mail.ParseDate is tried first.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05 -0700 MST",
	"Mon Jan 2 15:04:05 2006",
}

// parseDate reads the date part, ignoring comments such as "(UTC)".
func parseDate(s string) time.Time {
	if i := strings.IndexByte(s, '('); i >= 0 {
		s = s[:i]
	}
	s = strings.Join(strings.Fields(s), " ")
	if t, err := mail.ParseDate(s); err == nil {
		return t
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
