package mailaddr

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSplitAtLastAt(t *testing.T) {
	tests := []struct {
		in, local, domain string
		ok                bool
	}{
		{"user@example.com", "user", "example.com", true},
		{"a@b@example.com", "a@b", "example.com", true},
		{"user@", "", "", false},
		{"@example.com", "", "", false},
		{"user", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		l, d, ok := Split(tt.in)
		if l != tt.local || d != tt.domain || ok != tt.ok {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q, %v", tt.in, l, d, ok, tt.local, tt.domain, tt.ok)
		}
	}
}

func TestDomainFoldsOnlyASCII(t *testing.T) {
	tests := map[string]string{
		"User@Example.COM":  "example.com",
		"a@b@Example.com":   "example.com",
		"":                  "",
		"postmaster":        "",
		"u@\u212Aiosk.test": "\u212Aiosk.test", // not k: see ASCII
		"u@BÜCHER.test":     "bÜcher.test",
	}
	for in, want := range tests {
		if got := Domain(in); got != want {
			t.Errorf("Domain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestASCIIRefusesWhatOnlyMappingWouldFix(t *testing.T) {
	tests := []struct {
		in, want string
		reason   Reason // 0: accepted
	}{
		{"Example.COM", "example.com", 0},
		{"bücher.example", "xn--bcher-kva.example", 0},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", 0},
		{"XN--BCHER-KVA.example", "xn--bcher-kva.example", 0},
		{"ab--cd.example", "ab--cd.example", 0}, // RFC 5321 allows it; only xn-- is IDNA
		{"localhost", "localhost", 0},
		{"\u212Aiosk.test", "", ReasonNotIDNA},    // KELVIN SIGN maps to k only under UTS #46
		{"BÜCHER.example", "", ReasonNotIDNA},     // upper-case U-label is not canonical
		{"u\u0308ber.example", "", ReasonNotIDNA}, // not NFC
		{"xn--zz.example", "", ReasonNotIDNA},
		{"stra\u00dfe.example", "xn--strae-oqa.example", 0}, // ß is PVALID in IDNA2008
		{"", "", ReasonDomainSyntax},
		{"example.com.", "", ReasonDomainSyntax},
		{".example.com", "", ReasonDomainSyntax},
		{"a..example", "", ReasonDomainSyntax},
		{"-a.example", "", ReasonDomainSyntax},
		{"a_b.example", "", ReasonDomainSyntax},
		{strings.Repeat("a", 64) + ".example", "", ReasonDomainSyntax},
		{strings.Repeat("a.", 128) + "a", "", ReasonDomainTooLong},
	}
	for _, tt := range tests {
		got, err := ASCII(tt.in)
		var reason Reason
		if e := (*Error)(nil); errors.As(err, &e) {
			reason = e.Reason
		} else if err != nil {
			t.Fatalf("ASCII(%q): untyped error %v", tt.in, err)
		}
		if got != tt.want || reason != tt.reason {
			t.Errorf("ASCII(%q) = %q, %v; want %q, %v", tt.in, got, reason, tt.want, tt.reason)
		}
		if ValidDomain(tt.in) != (tt.reason == 0) {
			t.Errorf("ValidDomain(%q) disagrees with ASCII", tt.in)
		}
	}
}

func TestRegistrable(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"www.mail.example.co.uk", "example.co.uk", true},
		{"WWW.Example.COM.", "example.com", true},
		{"example.com", "example.com", true},
		{"co.uk", "", false},
		{"com", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := Registrable(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Registrable(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseReasons(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name     string
		addr     string
		smtputf8 bool
		reason   Reason // 0: accepted
	}{
		{"plain", "user@example.com", false, 0},
		{"quoted space, unquoted by go-smtp", "a b@example.com", false, 0},
		{"quoted at", "a@b@example.com", false, 0},
		{"address literal", "user@[192.0.2.1]", false, 0},
		{"ipv6 literal", "user@[IPv6:2001:db8::1]", false, 0},
		{"bad literal", "user@[300.1.1.1]", false, ReasonLiteral},
		{"v6 literal without tag", "user@[2001:db8::1]", false, ReasonLiteral},
		{"NUL in local part", "us\x00er@example.com", false, ReasonControl},
		{"CR in local part", "us\rer@example.com", false, ReasonControl},
		{"DEL in local part", "us\x7fer@example.com", false, ReasonControl},
		{"tab in local part", "us\ter@example.com", false, ReasonControl},
		{"C1 control", "us\u0085er@example.com", true, ReasonControl},
		{"NUL in domain", "user@exa\x00mple.com", false, ReasonControl},
		{"invalid UTF-8", "us\xffer@example.com", true, ReasonSyntax},
		{"local part 64", long(64) + "@example.com", false, 0},
		{"local part 65", long(65) + "@example.com", false, ReasonLocalTooLong},
		{"local part 1000", long(1000) + "@example.com", false, ReasonLocalTooLong},
		{"domain 256", "u@" + strings.Repeat("a.", 127) + "aa", false, ReasonDomainTooLong},
		{"path 255", long(60) + "@" + strings.Repeat("abcdefghi.", 19) + "example", false, ReasonPathTooLong},
		{"no at", "user", false, ReasonSyntax},
		{"empty local", "@example.com", false, ReasonSyntax},
		{"empty domain", "user@", false, ReasonSyntax},
		{"trailing dot", "user@example.com.", false, ReasonDomainSyntax},
		{"UTF-8 local part without SMTPUTF8", "üser@example.com", false, ReasonNeedsSMTPUTF8},
		{"UTF-8 local part with SMTPUTF8", "üser@example.com", true, 0},
		{"U-label without SMTPUTF8", "user@bücher.example", false, ReasonNeedsSMTPUTF8},
		{"U-label with SMTPUTF8", "user@bücher.example", true, 0},
		{"A-label needs no SMTPUTF8", "user@xn--bcher-kva.example", false, 0},
		{"Kelvin sign", "user@\u212Aiosk.test", true, ReasonNotIDNA},
		{"Kelvin sign without SMTPUTF8", "user@\u212Aiosk.test", false, ReasonNeedsSMTPUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(tt.addr, tt.smtputf8)
			var reason Reason
			if e := (*Error)(nil); errors.As(err, &e) {
				reason = e.Reason
			} else if err != nil {
				t.Fatalf("untyped error %v", err)
			}
			if reason != tt.reason {
				t.Fatalf("Parse(%q, %v) reason %v, want %v", tt.addr, tt.smtputf8, reason, tt.reason)
			}
			if err == nil && a.Local+"@"+a.Domain != tt.addr {
				t.Errorf("Parse(%q) split into %q and %q", tt.addr, a.Local, a.Domain)
			}
		})
	}
}

// FuzzParse holds Parse to its promises on any input: no panic, and an
// accepted address has no control character, fits RFC 5321's limits, is
// ASCII unless SMTPUTF8 was given, and has a comparison domain in ASCII.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"user@example.com", "a\x00b@example.com", "üser@bücher.example",
		"u@\u212Aiosk.test", "u@[IPv6:::1]", "u@xn--bcher-kva.example", "a@b@c", "u@" + strings.Repeat("a.", 130)} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, addr string, smtputf8 bool) {
		a, err := Parse(addr, smtputf8)
		if err != nil {
			if e := (*Error)(nil); !errors.As(err, &e) || reasonText[e.Reason] == "" {
				t.Fatalf("Parse(%q): error without a known reason: %v", addr, err)
			}
			return
		}
		if strings.ContainsFunc(addr, unicode.IsControl) || !utf8.ValidString(addr) {
			t.Fatalf("accepted %q with a control character or bad UTF-8", addr)
		}
		if len(a.Local) > 64 || len(a.Domain) > 255 || len(addr)+2 > 256 || a.Local == "" || a.Domain == "" {
			t.Fatalf("accepted %q beyond RFC 5321 limits", addr)
		}
		if !smtputf8 && !isASCII(addr) {
			t.Fatalf("accepted non-ASCII %q without SMTPUTF8", addr)
		}
		if !isASCII(a.ASCII) {
			t.Fatalf("comparison form %q of %q is not ASCII", a.ASCII, addr)
		}
		if !a.Literal {
			if a.ASCII != lowerASCII(a.ASCII) {
				t.Fatalf("comparison form %q of %q is not lower case", a.ASCII, addr)
			}
			if again, err := ASCII(a.ASCII); err != nil || again != a.ASCII {
				t.Fatalf("comparison form %q of %q is not stable: %q, %v", a.ASCII, addr, again, err)
			}
		}
	})
}
