package message

import (
	"bytes"
	"net"
	"net/netip"
	"net/url"
	"relayguard/internal/mailaddr"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Link is one URL found in the message: in an HTML href or src attribute,
// or written out in the text.
type Link struct {
	// URL is the link as written (entities decoded, surrounding space and
	// quotes trimmed).
	URL string
	// Host is the normalised host of where the link really goes: of
	// Target, the URL carried inside a redirector's when there is one (see
	// Via). Lower case, no port, no userinfo, no trailing dot, IDNs in
	// their ASCII (punycode) form, and numeric IPv4 tricks
	// (http://3232235777/, http://0xC0.0xA8.0.1/) written as a dotted quad.
	// Empty when the URL has no usable host.
	Host string
	// Target is the destination URL: URL itself, or the last URL carried
	// inside it (https://www.google.com/url?q=https://evil.example/ has
	// Target https://evil.example/).
	Target string
	// Via lists the redirectors before Target, outermost first (the first
	// is URL): click-tracking, search-engine and ad-network URLs whose query
	// or path carries another URL. At most maxRedirectDepth.
	Via []Hop
	// Text is what the reader sees for the link: the anchor text of an
	// <a href>, the alt text of an <img>, or the URL itself for a link in
	// plain text.
	Text string
	// Source says where the link came from: "href", "src" or "text".
	Source string
	// UserInfo is set when the URL carries user:password@ before the host
	// (http://bank.example@evil.example/), a trick to show a trusted name.
	UserInfo bool
}

// Links returns every link in the message, in the order found: HTML href
// and src attributes and URLs written in text parts. A link whose host is
// already listed with the same URL and text appears once. The slice is
// shared: callers must not modify it.
func (m *Message) Links() []Link { return m.content().links }

// Domains returns the distinct normalised hosts of the message's links
// (IP literals included), in the order first seen: the redirectors a link
// passes through, then its destination.
func (m *Message) Domains() []string {
	c := m.content()
	return c.domains
}

// MaxLinks bounds the links kept per message: enough for any real
// newsletter, and a cap on the work a link-stuffed message can cause.
const MaxLinks = 1000

// maxLinkText bounds the shown text kept per link.
const maxLinkText = 200

// normaliseURL returns the link for a raw URL string, or ok=false when it is
// not an http(s), ftp or schemeless www. URL worth keeping (mailto:, cid:,
// javascript: and fragments are not links to a host).
func NormaliseURL(raw string) (l Link, ok bool) {
	raw = trimLinkURL(raw)
	if raw == "" || len(raw) > 4096 {
		return Link{}, false
	}
	l.URL = raw
	s := raw
	// Browsers read http:\\host as http://host.
	s = strings.ReplaceAll(s, "\\", "/")
	// ASCII case folding is all ToLower would do to these prefixes.
	switch {
	case hasPrefixFold(s, 0, "http://"), hasPrefixFold(s, 0, "https://"), hasPrefixFold(s, 0, "ftp://"):
	case hasPrefixFold(s, 0, "http:/"), hasPrefixFold(s, 0, "https:/"):
		// http:/host: one slash is still followed by browsers.
		i := strings.Index(s, ":/")
		s = s[:i] + "://" + strings.TrimLeft(s[i+2:], "/")
	case strings.HasPrefix(s, "//"):
		s = "http:" + s
	case hasPrefixFold(s, 0, "www."):
		s = "http://" + s
	default:
		return Link{}, false
	}
	host, userinfo := hostOf(s)
	if host == "" {
		return Link{}, false
	}
	l.Host = host
	l.Target = raw
	l.UserInfo = userinfo
	return l, true
}

// trimLinkURL is a link's URL as written: raw without the space and
// quotes around it. NormaliseURL reads nothing of raw but this.
func trimLinkURL(raw string) string {
	return strings.Trim(strings.TrimSpace(raw), "\"'<>")
}

// hostOf extracts and normalises the host of an absolute URL, tolerating
// what url.Parse refuses (spaces, bad escapes) by cutting the authority
// out by hand.
func hostOf(s string) (host string, userinfo bool) {
	i := strings.Index(s, "://")
	if i < 0 {
		return "", false
	}
	auth := s[i+3:]
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		auth = auth[:j]
	}
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		userinfo = at > 0
		auth = auth[at+1:]
	}
	if strings.Contains(auth, "%") {
		if u, err := url.PathUnescape(auth); err == nil {
			auth = u
		}
	}
	return NormaliseHost(auth), userinfo
}

