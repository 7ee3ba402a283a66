package heuristics

import (
	"fmt"
	"net/url"
	"relayguard/internal/mailaddr"
	"relayguard/rules/message"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Heuristics that read the links.

// registeredDomain is the name an owner registered: example.co.uk for
// www.mail.example.co.uk. IP literals and unknown suffixes are returned as
// they are.
func registeredDomain(host string) string {
	if host == "" || message.IsIPHost(host) {
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
	l, ok := message.NormaliseURL(raw)
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
		i := strings.Index(l.URL, "://")
		if i < 0 {
			continue
		}
		auth := l.URL[i+3:]
		if j := strings.IndexAny(auth, "/?#"); j >= 0 {
			auth = auth[:j]
		}
		user := auth[:strings.LastIndexByte(auth, '@')]
		if strings.Contains(user, ".") {
			return l.URL, true
		}
	}
	return "", false
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
