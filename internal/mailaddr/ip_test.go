package mailaddr

import (
	"net/netip"
	"testing"
)

// FuzzParseIP holds ParseIP to netip.ParseAddr: the shortcut may only turn
// away strings ParseAddr refuses too.
func FuzzParseIP(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1%eth0", "example.com", "1.2.3", "a.1", "", "1", "01.2.3.4", "1.2.3.4.", "१.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotErr := ParseIP(s)
		want, wantErr := netip.ParseAddr(s)
		if (gotErr == nil) != (wantErr == nil) || got != want {
			t.Fatalf("ParseIP(%q) = %v, %v; netip.ParseAddr = %v, %v", s, got, gotErr, want, wantErr)
		}
	})
}
