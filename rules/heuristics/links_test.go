package heuristics

import (
	"strings"
	"testing"
)

// listedAtPlain is listedAt as first written, with strings built by
// concatenation: the definition the allocation-free one is held to.
func listedAtPlain(domains map[string]bool, host, rawURL string) (string, bool) {
	if host == "" || len(domains) == 0 {
		return "", false
	}
	var segs []string
	if i := strings.Index(rawURL, "://"); i >= 0 {
		rest := rawURL[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			path := rest[j+1:]
			if k := strings.IndexAny(path, "?#"); k >= 0 {
				path = path[:k]
			}
			for _, s := range strings.SplitN(path, "/", 3) {
				if s == "" || len(segs) == 2 {
					break
				}
				segs = append(segs, strings.ToLower(s))
			}
		}
	}
	for h := host; h != ""; {
		if domains[h] {
			return h, true
		}
		p := h
		for _, s := range segs {
			p += "/" + s
			if domains[p] {
				return p, true
			}
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	if len(segs) > 0 && domains["/"+segs[0]] {
		return host + "/" + segs[0], true
	}
	return "", false
}

var listedTable = map[string]bool{"pages.dev": true, "docs.google.com/forms": true, "dropbox.com/s": true, "/ipfs": true, "a.example/x/y": true}

// listedPaths is DomainPaths(listedTable); listedNoBarePath a table with
// no entry that is a path alone.
var (
	listedPaths      = DomainPaths(listedTable)
	listedNoBarePath = map[string]bool{"pages.dev": true, "docs.google.com/forms": true, "x.a.example/y": true}
)

func TestListedAtFindsEntries(t *testing.T) {
	tests := []struct {
		host, url, want string
	}{
		{"evil.pages.dev", "https://evil.pages.dev/login", "pages.dev"},
		{"docs.google.com", "https://docs.google.com/Forms/d/e/1/viewform", "docs.google.com/forms"},
		{"www.dropbox.com", "https://www.dropbox.com/s/abc?dl=0", "dropbox.com/s"},
		{"gw.example", "https://gw.example/ipfs/Qm", "gw.example/ipfs"},
		{"a.example", "https://a.example/x/y/z", "a.example/x/y"},
		{"a.example", "https://a.example/x//y", ""},
		{"docs.google.com", "https://docs.google.com/document/d/1", ""},
		{"example.org", "https://example.org/", ""},
	}
	for _, tt := range tests {
		got, ok := listedAt(listedTable, listedPaths, tt.host, tt.url)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("listedAt(%q, %q) = %q, %v; want %q", tt.host, tt.url, got, ok, tt.want)
		}
	}
}

func FuzzListedAt(f *testing.F) {
	for _, s := range []string{"https://evil.pages.dev/login", "https://docs.google.com/Forms/d", "http://x/ipfs/Qm?a#b", "https://a.example/x/y/z", "://", "https://a.example/X//Y"} {
		f.Add("a.example", s)
		f.Add("docs.google.com", s)
		f.Add("x.a.example", s)
	}
	f.Fuzz(func(t *testing.T, host, url string) {
		for _, table := range []map[string]bool{listedTable, listedNoBarePath} {
			want, wantOK := listedAtPlain(table, host, url)
			for _, paths := range []map[string]bool{DomainPaths(table), nil} {
				got, ok := listedAt(table, paths, host, url)
				if got != want || ok != wantOK {
					t.Fatalf("listedAt(%v, %q, %q) with paths %v = %q %v, want %q %v", table, host, url, paths, got, ok, want, wantOK)
				}
			}
		}
	})
}