// NormaliseHost lower-cases a host, drops the port, brackets and trailing
// dot, converts an IDN to ASCII and rewrites numeric IPv4 forms (decimal,
// hex, octal) as a dotted quad. It returns "" for something that is not a
// host name at all.
func NormaliseHost(h string) string {
	h = strings.TrimSpace(h)
	if strings.HasPrefix(h, "[") {
		if j := strings.IndexByte(h, ']'); j > 0 {
			if a, err := netip.ParseAddr(h[1:j]); err == nil {
				return a.Unmap().String()
			}
		}
		return ""
	}
	// Without a colon there is no port, and SplitHostPort's error for
	// that costs an allocation per link.
	if strings.Contains(h, ":") {
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		} else if j := strings.LastIndexByte(h, ':'); strings.Count(h, ":") == 1 {
			h = h[:j]
		}
	}
	h = strings.TrimRight(strings.ToLower(h), ".")
	if h == "" || len(h) > 253 {
		return ""
	}
	if !isASCII(h) {
		// IDNA mapping may itself produce digits (superscripts, full-width
		// forms), so the IP check comes after it.
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return ""
		}
		h = a
	}
	if ip, ok := parseLooseIPv4(h); ok {
		return ip
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return ""
		}
	}
	if strings.Contains(h, "..") || strings.HasPrefix(h, ".") {
		return ""
	}
	return h
}

