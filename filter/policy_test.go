package filter

import (
	"net/netip"
	"strings"
	"testing"
)

func TestRelayTricksRefused(t *testing.T) {
	p := &Policy{
		RelayNetworks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		LocalDomains:  []string{"local.example"},
	}
	outsider := netip.MustParseAddr("198.51.100.9")
	insider := netip.MustParseAddr("192.0.2.10")
	tests := []struct {
		name string
		rcpt string // as go-smtp hands it over (brackets, source route and quotes removed)
		ip   netip.Addr
		auth bool
		want int // reply code, 0 = accepted
	}{
		{"local domain", "user@local.example", outsider, false, 0},
		{"local domain, any case", "User@LOCAL.Example", outsider, false, 0},
		{"other domain", "user@other.example", outsider, false, 554},
		{"percent hack", "user%other.example@local.example", outsider, false, 554},
		{"bang path", "other.example!user@local.example", outsider, false, 554},
		{"quoted at", "user@other.example@local.example", outsider, false, 554},
		{"source route leftover", "@local.example:user@other.example", outsider, false, 554},
		{"source route to other domain", "user@other.example", outsider, false, 554},
		{"trailing dot", "user@local.example.", outsider, false, 501},
		{"trailing dot elsewhere", "user@other.example.", outsider, false, 501},
		{"address literal", "user@[192.0.2.1]", outsider, false, 554},
		{"ipv6 literal", "user@[IPv6:2001:db8::1]", outsider, false, 554},
		{"bad literal", "user@[300.1.1.1]", outsider, false, 501},
		{"subdomain is not local", "user@sub.local.example", outsider, false, 554},
		{"suffix match is not local", "user@notlocal.example", outsider, false, 554},
		{"no domain", "user@", outsider, false, 501},
		{"no local part", "@local.example", outsider, false, 501},
		{"empty label", "user@local..example", outsider, false, 501},
		{"relay network", "user@other.example", insider, false, 0},
		{"relay network, v4-mapped", "user@other.example", netip.MustParseAddr("::ffff:192.0.2.10"), false, 0},
		{"authenticated", "user@other.example", outsider, true, 0},
		{"authenticated, percent hack is theirs to send", "a%b@other.example", outsider, true, 0},
		{"authenticated, still no trailing dot", "user@other.example.", outsider, true, 501},
		{"relay network may use literals", "user@[192.0.2.1]", insider, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.CheckRcpt(tt.rcpt, tt.ip, tt.auth)
			got := 0
			if err != nil {
				got = err.Code
				if got == 554 && err.EnhancedCode != [3]int{5, 7, 1} {
					t.Errorf("554 with enhanced code %v, want 5.7.1", err.EnhancedCode)
				}
			}
			if got != tt.want {
				t.Errorf("CheckRcpt(%q) = %d, want %d", tt.rcpt, got, tt.want)
			}
		})
	}
}

func TestFormatPathQuotesWhatNeedsIt(t *testing.T) {
	tests := map[string]string{
		"user@example.com":       "user@example.com",
		"first.last@example.com": "first.last@example.com",
		"a b@example.com":        `"a b"@example.com`,
		`we"ird@example.com`:     `"we\"ird"@example.com`,
		"user@other@example.com": `"user@other"@example.com`,
		".dot@example.com":       `".dot"@example.com`,
		"üser@example.com":       "üser@example.com",
		"":                       "",
	}
	for in, want := range tests {
		if got := formatPath(in); got != want {
			t.Errorf("formatPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzCheckRcpt(f *testing.F) {
	for _, s := range []string{"user@local.example", "a%b@local.example", "@x:y@z", "u@[1.2.3.4]", "u@[IPv6:::1]", "\"a@b\"@c", "u@é.example"} {
		f.Add(s)
	}
	p := &Policy{LocalDomains: []string{"local.example"}}
	ip := netip.MustParseAddr("198.51.100.1")
	f.Fuzz(func(t *testing.T, rcpt string) {
		err := p.CheckRcpt(rcpt, ip, false)
		if err == nil {
			// Whatever is accepted from a stranger is for a local domain
			// and cannot route elsewhere.
			local, domain, ok := splitAddress(rcpt)
			if !ok || !strings.EqualFold(domain, "local.example") {
				t.Fatalf("accepted %q for domain %q", rcpt, domain)
			}
			for _, c := range "@%!:" {
				for _, l := range local {
					if l == c {
						t.Fatalf("accepted routing character in %q", rcpt)
					}
				}
			}
		}
		_ = formatPath(rcpt)
	})
}
