package mailaddr

import (
	"net/netip"
	"testing"
)

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

// hostNameBefore is hostName as it was, refusing address literals with
// netip.ParseAddr first: FuzzHostName holds the two to one answer.
func hostNameBefore(d string) bool {
	if _, err := netip.ParseAddr(d); err == nil {
		return false
	}
	return hostName(d)
}

// FuzzHostName: hostName without netip.ParseAddr refuses every name the
// address parser accepted, and answers as before for the rest.
func FuzzHostName(f *testing.F) {
	for _, s := range []string{"example.com", "192.0.2.1", "1.2.3.4.5", "::ffff:192.0.2.1", "fe80::1%eth0.x", "0x7f.0.0.1", "a.b-c_d.com", "1.2.3.com", "", "a..b", "192.0.2.01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, d string) {
		if got, want := hostName(d), hostNameBefore(d); got != want {
			t.Fatalf("hostName(%q) = %v, before %v", d, got, want)
		}
	})
}
