package heuristics

import (
	"fmt"
	"net/url"
	"relayguard/internal/mailaddr"
	"relayguard/rules/message"
	"slices"
	"strings"
	"sync"

	"golang.org/x/net/publicsuffix"
)

// Heuristics that read the links.

// registeredDomain is the name an owner registered: example.co.uk for
// www.mail.example.co.uk. IP literals and unknown suffixes are returned as
// they are.
func registeredDomain(host string) string {
	if host == "" {
		return host
	}
	return regCache.get(host, lookupRegistered)
}

// regCache keeps registeredDomain's answers: a dozen rules ask it about
// the same few link hosts of each message, and the public suffix lookup
// (which also tries the name as an IP address) is the costly part. The
// answer depends on the host alone, so the cache is shared.
var regCache = newHostCache[string]()

// hostCache keeps answers that depend on a host name alone, shared by
// every message, up to hostCacheSize names.
type hostCache[V any] struct {
	sync.RWMutex
	m map[string]V
}

func newHostCache[V any]() *hostCache[V] { return &hostCache[V]{m: map[string]V{}} }

const hostCacheSize = 8192

// get returns lookup(host), from the cache when it has it.
func (c *hostCache[V]) get(host string, lookup func(string) V) V {
	c.RLock()
	v, ok := c.m[host]
	c.RUnlock()
	if ok {
		return v
	}
	v = lookup(host)
	c.Lock()
	if len(c.m) >= hostCacheSize {
		clear(c.m) // bounded: a flood of random hosts only costs lookups
	}
	c.m[strings.Clone(host)] = v
	c.Unlock()
	return v
}

func lookupRegistered(host string) string {
	if message.IsIPHost(host) {
		return host
	}
	if d, ok := mailaddr.Registrable(host); ok {
		return d
	}
	return host
}

// hasPublicSuffix tells whether host ends in a suffix the public suffix
// list knows (so "www.bank.com" in link text is a domain, "Mr.Smith" not).
func hasPublicSuffix(host string) bool {
	suf, icann := publicsuffix.PublicSuffix(host)
	return icann && suf != host && strings.Contains(host, ".")
}

func uriMany(in *Input) (string, bool) {
	n := 0
	for _, l := range in.Msg.Links() {
		if l.Source != "src" {
			n++
		}
	}
	if float64(n) >= in.Min {
		return fmt.Sprintf("%d links", n), true
	}
	return "", false
}

func uriDomainsMany(in *Input) (string, bool) {
	seen := map[string]bool{}
	var list []string
	for _, l := range in.Msg.Links() {
		d := registeredDomain(l.Host)
		if d != "" && !seen[d] {
			seen[d] = true
			list = append(list, d)
		}
	}
	if float64(len(list)) >= in.Min {
		if len(list) > 4 {
			list = append(list[:4], "...")
		}
		return fmt.Sprintf("%d domains: %s", len(seen), strings.Join(list, ", ")), true
	}
	return "", false
}

// uriTextMismatch finds a link whose shown text is a web address on one
// domain while the link goes to another: the classic phishing link.
func uriTextMismatch(in *Input) (string, bool) {
	for _, l := range in.Msg.Links() {
		if l.Source != "href" || l.Text == "" || l.Host == "" {
			continue
		}
		shown := shownHost(l.Text)
		if shown == "" {
			continue
		}
		if registeredDomain(shown) != registeredDomain(l.Host) {
			return fmt.Sprintf("shows %s, goes to %s", shown, l.Host), true
		}
	}
	return "", false
}

// shownHost returns the host named by link text that is itself a web
// address ("www.bank.example", "https://bank.example/login"); "" when the
// text is ordinary words.
func shownHost(text string) string {
	t := strings.TrimSpace(text)
	if strings.ContainsAny(t, " \t\n") || len(t) < 4 {
		return ""
	}
	lower := strings.ToLower(t)
	var raw string
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		raw = t
	case strings.HasPrefix(lower, "www."):
		raw = "http://" + t
	default:
		// a bare domain: bank.example or bank.example/path
		if strings.Contains(t, "@") {
			return ""
		}
		raw = "http://" + t
	}
	l, ok := message.ResolveURL(raw)
	if !ok || message.IsIPHost(l.Host) && !strings.Contains(lower, "://") {
		return ""
	}
	if !message.IsIPHost(l.Host) && !hasPublicSuffix(l.Host) {
		return ""
	}
	return l.Host
}

