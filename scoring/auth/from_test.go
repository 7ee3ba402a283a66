package auth

import (
	"strings"
	"testing"
)

func TestDMARCReadsTheFromField(t *testing.T) {
	tests := []struct {
		fields  []string
		domains string
		problem string
	}{
		// What the parsed field says is tested in rules (From); here, what
		// DMARC makes of it.
		{[]string{"Alice <alice@Example.COM>"}, "example.com", ""},
		{[]string{"a@example.com, b@example.org"}, "example.com,example.org", SymDMARCMultiFrom},
		{[]string{"a@example.com", "b@example.com"}, "example.com", SymDMARCMultiFrom},
		{nil, "", SymDMARCNoFrom},
		{[]string{"undisclosed-recipients:;"}, "", SymDMARCNoFrom},
		{[]string{"PayPal <service@paypal.com"}, "paypal.com", SymDMARCBadFrom},
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
