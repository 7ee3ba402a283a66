package message

import (
	"strings"
	"testing"
)

func TestLinksAreFollowedThroughRedirectors(t *testing.T) {
	tests := []struct {
		url, host string
		via       int
	}{
		{"https://www.google.com/url?q=https://evil.example/login&sa=D", "evil.example", 1},
		{"https://www.google.com/url?sa=t&url=https%3A%2F%2Fevil.example%2Fa", "evil.example", 1},
		{"https://www.bing.com/ck/a?!&&p=abc&u=a1aHR0cHM6Ly9ldmlsLmV4YW1wbGUvcGF0aA&ntb=1", "evil.example", 1},
		{"https://www.google.com/amp/s/evil.example/page", "evil.example", 1},
		{"https://click.esp.example/track?u=https%3A%2F%2Fshop.example%2Funsubscribe", "shop.example", 1},
		{"https://r.example/out/https://evil.example/x?y=1", "evil.example", 1},
		{"https://r.example/https%3A%2F%2Fevil.example%2Fx", "evil.example", 1},
		{"https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fgroups.google.com%2Fd%2Fx&data=1", "groups.google.com", 1},
		// wrapped twice: both hops kept, outermost first
		{"https://a.example/r?url=" + "https%3A%2F%2Fb.example%2Fr%3Furl%3Dhttps%253A%252F%252Fc.example%252F", "c.example", 2},
		// a known redirect parameter wins over another URL-valued one
		{"https://r.example/go?ref=https://site.example/&url=https://dest.example/", "dest.example", 1},
		// nothing carried
		{"https://shop.example/item?id=42&ref=newsletter", "shop.example", 0},
		{"https://shop.example/", "shop.example", 0},
		{"https://shop.example/#https://other.example/", "shop.example", 0},
	}
	for _, tc := range tests {
		l, ok := ResolveURL(tc.url)
		if !ok {
			t.Errorf("%s: not a link", tc.url)
			continue
		}
		if l.Host != tc.host || len(l.Via) != tc.via || l.URL != tc.url {
			t.Errorf("%s: host %q via %d (%v); want %q via %d", tc.url, l.Host, len(l.Via), l.Via, tc.host, tc.via)
		}
		if tc.via > 0 && (l.Via[0].URL != tc.url || l.Target == tc.url) {
			t.Errorf("%s: first hop %+v, target %q", tc.url, l.Via[0], l.Target)
		}
	}
}

func TestRedirectDepthIsBounded(t *testing.T) {
	u := "https://end.example/"
	for i := 0; i < 10; i++ {
		u = "https://r" + strings.Repeat("x", i) + ".example/r?url=" + strings.NewReplacer(":", "%3A", "/", "%2F", "?", "%3F", "=", "%3D", "%", "%25").Replace(u)
	}
	l, ok := ResolveURL(u[:min(len(u), 4096)])
	if ok && len(l.Via) > maxRedirectDepth {
		t.Errorf("%d hops, bound is %d", len(l.Via), maxRedirectDepth)
	}
}

func TestMessageLinksSeeTheDestination(t *testing.T) {
	m := parse("From: a@shop.example\nContent-Type: text/html\n\n" +
		`<a href="https://www.google.com/url?q=https://evil.example/">shop</a>`)
	links := m.Links()
	if len(links) != 1 || links[0].Host != "evil.example" || len(links[0].Via) != 1 || links[0].Via[0].Host != "www.google.com" {
		t.Fatalf("links %+v", links)
	}
	if d := strings.Join(m.Domains(), ","); d != "www.google.com,evil.example" {
		t.Errorf("domains %s", d)
	}
}

func TestFormsAndInlineLinksAreRecorded(t *testing.T) {
	m := parse("From: a@shop.example\nContent-Type: text/html\n\n" +
		`<form action="https://collect.example/p.php" method=POST><input name=u><input type=password name=p><input type=hidden name=h><input type=submit></form>` +
		`<form><input type=search></form><input type="password">` +
		`<a href="data:text/html;base64,PGgxPg==">open</a><a href=" java	script:alert(1)">x</a><a href="javascript:void(0)">noop</a>` +
		`<img src="data:image/png;base64,iVBOR">`)
	s := m.Structure()
	if len(s.HTMLForms) != 2 || s.Forms != 1 {
		t.Fatalf("forms %+v (with action %d)", s.HTMLForms, s.Forms)
	}
	f := s.HTMLForms[0]
	if f.Host != "collect.example" || f.Method != "post" || f.Fields != 2 || !f.Password {
		t.Errorf("first form %+v", f)
	}
	if g := s.HTMLForms[1]; g.Host != "" || g.Fields != 1 || g.Password {
		t.Errorf("second form %+v", g)
	}
	if s.PasswordInputs != 2 {
		t.Errorf("%d password inputs, want 2", s.PasswordInputs)
	}
	if len(s.InlineLinks) != 2 {
		t.Errorf("inline links %q, want the data: and the javascript: link", s.InlineLinks)
	}
}

// FuzzUnwrap: any URL resolves without panicking, within the depth bound,
// and never to a longer chain than it has bytes for.
func FuzzUnwrap(f *testing.F) {
	for _, s := range []string{
		"https://www.google.com/url?q=https://evil.example/",
		"https://www.bing.com/ck/a?u=a1aHR0cHM6Ly9ldmlsLmV4YW1wbGU",
		"https://x.example/amp/s/",
		"https://x.example/https%3A%2F%2F%",
		"https://x.example/?u=aHR0c===&url=http%",
		"http://a/?url=http://b/?url=http://c/?url=http://d/?url=http://e/?url=http://f/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, ok := ResolveURL(s)
		if !ok {
			return
		}
		if len(l.Via) > maxRedirectDepth {
			t.Fatalf("%d hops", len(l.Via))
		}
		if len(l.Target) > 4096 || len(l.URL) > 4096 {
			t.Fatalf("target of %d bytes", len(l.Target))
		}
	})
}

// TestPathURLNonASCII: a path whose lower-cased form is longer than
// itself (Ⱥ is two bytes, ⱥ three) before a URL in the path panicked when
// the lower-cased offset was used in the path, and the panic failed the
// whole content check: one such link switched the rules off.
func TestPathURLNonASCII(t *testing.T) {
	for _, tc := range []struct{ path, query, want string }{
		{"/ȺȺȺȺȺȺȺȺ/http:/0", "", "http:/0"},
		{"/\x83\x83\x83\x83\x83/HTTP://evil.example/", "a=b", "HTTP://evil.example/?a=b"},
		{"/ȺȺȺȺȺȺȺȺȺȺ/amp/s/evil.example/", "", "https://evil.example/"},
		{"/ΣΣ/https%3A%2F%2Fevil.example", "", "https://evil.example"},
	} {
		got, ok := pathURL(tc.path, tc.query)
		if !ok || got != tc.want {
			t.Errorf("pathURL(%q, %q) = %q, %v; want %q", tc.path, tc.query, got, ok, tc.want)
		}
	}
}
