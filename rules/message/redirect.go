package message

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// Hop is a redirector a link passes through before its destination: a
// click-tracking, search-engine or ad-network URL that carries the real
// address in its query or path.
type Hop struct {
	URL  string // the wrapping URL as written (or as unwrapped from the hop before)
	Host string // its normalised host
}

// Bounds on unwrapping, whatever the input: a link wrapped more than
// maxRedirectDepth times is judged by the host it reached there, and a
// query with more than maxRedirectParams parameters is read no further.
const (
	maxRedirectDepth  = 4
	maxRedirectParams = 64
)

// redirectParams are the query parameters that name a redirector's
// destination, most specific first. A parameter outside this list that
// holds a whole URL is taken too, after these.
var redirectParams = []string{
	"url", "u", "q", "target", "dest", "destination", "redirect", "redirect_url",
	"redirect_uri", "redir", "redirecturl", "goto", "to", "out", "link", "href",
	"adurl", "uddg", "r", "l", "next", "continue", "returnurl", "return",
}

// ResolveURL is NormaliseURL followed through the redirectors the URL
// carries: the Link has Host and Target of the destination and Via set,
// as the message's links do.
func ResolveURL(raw string) (Link, bool) {
	l, ok := NormaliseURL(raw)
	if !ok {
		return Link{}, false
	}
	if d, via, wrapped := unwrap(l); wrapped {
		l.Host, l.Target, l.Via = d.Host, d.URL, via
		l.UserInfo = l.UserInfo || d.UserInfo
	}
	return l, true
}

// unwrap follows the URLs a link carries inside itself (?url=https://...,
// /redirect/https://..., Google's /url?q=, Bing's base64 u=a1aHR0c...,
// Google AMP's /amp/s/host/...) to the last one, at most maxRedirectDepth
// deep. It returns the destination and the hops before it, outermost
// first; ok is false when the link carries no other URL.
func unwrap(l Link) (dest Link, via []Hop, ok bool) {
	dest = l
	for range maxRedirectDepth {
		inner, found := innerURL(dest.URL)
		if !found {
			break
		}
		next, valid := NormaliseURL(inner)
		if !valid {
			break
		}
		via = append(via, Hop{URL: dest.URL, Host: dest.Host})
		dest = next
	}
	return dest, via, len(via) > 0
}

// innerURL finds a whole http(s) URL carried in u's path or query. The
// path is looked at first: a URL written into the path takes the query
// after it along as its own.
func innerURL(u string) (string, bool) {
	i := strings.Index(u, "://")
	if i < 0 {
		return "", false
	}
	rest := u[i+3:]
	j := strings.IndexAny(rest, "/?#")
	if j < 0 {
		return "", false
	}
	rest = rest[j:]
	if strings.HasPrefix(rest, "#") {
		return "", false
	}
	path, query, _ := strings.Cut(rest, "?")
	if p, ok := pathURL(path, query); ok {
		return p, true
	}
	query, _, _ = strings.Cut(query, "#")
	return queryURL(query)
}

// pathURL finds a URL written into a path: /out/https://host/...,
// /https%3A%2F%2Fhost, or Google AMP's /amp/s/host/... (https) and
// /amp/host/... (http).
func pathURL(path, query string) (string, bool) {
	// The path is searched ignoring ASCII case in place, not lower-cased:
	// strings.ToLower can change a non-ASCII path's length (Ⱥ to ⱥ, an
	// invalid byte to U+FFFD), and an offset found in the lower-cased copy
	// then points elsewhere in the path, or past its end. No non-ASCII
	// character lower-cases to a byte of these prefixes.
	if !slashHOrA(path) {
		return "", false // every prefix below starts "/h" or "/a"
	}
	index := func(pre string) int { return indexSlashFold(path, pre) }
	whole := func() string {
		if query != "" {
			return path + "?" + query
		}
		return path
	}
	for _, pre := range []string{"/http://", "/https://", "/http:/", "/https:/", "/http%3a%2f%2f", "/https%3a%2f%2f"} {
		k := index(pre)
		if k < 0 {
			continue
		}
		s := whole()[k+1:]
		if strings.Contains(pre, "%") {
			if d, err := url.PathUnescape(s); err == nil {
				s = d
			} else {
				continue
			}
		}
		return s, true
	}
	if k := index("/amp/s/"); k >= 0 && len(path) > k+7 {
		return "https://" + whole()[k+7:], true
	}
	return "", false
}

// slashHOrA tells whether s has a '/' followed by an 'h' or an 'a' in
// either case: one pass over s, where pathURL's seven prefixes would take
// seven, and most paths have none.
func slashHOrA(s string) bool {
	for i := 0; i < len(s)-1; i++ {
		j := strings.IndexByte(s[i:len(s)-1], '/')
		if j < 0 {
			return false
		}
		i += j
		if c := s[i+1] | 0x20; c == 'h' || c == 'a' {
			return true
		}
	}
	return false
}

// indexSlashFold finds pre (lower-case ASCII, starting with '/') in s,
// ignoring the case of ASCII letters in s.
func indexSlashFold(s, pre string) int {
	for i := 0; len(s)-i >= len(pre); i++ {
		j := strings.IndexByte(s[i:], '/')
		if j < 0 {
			return -1
		}
		i += j
		if hasPrefixFold(s, i, pre) {
			return i
		}
	}
	return -1
}

// queryURL finds the destination among a query's parameters: a known
// redirect parameter holding a URL first, else any parameter holding one.
func queryURL(query string) (string, bool) {
	if query == "" {
		return "", false
	}
	var found []struct{ key, val string }
	// The parameters, split at & and ; and empty ones skipped, read in
	// place rather than split into a slice (this runs for every link).
	for n, rest := 0, query; rest != "" && n < maxRedirectParams; {
		kv := rest
		if i := strings.IndexAny(rest, "&;"); i >= 0 {
			kv, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if kv == "" {
			continue
		}
		n++
		k, v, ok := strings.Cut(kv, "=")
		if !ok || len(v) < 8 {
			continue
		}
		if d, ok := paramURL(v); ok {
			found = append(found, struct{ key, val string }{strings.ToLower(k), d})
		}
	}
	if len(found) == 0 {
		return "", false
	}
	for _, p := range redirectParams {
		for _, f := range found {
			if f.key == p {
				return f.val, true
			}
		}
	}
	return found[0].val, true
}

// paramURL decodes a query value and tells whether it is a whole http(s)
// URL: percent-encoded (up to three times over), or base64 as Bing writes
// it (a1aHR0cHM6Ly9...).
func paramURL(v string) (string, bool) {
	for range 3 {
		if isHTTPURL(v) {
			return v, true
		}
		d, err := url.QueryUnescape(v)
		if err != nil || d == v {
			break
		}
		v = d
	}
	if isHTTPURL(v) {
		return v, true
	}
	b := strings.TrimPrefix(v, "a1")    // Bing's prefix before the base64
	if !strings.HasPrefix(b, "aHR0c") { // base64 of "http"
		return "", false
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.RawStdEncoding} {
		d, err := enc.DecodeString(strings.TrimRight(b, "="))
		if err == nil && isHTTPURL(string(d)) {
			return string(d), true
		}
	}
	return "", false
}

func isHTTPURL(s string) bool {
	if len(s) < 10 {
		return false
	}
	p := strings.ToLower(s[:8])
	return strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://")
}
