package filter

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"relayguard/internal/access"
	"relayguard/internal/mailaddr"
)

func TestRelayTricksRefused(t *testing.T) {
	p := &Policy{Access: access.New(access.Options{
		RelayNetworks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		LocalDomains:  []string{"local.example", "kiosk.test", "xn--bcher-kva.example"},
	})}
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
		{"NUL in local part", "us\x00er@local.example", outsider, false, 501},
		{"NUL in local part, relay network", "us\x00er@other.example", insider, false, 501},
		{"CR LF in local part", "us\r\ner@local.example", outsider, false, 501},
		{"65-octet local part", strings.Repeat("a", 65) + "@local.example", outsider, false, 501},
		{"1000-octet local part, authenticated", strings.Repeat("a", 1000) + "@other.example", outsider, true, 501},
		{"Kelvin sign is not k", "user@\u212Aiosk.test", outsider, false, 501},
		{"Kelvin sign, authenticated", "user@\u212Aiosk.test", outsider, true, 501},
		{"U-label local domain", "user@bücher.example", outsider, false, 0},
		{"U-label other domain", "user@bücher.other", outsider, false, 554},
		{"A-label local domain", "user@xn--bcher-kva.example", outsider, false, 0},
		{"bogus A-label", "user@xn--zz.example", insider, false, 501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.CheckRcpt(tt.rcpt, tt.ip, tt.auth, true)
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

// TestNonASCIIRecipientNeedsSMTPUTF8: RFC 6531 §3.5, 553 5.6.7 for a
// non-ASCII address in a transaction opened without SMTPUTF8, whoever the
// client is.
func TestNonASCIIRecipientNeedsSMTPUTF8(t *testing.T) {
	p := &Policy{Access: access.New(access.Options{LocalDomains: []string{"local.example", "xn--bcher-kva.example"}})}
	ip := netip.MustParseAddr("198.51.100.9")
	tests := []struct {
		rcpt     string
		auth     bool
		smtputf8 bool
		want     int
	}{
		{"üser@local.example", false, false, 553},
		{"üser@local.example", false, true, 0},
		{"user@bücher.example", false, false, 553},
		{"user@bücher.example", true, false, 553},
		{"user@bücher.example", false, true, 0},
		{"user@xn--bcher-kva.example", false, false, 0},
	}
	for _, tt := range tests {
		err := p.CheckRcpt(tt.rcpt, ip, tt.auth, tt.smtputf8)
		got := 0
		if err != nil {
			got = err.Code
			if got == 553 && err.EnhancedCode != [3]int{5, 6, 7} {
				t.Errorf("553 with enhanced code %v, want 5.6.7", err.EnhancedCode)
			}
		}
		if got != tt.want {
			t.Errorf("CheckRcpt(%q, auth %v, smtputf8 %v) = %d, want %d", tt.rcpt, tt.auth, tt.smtputf8, got, tt.want)
		}
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

// FuzzCheckRcpt: whatever a stranger gets accepted is for a local domain
// (compared in ASCII form) and cannot route elsewhere; whatever anyone gets
// accepted has no control character, fits RFC 5321's limits and is ASCII
// unless SMTPUTF8 was given.
func FuzzCheckRcpt(f *testing.F) {
	for _, s := range []string{"user@local.example", "a%b@local.example", "@x:y@z", "u@[1.2.3.4]", "u@[IPv6:::1]",
		"\"a@b\"@c", "u@é.example", "u\x00@local.example", "u@\u212Aiosk.test", "u@bücher.example", "u@xn--bcher-kva.example"} {
		f.Add(s, false, false)
		f.Add(s, true, true)
	}
	p := &Policy{Access: access.New(access.Options{LocalDomains: []string{"local.example", "kiosk.test", "xn--bcher-kva.example"}})}
	ip := netip.MustParseAddr("198.51.100.1")
	f.Fuzz(func(t *testing.T, rcpt string, smtputf8, auth bool) {
		err := p.CheckRcpt(rcpt, ip, auth, smtputf8)
		_ = formatPath(rcpt)
		if err != nil {
			return
		}
		local, domain, ok := mailaddr.Split(rcpt)
		if !ok || len(local) > 64 || len(domain) > 255 || len(rcpt) > 254 {
			t.Fatalf("accepted %q beyond RFC 5321 limits", rcpt)
		}
		if strings.ContainsFunc(rcpt, unicode.IsControl) || !utf8.ValidString(rcpt) {
			t.Fatalf("accepted %q with a control character or bad UTF-8", rcpt)
		}
		if !smtputf8 && strings.ContainsFunc(rcpt, func(r rune) bool { return r >= 0x80 }) {
			t.Fatalf("accepted non-ASCII %q without SMTPUTF8", rcpt)
		}
		if auth {
			return
		}
		a, err2 := mailaddr.ASCII(domain)
		if err2 != nil || !slices.Contains([]string{"local.example", "kiosk.test", "xn--bcher-kva.example"}, a) {
			t.Fatalf("accepted %q for domain %q (%q)", rcpt, domain, a)
		}
		if strings.ContainsAny(local, "@%!:") {
			t.Fatalf("accepted routing character in %q", rcpt)
		}
	})
}
