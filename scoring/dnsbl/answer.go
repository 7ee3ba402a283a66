package dnsbl

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// parseAnswer checks the A records a list gave for one query and returns
// the return codes, sorted and without repeats. RFC 5782 §2.1 puts listing
// codes in 127.0.0.0/8, so anything else is not a listing but a broken
// answer: a resolver that "helpfully" redirects NXDOMAIN, a wildcard, a
// list's zone taken over. Some codes inside 127/8 are the list saying it
// refused to answer, and are errors too:
//   - 127.255.255.0/24: Spamhaus' error codes (.252 typing error in the
//     zone name, .254 query through a public/open resolver, .255 too many
//     queries). This is what a server behind 8.8.8.8 gets for every query.
//   - 127.0.0.1: RFC 5782 §5 says it is never listed; SURBL and URIBL
//     answer it to resolvers they block.
//   - 127.0.0.255: DNSWL.org's "query limit exceeded".
//
// One bad record spoils the answer: codes from a broken source are not
// believed.
func parseAnswer(ips []net.IP) ([]netip.Addr, error) {
	codes := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			return nil, fmt.Errorf("answer %q is no address", ip)
		}
		a = a.Unmap()
		if err := checkCode(a); err != nil {
			return nil, err
		}
		codes = append(codes, a)
	}
	slices.SortFunc(codes, netip.Addr.Compare)
	return slices.Compact(codes), nil
}

func checkCode(a netip.Addr) error {
	if !a.Is4() {
		return fmt.Errorf("answer %s is not IPv4", a)
	}
	b := a.As4()
	switch {
	case b[0] != 127:
		return fmt.Errorf("answer %s is outside 127.0.0.0/8 (RFC 5782 §2.1): not a listing; is the resolver rewriting answers?", a)
	case b[1] == 255 && b[2] == 255:
		return fmt.Errorf("answer %s is an error code: %s", a, spamhausError(b[3]))
	case a == netip.AddrFrom4([4]byte{127, 0, 0, 1}):
		return fmt.Errorf("answer %s is never a listing (RFC 5782 §5): the list refuses our queries", a)
	case a == netip.AddrFrom4([4]byte{127, 0, 0, 255}):
		return fmt.Errorf("answer %s is an error code: query limit exceeded", a)
	}
	return nil
}

// spamhausError explains Spamhaus' 127.255.255.x answers.
func spamhausError(last byte) string {
	switch last {
	case 252:
		return "typing error in the list's zone name"
	case 254:
		return "queries through public or open resolvers are refused; use your own recursive resolver or a DQS key"
	case 255:
		return "excessive number of queries"
	}
	return "the list refused to answer"
}

// weigh scores the codes of one listing on l: each code's weight (from
// Codes, or Weight when not there; with Bitmask, every bit matched), the
// strongest one winning rather than the sum, as several codes of one list
// are one piece of evidence seen several ways. On a Received hop (hop set)
// end-user policy codes weigh nothing. It also says whether only policy
// codes were found on a hop, for the detail.
func (l *list) weigh(codes []netip.Addr, hop bool) (score float64, policyOnly bool) {
	policyOnly = hop && len(codes) > 0
	for _, c := range codes {
		if hop && l.policy[c] {
			continue
		}
		policyOnly = false
		if w := l.codeWeight(c); math.Abs(w) > math.Abs(score) {
			score = w
		}
	}
	return score, policyOnly
}

func (l *list) codeWeight(c netip.Addr) float64 {
	if !l.Bitmask {
		if w, ok := l.codes[c]; ok {
			return w
		}
		return l.Weight
	}
	b := c.As4()
	bits := uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	w, matched := 0.0, false
	for _, m := range l.masks {
		if bits&m.bits != 0 {
			if !matched || math.Abs(m.weight) > math.Abs(w) {
				w = m.weight
			}
			matched = true
		}
	}
	if !matched {
		return l.Weight
	}
	return w
}

// maxTXT bounds the list's TXT text kept for a detail; it ends up in an
// SMTP reply line.
const maxTXT = 160

// cleanTXT keeps printable ASCII of the list's TXT records (text from the
// network, shown to clients and written to headers), joined and cut short.
func cleanTXT(txt []string) string {
	var b strings.Builder
	for i, t := range txt {
		if i > 0 {
			b.WriteString("; ")
		}
		for _, r := range t {
			if r >= 0x20 && r < 0x7f {
				b.WriteRune(r)
			} else {
				b.WriteByte(' ')
			}
		}
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	if len(s) > maxTXT {
		s = s[:maxTXT] + "..."
	}
	return s
}

func joinCodes(codes []netip.Addr) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = c.String()
	}
	return strings.Join(s, ", ")
}
