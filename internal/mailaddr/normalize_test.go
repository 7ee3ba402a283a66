package mailaddr

import "testing"

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM.":          "example.com",
		" mail.example.org ":    "mail.example.org",
		"bücher.example":        "xn--bcher-kva.example",
		"_dmarc.example.com":    "_dmarc.example.com",
		"localhost":             "",
		"192.0.2.1":             "",
		"192.0.2.1.5":           "",
		"[192.0.2.1]":           "",
		"exa mple.com":          "",
		"a..example":            "",
		"":                      "",
		"\u212Aiosk.example":    "kiosk.example", // a reader shows k: mapped, as the DNS would
		"xn--bcher-kva.EXAMPLE": "xn--bcher-kva.example",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
