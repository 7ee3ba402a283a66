package rdns

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"relayguard/scoring"
	"relayguard/scoring/dns"
	"relayguard/scoring/dns/dnstest"
)

func newResolver(t *testing.T, srv *dnstest.Server) *dns.Client {
	t.Helper()
	c, err := dns.New(dns.Options{Servers: []string{srv.Addr}, Timeout: 200 * time.Millisecond, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// zone is a small world of senders.
func zone(t *testing.T) *dnstest.Server {
	srv := dnstest.NewServer(t)
	srv.Add(t,
		// 203.0.113.7: good FCrDNS.
		"7.113.0.203.in-addr.arpa. 300 IN PTR mail.example.com.",
		"mail.example.com. 300 IN A 203.0.113.7",
		// 203.0.113.8: PTR to a name that points elsewhere.
		"8.113.0.203.in-addr.arpa. 300 IN PTR liar.example.com.",
		"liar.example.com. 300 IN A 192.0.2.99",
		// 203.0.113.9: PTR to a name that does not exist.
		"9.113.0.203.in-addr.arpa. 300 IN PTR gone.example.com.",
		// 203.0.113.10: PTR lookup fails.
		// 203.0.113.11: two names, the first broken, the second confirms.
		"11.113.0.203.in-addr.arpa. 300 IN PTR broken.example.com.",
		"11.113.0.203.in-addr.arpa. 300 IN PTR good11.example.com.",
		"good11.example.com. 300 IN A 203.0.113.11",
		// 203.0.113.12: the only name's forward lookup fails.
		"12.113.0.203.in-addr.arpa. 300 IN PTR broken.example.com.",
		// IPv6, confirmed by AAAA.
		reverse(t, "2001:db8:1::7")+" 300 IN PTR mail6.example.com.",
		"mail6.example.com. 300 IN AAAA 2001:db8:1::7",
	)
	srv.Behave("10.113.0.203.in-addr.arpa", dnstest.Behaviour{Rcode: mdns.RcodeServerFailure})
	srv.Behave("broken.example.com", dnstest.Behaviour{Rcode: mdns.RcodeServerFailure})
	// 203.0.113.13: seven names; only the last confirms, beyond the cap.
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		srv.Add(t, "13.113.0.203.in-addr.arpa. 300 IN PTR "+n+".many.example.com.")
	}
	srv.Add(t, "g.many.example.com. 300 IN A 203.0.113.13")
	return srv
}

func reverse(t *testing.T, ip string) string {
	arpa, err := mdns.ReverseAddr(ip)
	if err != nil {
		t.Fatal(err)
	}
	return arpa
}

func TestFCrDNS(t *testing.T) {
	srv := zone(t)
	r := newResolver(t, srv)
	tests := []struct {
		name          string
		ip            string
		want          Status
		wantConfirmed string
		wantErr       bool
	}{
		{"confirmed", "203.0.113.7", StatusPass, "mail.example.com", false},
		{"IPv4-mapped client confirmed", "::ffff:203.0.113.7", StatusPass, "mail.example.com", false},
		{"IPv6 confirmed by AAAA", "2001:db8:1::7", StatusPass, "mail6.example.com", false},
		{"no PTR", "203.0.113.200", StatusNone, "", false},
		{"PTR name points elsewhere", "203.0.113.8", StatusMismatch, "", false},
		{"PTR name does not exist", "203.0.113.9", StatusMismatch, "", false},
		{"PTR lookup fails: no verdict", "203.0.113.10", StatusNone, "", true},
		{"one name fails, another confirms", "203.0.113.11", StatusPass, "good11.example.com", false},
		{"only name fails: no verdict", "203.0.113.12", StatusMismatch, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := FCrDNS(context.Background(), r, netip.MustParseAddr(tt.ip), 0)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if res.Status != tt.want || res.Confirmed != tt.wantConfirmed {
				t.Errorf("got %v %q, want %v %q", res.Status, res.Confirmed, tt.want, tt.wantConfirmed)
			}
		})
	}
}

func TestFCrDNSFollowsAtMostMaxNames(t *testing.T) {
	srv := zone(t)
	r := newResolver(t, srv)
	res, err := FCrDNS(context.Background(), r, netip.MustParseAddr("203.0.113.13"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusMismatch {
		t.Errorf("status %v: the confirming 7th name should be beyond the cap", res.Status)
	}
	if n := srv.QueriesUnder("many.example.com"); n != 2*DefaultMaxNames { // A and AAAA each
		t.Errorf("%d forward queries, want %d", n, 2*DefaultMaxNames)
	}
}

func TestRDNSCheckSymbols(t *testing.T) {
	srv := zone(t)
	c, err := NewRDNS(Options{Resolver: newResolver(t, srv)})
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultScores()
	tests := []struct {
		name       string
		in         scoring.Input
		wantSym    string
		wantScore  float64
		wantDetail string
		wantErr    bool
	}{
		{"confirmed: no symbol", scoring.Input{ClientIP: netip.MustParseAddr("203.0.113.7")}, "", 0, "", false},
		{"no PTR", scoring.Input{ClientIP: netip.MustParseAddr("203.0.113.200")}, SymRDNSNone, def[SymRDNSNone], "203.0.113.200 has no reverse DNS", false},
		{"mismatch names the PTR", scoring.Input{ClientIP: netip.MustParseAddr("203.0.113.8")}, SymRDNSMismatch, def[SymRDNSMismatch], "liar.example.com of 203.0.113.8", false},
		{"failure is an error with a zero-score symbol", scoring.Input{ClientIP: netip.MustParseAddr("203.0.113.10")}, SymRDNSTempfail, 0, "could not be checked", true},
		{"trusted relay skipped", scoring.Input{ClientIP: netip.MustParseAddr("198.51.100.1"), Facts: scoring.Facts{Relayed: true}}, "", 0, "", false},
		{"authenticated user skipped", scoring.Input{ClientIP: netip.MustParseAddr("203.0.113.200"), Facts: scoring.Facts{AuthUser: "alice"}}, "", 0, "", false},
		{"private address skipped", scoring.Input{ClientIP: netip.MustParseAddr("192.168.1.5")}, "", 0, "", false},
		{"loopback skipped", scoring.Input{ClientIP: netip.MustParseAddr("127.0.0.1")}, "", 0, "", false},
		{"offline (no IP) skipped", scoring.Input{}, "", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := c.Run(context.Background(), &tt.in)
			checkOne(t, res, tt.wantSym, tt.wantScore, tt.wantDetail)
			if (res.Err != nil) != tt.wantErr {
				t.Errorf("Err = %v, wantErr %v", res.Err, tt.wantErr)
			}
		})
	}
}

func TestRDNSJudgeOnHopNamesTheHop(t *testing.T) {
	srv := zone(t)
	c, err := NewRDNS(Options{Resolver: newResolver(t, srv)})
	if err != nil {
		t.Fatal(err)
	}
	res := c.Judge(context.Background(), netip.MustParseAddr("203.0.113.200"), "first untrusted hop, via trusted relay 127.0.0.1")
	checkOne(t, res, HopPrefix+SymRDNSNone, DefaultScores()[SymRDNSNone], "203.0.113.200 (first untrusted hop, via trusted relay 127.0.0.1) has no reverse DNS")
}

func checkOne(t *testing.T, res scoring.Result, name string, score float64, detail string) {
	t.Helper()
	if name == "" {
		if len(res.Symbols) != 0 {
			t.Errorf("want no symbol, got %+v", res.Symbols)
		}
		return
	}
	if len(res.Symbols) != 1 {
		t.Fatalf("want one symbol %s, got %+v", name, res.Symbols)
	}
	s := res.Symbols[0]
	if s.Name != name || s.Score != score || !strings.Contains(s.Detail, detail) {
		t.Errorf("got %s %.1f %q; want %s %.1f containing %q", s.Name, s.Score, s.Detail, name, score, detail)
	}
}

func TestHELOCheckSymbols(t *testing.T) {
	srv := zone(t)
	srv.Behave("slow.example.com", dnstest.Behaviour{Rcode: mdns.RcodeServerFailure})
	c, err := NewHELO(Options{
		Resolver: newResolver(t, srv),
		OurNames: []string{"MX.Example.org."},
		OurIPs:   []netip.Addr{netip.MustParseAddr("192.0.2.25"), netip.MustParseAddr("2001:db8:25::25")},
	})
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultScores()
	client := netip.MustParseAddr("203.0.113.50")
	tests := []struct {
		name       string
		helo       string
		wantSym    string
		wantScore  float64
		wantDetail string
		wantErr    bool
	}{
		{"resolving FQDN: no symbol", "mail.example.com", "", 0, "", false},
		{"trailing dot and case ignored", "Mail.Example.COM.", "", 0, "", false},
		{"address literal allowed", "[203.0.113.50]", "", 0, "", false},
		{"IPv6 address literal allowed", "[IPv6:2001:db8::50]", "", 0, "", false},
		{"bare IPv4", "203.0.113.50", SymHeloBareIP, def[SymHeloBareIP], "HELO 203.0.113.50 is a bare IP address", false},
		{"bare IPv6", "2001:db8::50", SymHeloBareIP, def[SymHeloBareIP], "bare IP", false},
		{"single label", "WIN-4ABC123", SymHeloNotFQDN, def[SymHeloNotFQDN], "HELO WIN-4ABC123 is not a fully qualified domain name from 203.0.113.50", false},
		{"localhost", "localhost", SymHeloNotFQDN, def[SymHeloNotFQDN], "not a fully qualified", false},
		{"local-only suffix", "router.lan", SymHeloNotFQDN, def[SymHeloNotFQDN], "not a fully qualified", false},
		{"numeric TLD", "host.123", SymHeloNotFQDN, def[SymHeloNotFQDN], "not a fully qualified", false},
		{"our name", "mx.example.org", SymHeloOurs, def[SymHeloOurs], "claims to be this server", false},
		{"our IP bare", "192.0.2.25", SymHeloOurs, def[SymHeloOurs], "claims to be this server", false},
		{"our IP literal", "[192.0.2.25]", SymHeloOurs, def[SymHeloOurs], "claims to be this server", false},
		{"our IPv6 literal", "[IPv6:2001:db8:25::25]", SymHeloOurs, def[SymHeloOurs], "claims to be this server", false},
		{"does not resolve", "nonexistent.example.com", SymHeloNoResolve, def[SymHeloNoResolve], "does not resolve", false},
		{"resolver failure", "slow.example.com", SymHeloTempfail, 0, "could not be resolved", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := c.Run(context.Background(), &scoring.Input{ClientIP: client, Helo: tt.helo})
			checkOne(t, res, tt.wantSym, tt.wantScore, tt.wantDetail)
			if (res.Err != nil) != tt.wantErr {
				t.Errorf("Err = %v, wantErr %v", res.Err, tt.wantErr)
			}
		})
	}
}

func TestHELOCheckSkips(t *testing.T) {
	srv := zone(t)
	c, err := NewHELO(Options{Resolver: newResolver(t, srv)})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []scoring.Input{
		{ClientIP: netip.MustParseAddr("127.0.0.1"), Helo: "localhost"},
		{ClientIP: netip.MustParseAddr("203.0.113.5"), Helo: "localhost", Facts: scoring.Facts{AuthUser: "bob"}},
		{ClientIP: netip.MustParseAddr("203.0.113.5"), Helo: ""},
		{ClientIP: netip.MustParseAddr("192.168.1.20"), Helo: "localhost"},
		{Helo: "localhost"},
	} {
		if res := c.Run(context.Background(), &in); len(res.Symbols) != 0 {
			t.Errorf("%+v: got %+v", in, res.Symbols)
		}
	}
	if srv.Queries() != 0 {
		t.Errorf("skipped checks sent %d queries", srv.Queries())
	}
}

func TestOptionsValidated(t *testing.T) {
	if _, err := NewRDNS(Options{}); err == nil {
		t.Error("NewRDNS without resolver accepted")
	}
	r := newResolver(t, dnstest.NewServer(t))
	if _, err := NewHELO(Options{Resolver: r, OurNames: []string{" "}}); err == nil {
		t.Error("empty our name accepted")
	}
	if _, err := NewRDNS(Options{Resolver: r, MaxNames: -1}); err == nil {
		t.Error("negative max names accepted")
	}
	c, err := NewRDNS(Options{Resolver: r, Scores: map[string]float64{SymRDNSNone: 3}})
	if err != nil || c.scores[SymRDNSNone] != 3 || c.scores[SymRDNSMismatch] != DefaultScores()[SymRDNSMismatch] {
		t.Errorf("custom scores not used: %v %+v", err, c)
	}
	if _, err := NewHELO(Options{Resolver: r, Scores: map[string]float64{"RDNS_NOEN": 3}}); err == nil || !strings.Contains(err.Error(), "RDNS_NOEN") {
		t.Errorf("unknown symbol accepted: %v", err)
	}
}
