package auth

import (
	"strings"
	"testing"
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
		fi := fromInfoOf(parse([]byte(raw.String())))
		if got := strings.Join(fi.domains, ","); got != tc.domains || fi.problem != tc.problem {
			t.Errorf("From %q: domains %q problem %q; want %q %q", tc.fields, got, fi.problem, tc.domains, tc.problem)
		}
	}
}
