package received

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"relayguard/rules/message"
	"relayguard/scoring"
	"relayguard/scoring/dns"
	"relayguard/scoring/dns/dnstest"
	"relayguard/scoring/dnsbl"
	"relayguard/scoring/rdns"
)

func TestHopCheckJudgesTheOriginalSender(t *testing.T) {
	srv := dnstest.NewServer(t)
	srv.Add(t,
		"7.113.0.203.bl.test. 300 IN A 127.0.0.2",
		"23.100.51.198.bl.test. 300 IN A 127.0.0.10", // policy listing only
		// The forwarder itself is listed: it must not matter.
		"1.0.0.127.bl.test. 300 IN A 127.0.0.2",
	)
	r, err := dns.New(dns.Options{Servers: []string{srv.Addr}, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	bl, err := dnsbl.NewIPCheck(dnsbl.Config{Resolver: r, DNSBL: []dnsbl.List{{
		Zone: "bl.test", Name: "ZEN", Weight: 6, Codes: map[string]float64{"127.0.0.10": 3}, Policy: []string{"127.0.0.10"}}}})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := rdns.NewRDNS(rdns.Options{Resolver: r})
	if err != nil {
		t.Fatal(err)
	}
	helo, err := rdns.NewHELO(rdns.Options{Resolver: r})
	if err != nil {
		t.Fatal(err)
	}
	c := NewHopCheck(HopOptions{DNSBL: bl, RDNS: rd, HELO: helo})
	e, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second,
		Trust: prefixTrust(trusted), Checks: []scoring.Check{c}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "received" || c.Phase() != scoring.PhaseData {
		t.Errorf("check %s at %v", c.Name(), c.Phase())
	}

	exim := "Received: from [203.0.113.7] (helo=WIN-4ABC123)\r\n\tby forwarder.example.net with esmtp (Exim 4.96)\r\n\tid 1uM-0001; Tue, 03 Jun 2025 10:00:00 +0000\r\n"
	postfix := "Received: from relay1.corp.example (relay1.corp.example [10.0.0.5])\r\n\tby forwarder.example.net (Postfix) with ESMTP id 4AB\r\n" +
		"Received: from mail.example.com (unknown [198.51.100.23])\r\n\tby relay1.corp.example (Postfix) with ESMTP id 4AA\r\n"
	tests := []struct {
		name   string
		client string
		header string
		want   map[string]string // symbol → detail substring
		scores map[string]float64
	}{
		{"forwarded spam judged by its sender", "127.0.0.1", exim,
			map[string]string{
				"RCVD_DNSBL_ZEN":     "203.0.113.7 (first untrusted hop, via trusted relay 127.0.0.1) listed on bl.test (127.0.0.2)",
				"RCVD_RDNS_NONE":     "203.0.113.7 (first untrusted hop, via trusted relay 127.0.0.1) has no reverse DNS",
				"RCVD_HELO_NOT_FQDN": "HELO WIN-4ABC123 is not a fully qualified domain name from 203.0.113.7 (first untrusted hop",
			},
			map[string]float64{"RCVD_DNSBL_ZEN": 6, "RCVD_RDNS_NONE": rdns.DefaultScores()[rdns.SymRDNSNone], "RCVD_HELO_NOT_FQDN": rdns.DefaultScores()[rdns.SymHeloNotFQDN]}},
		{"through two trusted relays; policy listing weighs nothing", "127.0.0.1", postfix,
			map[string]string{
				"RCVD_DNSBL_ZEN":       "198.51.100.23 (first untrusted hop, via trusted relay 10.0.0.5)",
				"RCVD_RDNS_NONE":       "198.51.100.23",
				"RCVD_HELO_NO_RESOLVE": "HELO mail.example.com does not resolve",
			},
			map[string]float64{"RCVD_DNSBL_ZEN": 0, "RCVD_RDNS_NONE": rdns.DefaultScores()[rdns.SymRDNSNone], "RCVD_HELO_NO_RESOLVE": rdns.DefaultScores()[rdns.SymHeloNoResolve]}},
		{"untrusted client: its Received fields are not believed", "203.0.113.50", exim, nil, nil},
		{"customer's authenticated submission: only real listings count", "127.0.0.1",
			strings.Replace(exim, "with esmtp ", "with esmtpsa ", 1),
			map[string]string{"RCVD_DNSBL_ZEN": "203.0.113.7 (authenticated submission, via trusted relay 127.0.0.1) listed on bl.test"},
			map[string]float64{"RCVD_DNSBL_ZEN": 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.header + "Subject: hi\r\n\r\nbody\r\n")
			msg := message.ParseMessage(bytes.NewReader(raw), int64(len(raw)))
			// The engine finds the hop from the Received fields (Facts).
			v := e.Score(scoring.Conn{ClientIP: netip.MustParseAddr(tt.client)}, "a@example.org", nil, msg)
			if len(v.Failed) != 0 {
				t.Errorf("failed: %v", v.Failed)
			}
			if len(v.Symbols) != len(tt.want) {
				t.Fatalf("got %+v, want %v", v.Symbols, tt.want)
			}
			for _, s := range v.Symbols {
				if !strings.Contains(s.Detail, tt.want[s.Name]) || s.Score != tt.scores[s.Name] {
					t.Errorf("%s %.1f %q; want %.1f containing %q", s.Name, s.Score, s.Detail, tt.scores[s.Name], tt.want[s.Name])
				}
			}
		})
	}
	if srv.QueriesFor("1.0.0.127.bl.test") != 0 {
		t.Error("the trusted forwarder itself was looked up")
	}
}

// prefixTrust trusts the prefixes, as access.Policy.Trusted does.
type prefixTrust []netip.Prefix

func (p prefixTrust) Trusted(ip netip.Addr) bool {
	return slices.ContainsFunc(p, func(n netip.Prefix) bool { return n.Contains(ip) })
}
func (p prefixTrust) MayRelay(ip netip.Addr, auth bool) bool { return auth }