func uriIPLiteral(in *Input) (string, bool) {
	for _, l := range in.Msg.Links() {
		if message.IsIPHost(l.Host) {
			return l.URL, true
		}
	}
	return "", false
}

// uriUserinfo finds http://trusted.example@evil.example/: the part before
// @ is shown to the reader, the host after it is where the link goes.
func uriUserinfo(in *Input) (string, bool) {
	for _, l := range in.Msg.Links() {
		if !l.UserInfo {
			continue
		}
		for _, u := range []string{l.URL, l.Target} {
			if dottedUserinfo(u) {
				return u, true
			}
		}
	}
	return "", false
}

// dottedUserinfo tells whether a URL has a user part with a dot in it
// before @ (a host name shown to the reader).
func dottedUserinfo(u string) bool {
	i := strings.Index(u, "://")
	if i < 0 {
		return false
	}
	auth := u[i+3:]
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		auth = auth[:j]
	}
	at := strings.LastIndexByte(auth, '@')
	return at > 0 && strings.Contains(auth[:at], ".")
}

// mailtoRemove finds a mailto: link that asks to be taken off a list
// (?subject=remove): the opt-out address of bulk mail.
func mailtoRemove(in *Input) (string, bool) {
	for _, m := range in.Msg.Structure().Mailtos {
		_, q, ok := strings.Cut(m, "?")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(q, "&") {
			k, v, _ := strings.Cut(kv, "=")
			if !strings.EqualFold(k, "subject") {
				continue
			}
			if u, err := url.QueryUnescape(v); err == nil {
				v = u
			}
			v = strings.ToLower(strings.TrimSpace(v))
			for _, w := range []string{"remove", "delete", "take off", "takeoff", "stop"} {
				if strings.HasPrefix(v, w) {
					return m, true
				}
			}
		}
	}
	return "", false
}

// ---------------------------------------------------------------- where links go

// clickable tells a link the reader follows (an href or a URL in the text),
// not a picture or frame the mail loads by itself.
func clickable(l message.Link) bool { return l.Source != "src" }

// fromRegistered is the registered domains of the From addresses: one or
// two, so a slice rather than a map.
func fromRegistered(m *message.Message) domainList {
	ds := m.From().Domains
	out := make(domainList, len(ds))
	for i, d := range ds {
		out[i] = registeredDomain(d)
	}
	return out
}

type domainList []string

func (l domainList) has(d string) bool { return slices.Contains(l, d) }

