package auth

import (
	"bufio"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
)

func TestParseFrom(t *testing.T) {
	tests := []struct {
		fields  []string
		domains string
		problem string
	}{
		{[]string{"Alice <alice@Example.COM>"}, "example.com", ""},
		{[]string{"=?utf-8?q?J=C3=BCrgen?= <j@example.de>"}, "example.de", ""},
		{[]string{"a@example.com, b@example.com"}, "example.com", ""},
		{[]string{"a@example.com, b@example.org"}, "example.com,example.org", SymDMARCMultiFrom},
		{[]string{"a@example.com", "b@example.com"}, "example.com", SymDMARCMultiFrom},
		{nil, "", SymDMARCNoFrom},
		{[]string{"undisclosed-recipients:;"}, "", SymDMARCNoFrom},
		{[]string{"root@localhost"}, "", SymDMARCNoFrom},
		{[]string{"PayPal <service@paypal.com"}, "paypal.com", SymDMARCBadFrom},
		{[]string{"service@paypal.com (PayPal"}, "paypal.com", SymDMARCBadFrom},
		{[]string{"\"PayPal\" service@paypal.com <>"}, "paypal.com", SymDMARCBadFrom},
		{[]string{"a@1.example, b@2.example, c@3.example, d@4.example"}, "1.example,2.example,3.example", SymDMARCMultiFrom},
	}
	for _, tc := range tests {
		var raw strings.Builder
		for _, f := range tc.fields {
			raw.WriteString("From: " + f + "\r\n")
		}
		raw.WriteString("Subject: x\r\n\r\n")
		h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(raw.String())))
		if err != nil {
			t.Fatal(err)
		}
		fi := parseFrom(&h)
		if got := strings.Join(fi.domains, ","); got != tc.domains || fi.problem != tc.problem {
			t.Errorf("From %q: domains %q problem %q; want %q %q", tc.fields, got, fi.problem, tc.domains, tc.problem)
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
		if d != "" && normDomain(d) != d {
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
		var h textproto.Header
		h.Add("From", v)
		fi := parseFrom(&h)
		if len(fi.domains) > maxFromDomains {
			t.Fatalf("%d domains", len(fi.domains))
		}
		if len(fi.domains) == 0 && fi.problem != SymDMARCNoFrom {
			t.Fatalf("no domain but problem %q", fi.problem)
		}
		for _, d := range fi.domains {
			if normDomain(d) != d {
				t.Fatalf("domain %q not normalised", d)
			}
		}
	})
}
