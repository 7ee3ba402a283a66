package message

import (
	"strings"
	"testing"

	"relayguard/internal/mailaddr"
)

func TestFromIsReadOnceAsMailReadersShowIt(t *testing.T) {
	tests := []struct {
		fields  []string
		domains string
		lenient bool
	}{
		{[]string{"Alice <alice@Example.COM>"}, "example.com", false},
		{[]string{"=?utf-8?q?J=C3=BCrgen?= <j@example.de>"}, "example.de", false},
		{[]string{"a@example.com, b@example.com"}, "example.com", false},
		{[]string{"a@example.com, b@example.org"}, "example.com,example.org", false},
		{[]string{"a@example.com", "b@example.com"}, "example.com", false},
		{nil, "", false},
		{[]string{"undisclosed-recipients:;"}, "", false},
		{[]string{"root@localhost"}, "", false},
		{[]string{"PayPal <service@paypal.com"}, "paypal.com", true},
		{[]string{"service@paypal.com (PayPal"}, "paypal.com", true},
		{[]string{"\"PayPal\" service@paypal.com <>"}, "paypal.com", true},
		{[]string{"a@1.example, b@2.example, c@3.example, d@4.example"}, "1.example,2.example,3.example", false},
	}
	for _, tc := range tests {
		var raw strings.Builder
		for _, f := range tc.fields {
			raw.WriteString("From: " + f + "\r\n")
		}
		raw.WriteString("Subject: x\r\n\r\nbody\r\n")
		m := ParseMessage(strings.NewReader(raw.String()), int64(raw.Len()))
		f := m.From()
		if got := strings.Join(f.Domains, ","); got != tc.domains || f.Lenient != tc.lenient || f.Fields != len(tc.fields) {
			t.Errorf("From %q: %q lenient=%v fields=%d; want %q lenient=%v fields=%d",
				tc.fields, got, f.Lenient, f.Fields, tc.domains, tc.lenient, len(tc.fields))
		}
		if m.From() != f {
			t.Errorf("From %q parsed twice", tc.fields)
		}
	}
}

func TestLenientFromDomain(t *testing.T) {
	for in, want := range map[string]string{
		"Bank <x@bank.example":           "bank.example",
		"<x@bank.example> junk <":        "bank.example",
		"x@bank.example>":                "bank.example",
		"\"a@b\" <x@Bank.Example.>":      "bank.example",
		"x@bücher.example":               "xn--bcher-kva.example",
		"no address here":                "",
		"x@[192.0.2.1]":                  "",
		"x@192.0.2.1":                    "",
		"x@":                             "",
		"<x@bank.example":                "bank.example",
		"a@evil.example <x@bank.example": "bank.example",
	} {
		if got := lenientFromDomain(in); got != want {
			t.Errorf("lenientFromDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzLenientFromDomain(f *testing.F) {
	for _, s := range []string{"Bank <x@bank.example", "x@bücher.example", "<@>", "a@b@c.example", "\xff@\xfe.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d := lenientFromDomain(v)
		if d != "" && mailaddr.Normalize(d) != d {
			t.Fatalf("%q gives %q, which is not a normalised domain", v, d)
		}
	})
}

func FuzzParseFrom(f *testing.F) {
	for _, s := range []string{"a@example.com", "A <a@example.com>, b@example.org", "=?utf-8?q?x?= <a@b.example", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.ContainsAny(v, "\r\n") {
			return
		}
		f := parseFrom([]string{v})
		if len(f.Domains) > MaxFromDomains {
			t.Fatalf("%d domains", len(f.Domains))
		}
		for _, d := range f.Domains {
			if mailaddr.Normalize(d) != d {
				t.Fatalf("domain %q not normalised", d)
			}
		}
	})
}
