package dnsbl

import (
	"strings"
	"testing"
)

func TestLookupReportsEveryList(t *testing.T) {
	srv := world(t)
	srv.Add(t,
		"7.113.0.203.in-addr.arpa. 300 IN PTR mail.example.com.",
		"mail.example.com. 300 IN A 203.0.113.7",
	)
	cfg := Config{Resolver: resolver(t, srv),
		DNSBL: []List{zenList(), {Zone: "public.test", Name: "PUBLIC", Weight: 6}, {Zone: "dead.test", Name: "DEAD", Weight: 6}},
		DNSWL: []List{dnswlList()},
		URIBL: []List{dblList(), surblList()},
	}
	// No Monitor: Lookup runs the lists' self-test itself.

	tests := []struct {
		target string
		want   []string // lines (substrings) in order
	}{
		{"203.0.113.7", []string{
			"IP 203.0.113.7",
			"reverse DNS: mail.example.com",
			"forward-confirmed: pass (mail.example.com)",
			"dnsbl bl.test", "LISTED   127.0.0.2  DNSBL_ZEN +6.0", `"https://www.spamhaus.org/query/ip/203.0.113.7"`,
			"dnsbl public.test", "BROKEN   fails its RFC 5782 self-test: its test entry 127.0.0.2 got a bad answer", "public or open resolvers",
			"dnsbl dead.test", "BROKEN   fails its RFC 5782 self-test: it lists 127.0.0.1", "its answer here (127.0.0.2) is ignored",
			"dnswl wl.test", "not listed",
		}},
		{"203.0.113.20", []string{"forward-confirmed: none", "dnsbl bl.test", "not listed", "dnswl wl.test", "LISTED   127.0.10.2  DNSWL_DNSWL -2.0"}},
		{"www.shop.example.biz", []string{
			"domain example.biz (registrable domain of www.shop.example.biz)",
			"uribl dbl.test", "LISTED   127.0.1.2  URIBL_DBL +6.0",
			"uribl multi.test", "LISTED   127.0.0.24  URIBL_SURBL +6.0",
		}},
		{"clean.example", []string{"domain clean.example\n", "not listed", "not listed"}},
		{"co.uk", []string{"co.uk: lookup \"co.uk\": neither an IP address nor a domain"}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rep := Lookup(bg, cfg, tt.target)
			var b strings.Builder
			if err := rep.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("%q missing (or out of order) in:\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