// parseLooseIPv4 reads the IPv4 spellings browsers accept: 1 to 4 parts,
// each decimal, 0x hex or 0-prefixed octal, the last part filling the
// remaining bytes (so http://3232235777/ is 192.168.1.1).
func parseLooseIPv4(h string) (string, bool) {
	// A host name (any byte besides digits, dots, x and a-f) is no
	// number: say so before Split and ParseUint allocate for it.
	for i := 0; i < len(h); i++ {
		if c := h[i] | 0x20; !(h[i] >= '0' && h[i] <= '9' || h[i] == '.' || c == 'x' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	parts := strings.Split(h, ".")
	if len(parts) > 4 {
		return "", false
	}
	var vals []uint64
	for _, p := range parts {
		if p == "" {
			return "", false
		}
		base := 10
		digits := p
		switch {
		case strings.HasPrefix(p, "0x"):
			base, digits = 16, p[2:]
			if digits == "" {
				digits = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return "", false
		}
		vals = append(vals, v)
	}
	var ip uint64
	for i, v := range vals {
		if i < len(vals)-1 {
			if v > 255 {
				return "", false
			}
			ip |= v << (8 * (3 - i))
			continue
		}
		rest := 4 - i // bytes the last part fills
		if v >= 1<<(8*rest) {
			return "", false
		}
		ip |= v
	}
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}).String(), true
}

// IsIPHost tells whether a normalised host is an IP literal.
func IsIPHost(h string) bool {
	_, err := mailaddr.ParseIP(h)
	return err == nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// textURLs finds URLs written in text: http(s):// and ftp:// URLs and
// schemeless www. names. fn is called with each one as written.
func textURLs(s string, fn func(u string)) {
	for i := 0; i < len(s); {
		j := nextURLStart(s, i)
		if j < 0 {
			return
		}
		end := j
		for end < len(s) && isURLByte(s[end]) {
			end++
		}
		u := strings.TrimRight(s[j:end], ".,;:!?)]}'\"")
		if len(u) > 7 {
			fn(u)
		}
		if end == j {
			end++
		}
		i = end
	}
}

// nextURLStart finds the next "http", "ftp://" or "www." at a word
// boundary at or after i, in any letter case. Each of those has a ':'
// (http://, https://, ftp://) or a '.' (www.) three to five bytes after
// its start, so only the positions just before one of those two bytes are
// tried; IndexByte finds them a window at a time (a bounded window: a long
// text without either byte is not searched again for every URL in it).
func nextURLStart[T ~string | ~[]byte](s T, i int) int {
	for k := i + 3; k < len(s); {
		end := min(k+urlMarkWindow, len(s))
		m := indexURLMark(s[k:end])
		if m < 0 {
			k = end
			continue
		}
		k += m
		for j := max(i, k-5); j <= k-3; j++ {
			if urlStartAt(s, j) {
				return j
			}
		}
		i = k - 2 // every start before this has been tried
		k++
	}
	return -1
}

// urlMarkWindow is how far ahead indexURLMark looks at a time.
const urlMarkWindow = 512

// indexURLMark is the index of the first ':' or '.' in s, or -1.
func indexURLMark[T ~string | ~[]byte](s T) int {
	var colon, dot int
	switch v := any(s).(type) {
	case string:
		colon, dot = strings.IndexByte(v, ':'), strings.IndexByte(v, '.')
	case []byte:
		colon, dot = bytes.IndexByte(v, ':'), bytes.IndexByte(v, '.')
	default:
		for k := 0; k < len(s); k++ {
			if s[k] == ':' || s[k] == '.' {
				return k
			}
		}
		return -1
	}
	if colon < 0 || dot >= 0 && dot < colon {
		return dot
	}
	return colon
}

// urlStartAt tells whether a URL that nextURLStart finds starts at i.
func urlStartAt[T ~string | ~[]byte](s T, i int) bool {
	c := s[i] | 0x20
	if c != 'h' && c != 'w' && c != 'f' {
		return false
	}
	if i > 0 && isWordByte(s[i-1]) {
		return false
	}
	return hasPrefixFold(s, i, "http://") || hasPrefixFold(s, i, "https://") ||
		hasPrefixFold(s, i, "ftp://") || hasPrefixFold(s, i, "www.") && len(s)-i > 5 && isWordByte(s[i+4])
}

// hasPrefixFold tells whether s[i:] starts with the lower-case ASCII
// prefix p, ignoring the case of ASCII letters in s. (No other character
// lower-cases to a letter of "http", "ftp" or "www".)
func hasPrefixFold[T ~string | ~[]byte](s T, i int, p string) bool {
	if len(s)-i < len(p) {
		return false
	}
	for k := 0; k < len(p); k++ {
		c := s[i+k]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[k] {
			return false
		}
	}
	return true
}

func isURLByte(c byte) bool {
	if c >= 0x80 {
		return false
	}
	if c <= ' ' {
		return false
	}
	switch c {
	case '"', '<', '>', '`', '{', '}', '|', '^', '\'':
		return false
	}
	return true
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// linkSet collects links, dropping exact repeats and stopping at MaxLinks.
// Repeats are found by scanning the kept links and domains while they are
// few (most messages keep under a dozen), and through maps only once there
// are more than linkScanMax: two maps per message, grown as they fill,
// cost more allocations and hashing than the scan they would spare.
type linkSet struct {
	links   []Link
	seen    map[linkKey]bool // URL, text and source already kept; nil up to linkScanMax links
	domains []string
	dseen   map[string]bool // nil up to linkScanMax domains
}

// linkScanMax is how many kept links (or domains) are scanned for a
// repeat before a map takes over.
const linkScanMax = 16

// linkKey is a kept link's URL, text and source: a struct, not one
// joined string, so checking a link costs no allocation.
type linkKey struct{ url, text, source string }

func (s *linkSet) add(raw, text, source string) {
	if len(s.links) >= MaxLinks {
		return
	}
	s.addClipped(raw, ClipText(text, maxLinkText), source)
}

// addClipped is add with the text already ClipText(text, maxLinkText)
// (clipping twice is not the same: a cut may end in a space).
func (s *linkSet) addClipped(raw, text, source string) {
	if len(s.links) >= MaxLinks {
		return
	}
	l, ok := s.resolve(raw)
	if !ok {
		return
	}
	s.keepLink(l, text, source)
}

// addValue is add(string(v), text, source) for an attribute's value in
// the tokenizer's buffer: a URL already kept (an image or a link repeated
// in the part) is found without copying the value first.
func (s *linkSet) addValue(v []byte, text, source string) {
	if len(s.links) >= MaxLinks {
		return
	}
	u := bytes.Trim(bytes.TrimSpace(v), "\"'<>") // trimLinkURL
	for _, k := range s.links[:min(len(s.links), linkScanMax)] {
		if k.URL == string(u) { // resolve's copy of the kept link
			s.keepLink(k, ClipText(text, maxLinkText), source)
			return
		}
	}
	s.add(string(v), text, source)
}

// keepLink adds resolved link l with its clipped text and source, unless
// the same link is kept already.
func (s *linkSet) keepLink(l Link, text, source string) {
	l.Text = text
	l.Source = source
	if !s.keep(linkKey{l.URL, l.Text, l.Source}) {
		return
	}
	if s.links == nil {
		s.links = make([]Link, 0, 8) // 1, 2, 4 and 8 links in one allocation
	}
	s.links = append(s.links, l)
	for _, h := range l.Via {
		s.addDomain(h.Host)
	}
	s.addDomain(l.Host)
}

// resolve is ResolveURL(raw), copied from a kept link with the same URL
// when one of the first linkScanMax has it: ResolveURL reads raw only as
// trimLinkURL leaves it, which is a Link's URL, so a link written in both
// the text and the HTML part, or twice in one, is parsed and unwrapped
// once. The copy shares Via with the kept link (never modified).
func (s *linkSet) resolve(raw string) (Link, bool) {
	u := trimLinkURL(raw)
	for _, k := range s.links[:min(len(s.links), linkScanMax)] {
		if k.URL == u {
			return k, true
		}
	}
	return ResolveURL(raw)
}

// keep tells whether key is new to the kept links, and marks it seen in
// the map once there is one. The caller appends the link when it is.
func (s *linkSet) keep(key linkKey) bool {
	if s.seen == nil {
		for i := range s.links {
			if l := &s.links[i]; l.URL == key.url && l.Text == key.text && l.Source == key.source {
				return false
			}
		}
		if len(s.links) < linkScanMax {
			return true
		}
		s.seen = make(map[linkKey]bool, 2*linkScanMax)
		for i := range s.links {
			l := &s.links[i]
			s.seen[linkKey{l.URL, l.Text, l.Source}] = true
		}
	}
	if s.seen[key] {
		return false
	}
	s.seen[key] = true
	return true
}

func (s *linkSet) addDomain(h string) {
	if s.domains == nil {
		s.domains = make([]string, 0, 8)
	}
	if s.dseen == nil {
		if slices.Contains(s.domains, h) {
			return
		}
		if len(s.domains) < linkScanMax {
			s.domains = append(s.domains, h)
			return
		}
		s.dseen = make(map[string]bool, 2*linkScanMax)
		for _, d := range s.domains {
			s.dseen[d] = true
		}
	}
	if !s.dseen[h] {
		s.dseen[h] = true
		s.domains = append(s.domains, h)
	}
}

// ClipText collapses white space and cuts s to at most n bytes on a rune
// boundary. It is strings.Join(strings.Fields(s), " ") cut to n, without
// splitting the whole text first: callers clip the opening of a long body,
// so it stops once n bytes are written, and returns s itself when s is
// already short and collapsed.
func ClipText(s string, n int) string { return clipText(s, n) }

// clipText is ClipText over a string or bytes: an anchor's text is
// gathered in a reused byte buffer and clipped from it, one string made.
// The collapsed text is built in a stack buffer when it fits (links are
// clipped to 200 bytes), so the string returned is the one allocation.
func clipText[T ~string | ~[]byte](s T, n int) string {
	if len(s) <= n && collapsed(s) {
		return string(s)
	}
	var stack [256]byte
	out := stack[:0]
	if c := min(len(s), n+1); c > len(stack) {
		out = make([]byte, 0, c)
	}
	for i := 0; i < len(s) && len(out) <= n; {
		for i < len(s) {
			r, size := spaceAt(s, i)
			if !r {
				break
			}
			i += size
		}
		if i == len(s) {
			break
		}
		if len(out) > 0 {
			out = append(out, ' ')
		}
		j := i
		for j < len(s) {
			r, size := spaceAt(s, j)
			if r {
				break
			}
			j += size
		}
		// Only the bytes up to n+1 matter: they decide where to cut.
		out = append(out, s[i:min(j, i+n+1-len(out))]...)
		i = j
	}
	if len(out) <= n {
		return string(out)
	}
	for n > 0 && !isRuneStart(out[n]) {
		n--
	}
	return string(out[:n])
}

// spaceAt tells whether s[i] starts a white-space rune (unicode.IsSpace,
// as strings.Fields reads it), and the rune's length.
func spaceAt[T ~string | ~[]byte](s T, i int) (bool, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return c == ' ' || '\t' <= c && c <= '\r', 1
	}
	// At most one rune's bytes: a string of them needs no allocation.
	r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
	return unicode.IsSpace(r), size
}

// collapsed tells text with no white space but single spaces between
// words: what ClipText would make of it.
func collapsed[T ~string | ~[]byte](s T) bool {
	for i := 0; i < len(s); {
		sp, size := spaceAt(s, i)
		if sp {
			if s[i] != ' ' || i == 0 || i+1 == len(s) {
				return false
			}
			if next, _ := spaceAt(s, i+1); next {
				return false
			}
		}
		i += size
	}
	return true
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