// listedAt finds host (with the URL it was read from) in a rule's domains
// table: an entry names a host and all its subdomains ("pages.dev"), a
// host and the first segment or two of the path ("docs.google.com/forms",
// "dropbox.com/s"), or a path on any host ("/ipfs"). It returns the entry
// matched. paths is DomainPaths(domains), or nil.
func listedAt(domains, paths map[string]bool, host, rawURL string) (string, bool) {
	if host == "" || len(domains) == 0 {
		return "", false
	}
	// The candidates are built in buf and looked up as string(p), which
	// does not allocate: a string is made only for an entry found.
	if strings.IndexByte(host, '/') >= 0 {
		paths = nil // not a host name: paths knows nothing of it
	}
	var segBuf [2]string
	var buf [256]byte
	var segs []string
	segsRead := false
	for h := host; h != ""; {
		if domains[h] {
			return h, true
		}
		// Host and path only where an entry has h before its path: most
		// tables have few such entries, and most hosts none of them.
		if paths == nil || paths[h] {
			if !segsRead {
				segs, segsRead = pathSegments(rawURL, segBuf[:0]), true
			}
			p := append(buf[:0], h...)
			for _, s := range segs {
				p = append(append(p, '/'), s...)
				if domains[string(p)] {
					return string(p), true
				}
			}
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	if paths == nil || paths[""] {
		if !segsRead {
			segs = pathSegments(rawURL, segBuf[:0])
		}
		if len(segs) > 0 && domains[string(append(append(buf[:0], '/'), segs[0]...))] {
			return host + "/" + segs[0], true
		}
	}
	return "", false
}

// DomainPaths returns, for a rule's domains table, the host part of every
// entry that carries a path (docs.google.com for docs.google.com/forms),
// and "" when an entry is a path alone (/ipfs): a host and path can only
// be listed where its host is one of these.
func DomainPaths(domains map[string]bool) map[string]bool {
	paths := map[string]bool{}
	for d := range domains {
		if h, _, ok := strings.Cut(d, "/"); ok {
			paths[h] = true
		}
	}
	return paths
}

// pathSegments appends to segs up to cap(segs) leading segments of a
// URL's path, lower case, and returns it.
func pathSegments(u string, segs []string) []string {
	i := strings.Index(u, "://")
	if i < 0 {
		return segs
	}
	rest := u[i+3:]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		return segs
	}
	path := rest[j+1:]
	if k := strings.IndexAny(path, "?#"); k >= 0 {
		path = path[:k]
	}
	for more := true; more && len(segs) < cap(segs); {
		s := path
		if k := strings.IndexByte(path, '/'); k >= 0 {
			s, path = path[:k], path[k+1:]
		} else {
			more = false
		}
		if s == "" {
			break
		}
		segs = append(segs, strings.ToLower(s))
	}
	return segs
}

// uriListedHost finds a clickable link whose destination is in the rule's
// domains table (free hosting, form builders, file shares, IPFS
// gateways). A site of the sender's own registered domain does not count:
// a shop on a platform may mail about its own pages.
func uriListedHost(in *Input) (string, bool) {
	from := in.fromRegistered()
	for _, l := range in.Msg.Links() {
		if !clickable(l) || from.has(registeredDomain(l.Host)) {
			continue
		}
		if e, ok := listedAt(in.Domains, in.DomainPaths, l.Host, l.Target); ok {
			return e, true
		}
	}
	return "", false
}

// uriRedirector finds a clickable link that passes through a public
// redirector of the rule's table (a search engine's or an ad network's
// click URL, a social network's link shim) to another domain: a borrowed
// reputation in front of the real destination. An ESP's own click
// tracking is not in the table and is not judged here.
func uriRedirector(in *Input) (string, bool) {
	for _, l := range in.Msg.Links() {
		if !clickable(l) || l.Host == "" {
			continue
		}
		for _, h := range l.Via {
			e, ok := listedAt(in.Domains, in.DomainPaths, h.Host, h.URL)
			if ok && registeredDomain(h.Host) != registeredDomain(l.Host) {
				return e + " to " + l.Host, true
			}
		}
	}
	return "", false
}

// uriOneDomain tells that every clickable link goes to one registered
// domain: the lone call to action of a phishing mail (a __ sub-rule for
// metas; ham has its list footers, signatures and social links besides).
func uriOneDomain(in *Input) (string, bool) {
	one := ""
	for _, l := range in.Msg.Links() {
		if !clickable(l) || l.Host == "" {
			continue
		}
		d := registeredDomain(l.Host)
		if one != "" && d != one {
			return "", false
		}
		one = d
	}
	return one, one != ""
}

// uriDataOrScript finds a data:, javascript: or vbscript: URI in a link,
// form action or frame: a page or a script carried in the mail itself,
// which no web address filter can judge.
func uriDataOrScript(in *Input) (string, bool) {
	if l := in.Msg.Structure().InlineLinks; len(l) > 0 {
		return message.ClipText(l[0], 60), true
	}
	return "", false
}

// fileSuffixes are public suffixes that are far more often a file name's
// extension in link text ("README.md", "setup.py") than a web site.
var fileSuffixes = map[string]bool{
	"md": true, "py": true, "zip": true, "mov": true, "sh": true, "rs": true,
	"go": true, "ts": true, "cc": true, "so": true, "pm": true, "ps": true,
}

// uriTextNamesDomain finds a link whose words name a web domain
// ("Sign in to paypal.com") while the link goes to another: the
// URI_TEXT_MISMATCH trick with the address written among other words.
// Link text that is a whole address is URI_TEXT_MISMATCH's.
func uriTextNamesDomain(in *Input) (string, bool) {
	for _, l := range in.Msg.Links() {
		if l.Source != "href" || l.Host == "" || !strings.Contains(l.Text, ".") ||
			strings.Contains(l.Text, "://") || shownHost(l.Text) != "" {
			continue
		}
		dest := registeredDomain(l.Host)
		for _, w := range strings.FieldsFunc(l.Text, notDomainRune) {
			w = strings.Trim(w, ".-")
			if strings.Count(w, ".") == 0 || strings.Contains(w, "..") {
				continue
			}
			h := message.NormaliseHost(w)
			if h == "" || message.IsIPHost(h) || !hasPublicSuffix(h) {
				continue
			}
			if suf, _ := publicsuffix.PublicSuffix(h); fileSuffixes[suf] {
				continue
			}
			if registeredDomain(h) != dest {
				return fmt.Sprintf("%q goes to %s", message.ClipText(l.Text, 60), l.Host), true
			}
		}
	}
	return "", false
}

func notDomainRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-')
}
