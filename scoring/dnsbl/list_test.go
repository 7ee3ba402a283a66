package dnsbl

import (
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestQueryNamesFollowRFC5782(t *testing.T) {
	l, err := compile(List{Zone: "Bl.Example.", Weight: 1}, kindBL)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target string
		want   string
	}{
		// RFC 5782 §2.1 example.
		{"192.0.2.99", "99.2.0.192.bl.example"},
		{"::ffff:192.0.2.99", "99.2.0.192.bl.example"},
		// RFC 5782 §2.4 example.
		{"2001:db8:1:2:3:4:567:89ab", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example"},
		// §2.3: domains as they are.
		{"Example.COM.", "example.com.bl.example"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			got, err := l.queryName(tt.target)
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := l.queryName(strings.Repeat("a", 64) + ".example"); err == nil {
		t.Error("a 64-octet label was accepted")
	}
}

func TestParseAnswerRefusesNonListings(t *testing.T) {
	ip := func(s ...string) []net.IP {
		var out []net.IP
		for _, x := range s {
			out = append(out, net.ParseIP(x))
		}
		return out
	}
	tests := []struct {
		name    string
		in      []net.IP
		want    []string
		wantErr string
	}{
		{"one code", ip("127.0.0.2"), []string{"127.0.0.2"}, ""},
		{"several codes sorted, repeats dropped", ip("127.0.0.10", "127.0.0.4", "127.0.0.10"), []string{"127.0.0.4", "127.0.0.10"}, ""},
		{"as 16-byte form", []net.IP{net.IPv4(127, 0, 1, 2)}, []string{"127.0.1.2"}, ""},
		{"outside 127/8 (rewritten NXDOMAIN)", ip("192.0.2.80"), nil, "outside 127.0.0.0/8"},
		{"one bad record spoils all", ip("127.0.0.2", "10.0.0.1"), nil, "outside"},
		{"Spamhaus public resolver", ip("127.255.255.254"), nil, "public or open resolvers"},
		{"Spamhaus typo", ip("127.255.255.252"), nil, "typing error"},
		{"Spamhaus rate limit", ip("127.255.255.255"), nil, "excessive"},
		{"127.0.0.1 is never a listing", ip("127.0.0.1"), nil, "refuses our queries"},
		{"DNSWL query limit", ip("127.0.0.255"), nil, "query limit"},
		{"IPv6 answer", ip("2001:db8::1"), nil, "not IPv4"},
		{"garbage bytes", []net.IP{{1, 2, 3}}, nil, "no address"},
		{"empty", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			codes, err := parseAnswer(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range codes {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWeighCodes(t *testing.T) {
	zen, _ := compile(zenList(), kindBL)
	surbl, _ := compile(surblList(), kindURI)
	wl, _ := compile(List{Zone: "wl.test", Weight: -1, Codes: map[string]float64{"127.0.10.3": -4}}, kindWL)
	tests := []struct {
		name           string
		l              *list
		codes          []string
		hop            bool
		want           float64
		wantPolicyOnly bool
	}{
		{"unlisted code weighs Weight", zen, []string{"127.0.0.2"}, false, 6, false},
		{"code from Codes", zen, []string{"127.0.0.4"}, false, 5, false},
		{"strongest code wins, no sum", zen, []string{"127.0.0.4", "127.0.0.2", "127.0.0.10"}, false, 6, false},
		{"policy code counts on the client", zen, []string{"127.0.0.10"}, false, 3, false},
		{"policy code weighs nothing on a hop", zen, []string{"127.0.0.10"}, true, 0, true},
		{"other codes still count on a hop", zen, []string{"127.0.0.4", "127.0.0.10"}, true, 5, false},
		{"bitmask: strongest matched bit", surbl, []string{"127.0.0.24"}, false, 6, false},
		{"bitmask: one bit", surbl, []string{"127.0.0.8"}, false, 5, false},
		{"bitmask: no configured bit matches", surbl, []string{"127.0.0.2"}, false, 3, false},
		{"allowlist: most negative wins", wl, []string{"127.0.10.0", "127.0.10.3"}, false, -4, false},
		{"no codes", zen, nil, true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var codes []netip.Addr
			for _, c := range tt.codes {
				codes = append(codes, netip.MustParseAddr(c))
			}
			got, policyOnly := tt.l.weigh(codes, tt.hop)
			if got != tt.want || policyOnly != tt.wantPolicyOnly {
				t.Errorf("got %v policyOnly=%v, want %v %v", got, policyOnly, tt.want, tt.wantPolicyOnly)
			}
		})
	}
}

func TestConfigRefusesMistakes(t *testing.T) {
	r := resolver(t, world(t))
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no resolver", Config{}, "no resolver"},
		{"empty zone", Config{Resolver: r, DNSBL: []List{{Weight: 1}}}, "empty zone"},
		{"bad zone", Config{Resolver: r, DNSBL: []List{{Zone: "a..b", Weight: 1}}}, "not a domain"},
		{"negative blocklist weight", Config{Resolver: r, DNSBL: []List{{Zone: "bl.test", Weight: -1}}}, "zero or more"},
		{"positive allowlist weight", Config{Resolver: r, DNSWL: []List{{Zone: "wl.test", Weight: 1}}}, "zero or less"},
		{"NaN weight", Config{Resolver: r, URIBL: []List{{Zone: "dbl.test", Weight: math.NaN()}}}, "not a number"},
		{"code outside 127/8", Config{Resolver: r, DNSBL: []List{{Zone: "bl.test", Weight: 1, Codes: map[string]float64{"10.0.0.2": 1}}}}, "127.0.0.0/8"},
		{"code not an address", Config{Resolver: r, DNSBL: []List{{Zone: "bl.test", Weight: 1, Codes: map[string]float64{"two": 1}}}}, "IPv4"},
		{"bitmask code without bits", Config{Resolver: r, URIBL: []List{{Zone: "m.test", Weight: 1, Bitmask: true, Codes: map[string]float64{"127.0.0.0": 1}}}}, "no bit"},
		{"bad policy code", Config{Resolver: r, DNSBL: []List{{Zone: "bl.test", Weight: 1, Policy: []string{"x"}}}}, "policy code"},
		{"bad name", Config{Resolver: r, DNSBL: []List{{Zone: "bl.test", Weight: 1, Name: "ZEN-1"}}}, "letters, digits"},
		{"two lists one symbol", Config{Resolver: r, DNSBL: []List{{Zone: "a.test", Name: "X", Weight: 1}, {Zone: "b.test", Name: "x", Weight: 1}}}, "both make symbol DNSBL_X"},
		{"negative max lookups", Config{Resolver: r, MaxLookups: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewIPCheck(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestListNamesAndDisplay(t *testing.T) {
	tests := []struct {
		list        List
		k           kind
		wantSymbol  string
		wantDisplay string
	}{
		{List{Zone: "zen.spamhaus.org"}, kindBL, "DNSBL_ZEN_SPAMHAUS", "zen.spamhaus.org"},
		{List{Zone: "zen.spamhaus.org", Name: "zen"}, kindBL, "DNSBL_ZEN", "zen.spamhaus.org"},
		{List{Zone: "list.dnswl.org"}, kindWL, "DNSWL_LIST_DNSWL", "list.dnswl.org"},
		{List{Zone: "multi.surbl.org"}, kindURI, "URIBL_MULTI_SURBL", "multi.surbl.org"},
		{List{Zone: "multi.uribl.com"}, kindURI, "URIBL_MULTI_URIBL", "multi.uribl.com"},
		{List{Zone: "bl.example.co.uk"}, kindBL, "DNSBL_BL_EXAMPLE", "bl.example.co.uk"},
		// The DQS key never shows.
		{List{Zone: "abcdefghijklmnopqrstuvwxyz.zen.dq.spamhaus.net"}, kindBL, "DNSBL_ZEN_DQ_SPAMHAUS", "zen.dq.spamhaus.net"},
		{List{Zone: "abcdefghijklmnopqrstuvwxyz.dbl.dq.spamhaus.net"}, kindURI, "URIBL_DBL_DQ_SPAMHAUS", "dbl.dq.spamhaus.net"},
	}
	for _, tt := range tests {
		t.Run(tt.list.Zone, func(t *testing.T) {
			l, err := compile(tt.list, tt.k)
			if err != nil {
				t.Fatal(err)
			}
			if l.symbol(false) != tt.wantSymbol || l.display != tt.wantDisplay {
				t.Errorf("got %s %s, want %s %s", l.symbol(false), l.display, tt.wantSymbol, tt.wantDisplay)
			}
			if l.symbol(true) != HopPrefix+tt.wantSymbol {
				t.Errorf("hop symbol %s", l.symbol(true))
			}
		})
	}
}

// FuzzAnswer feeds arbitrary A records (4 or 16 bytes each, or broken)
// through the answer handling and the weighing of a ZEN-like and a
// SURBL-like list.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte{127, 0, 0, 2}, false)
	f.Add([]byte{127, 0, 0, 10, 127, 0, 0, 4}, true)
	f.Add([]byte{127, 255, 255, 254}, false)
	f.Add([]byte{192, 0, 2, 80, 127, 0, 0, 2}, false)
	f.Add([]byte{127, 0, 0, 24}, false)
	f.Add([]byte{127, 0, 0, 1, 127, 0, 0, 255}, true)
	zen, err := compile(zenList(), kindBL)
	if err != nil {
		f.Fatal(err)
	}
	surbl, err := compile(surblList(), kindURI)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, hop bool) {
		var ips []net.IP
		for len(data) > 0 {
			n := 4
			if data[0]&0x80 != 0 && data[0] != 127 && len(data) >= 16 {
				n = 16
			}
			n = min(n, len(data))
			ips = append(ips, net.IP(data[:n]))
			data = data[n:]
		}
		codes, err := parseAnswer(ips)
		if err != nil {
			if codes != nil {
				t.Fatal("codes returned with an error")
			}
			return
		}
		for _, c := range codes {
			b := c.As4()
			if !c.Is4() || b[0] != 127 || (b[1] == 255 && b[2] == 255) || b == [4]byte{127, 0, 0, 1} || b == [4]byte{127, 0, 0, 255} {
				t.Fatalf("accepted %v", c)
			}
		}
		for _, l := range []*list{zen, surbl} {
			s, _ := l.weigh(codes, hop)
			if math.IsNaN(s) || s < 0 || s > 8 {
				t.Fatalf("%s: score %v out of the configured range", l.zone, s)
			}
			if len(codes) > 0 && s == 0 && !hop {
				t.Fatalf("%s: a listing on the client weighs nothing: %v", l.zone, codes)
			}
		}
	})
}
