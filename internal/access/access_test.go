package access

import (
	"net/netip"
	"testing"
)

func TestContainsUnmapsAndRefusesInvalid(t *testing.T) {
	nets := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	tests := []struct {
		ip   netip.Addr
		want bool
	}{
		{netip.MustParseAddr("192.0.2.7"), true},
		{netip.MustParseAddr("::ffff:192.0.2.7"), true},
		{netip.MustParseAddr("2001:db8::1"), true},
		{netip.MustParseAddr("198.51.100.1"), false},
		{netip.Addr{}, false},
	}
	for _, tt := range tests {
		if got := Contains(nets, tt.ip); got != tt.want {
			t.Errorf("Contains(%v) = %v, want %v", tt.ip, got, tt.want)
		}
	}
	if Contains(nil, netip.MustParseAddr("192.0.2.7")) {
		t.Error("an empty list contains an address")
	}
}

func TestListAnswers(t *testing.T) {
	l := New(Options{
		RelayNetworks: []netip.Prefix{netip.MustParsePrefix("192.0.2.9/24")}, // unmasked, as a user may write it
		TrustedRelays: []netip.Prefix{netip.MustParsePrefix("203.0.113.5/32")},
		LocalDomains:  []string{"Local.Example.", "xn--bcher-kva.example"},
		EgressIPs:     []netip.Addr{netip.MustParseAddr("198.51.100.25")},
	})
	in, out := netip.MustParseAddr("192.0.2.200"), netip.MustParseAddr("198.51.100.1")
	checks := []struct {
		name      string
		got, want bool
	}{
		{"relay network may relay", l.MayRelay(in, false), true},
		{"mapped relay network may relay", l.MayRelay(netip.MustParseAddr("::ffff:192.0.2.200"), false), true},
		{"stranger may not relay", l.MayRelay(out, false), false},
		{"authenticated stranger may relay", l.MayRelay(out, true), true},
		{"trusted relay", l.Trusted(netip.MustParseAddr("203.0.113.5")), true},
		{"relay network is not trusted", l.Trusted(in), false},
		{"local domain any ASCII case", l.IsLocalDomain("LOCAL.example"), true},
		{"A-label local domain", l.IsLocalDomain("xn--bcher-kva.example"), true},
		{"U-label never matches", l.IsLocalDomain("bücher.example"), false},
		{"Kelvin sign is not k", l.IsLocalDomain("\u212Aocal.example"), false},
		{"subdomain is not local", l.IsLocalDomain("sub.local.example"), false},
		{"egress", l.IsEgress(netip.MustParseAddr("::ffff:198.51.100.25")), true},
		{"not egress", l.IsEgress(out), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestNilListGrantsNothing(t *testing.T) {
	var l *List
	ip := netip.MustParseAddr("192.0.2.1")
	if l.MayRelay(ip, false) || l.Trusted(ip) || l.IsLocalDomain("example.com") || l.IsEgress(ip) || l.TrustedRelays() != nil {
		t.Error("a nil List granted something")
	}
	if !l.MayRelay(ip, true) {
		t.Error("a nil List refused an authenticated client")
	}
}
