package trace

import (
	"bufio"
	"net/netip"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
)

func header(t *testing.T, fields ...string) textproto.Header {
	t.Helper()
	raw := strings.Join(fields, "\r\n") + "\r\n\r\n"
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func prefixes(ps ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

const (
	// What our trusted Exim forwarder (127.0.0.1, 10.0.0.0/8) writes on
	// mail it took from the outside world.
	eximFromSpammer = "Received: from host7.isp.example ([203.0.113.7] helo=mail.example.com)\r\n" +
		"\tby forwarder.example.net with esmtp (Exim 4.96)\r\n\t(envelope-from <spam@example.com>)\r\n" +
		"\tid 1uM-0001; Tue, 03 Jun 2025 10:00:00 +0000"
	eximFromSpammer6 = "Received: from [2001:db8:bad::7] (helo=mail6.example.com)\r\n" +
		"\tby forwarder.example.net with esmtp (Exim 4.96) id 1uM-0002; Tue, 03 Jun 2025 10:00:00 +0000"
	postfixInternal = "Received: from relay1.corp.example (relay1.corp.example [10.0.0.5])\r\n" +
		"\tby forwarder.example.net (Postfix) with ESMTP id 4AB; Tue, 03 Jun 2025 10:00:05 +0000 (UTC)"
	postfixFromSpammer = "Received: from mail.example.com (unknown [198.51.100.23])\r\n" +
		"\tby relay1.corp.example (Postfix) with ESMTP id 4AA; Tue, 03 Jun 2025 10:00:01 +0000 (UTC)"
	forged = "Received: from innocent.example ([192.0.2.1] helo=innocent.example) by mx.innocent.example with esmtp; Tue, 03 Jun 2025 09:00:00 +0000"
	local  = "Received: from alice by forwarder.example.net with local (Exim 4.96) id 1uM-0003; Tue, 03 Jun 2025 10:00:00 +0000"
	broken = "Received: by nowhere with nothing"
	other  = "Subject: hello"
)

func TestOriginalHopBelievesOnlyTrustedRelays(t *testing.T) {
	tests := []struct {
		name    string
		fields  []string
		trusted []netip.Prefix
		client  string
		wantOK  bool
		wantIP  string
		wantVia string
		helo    string
	}{
		{"no trusted relays: nothing believed", []string{eximFromSpammer}, nil, "127.0.0.1", false, "", "", ""},
		{"client not trusted: nothing believed", []string{eximFromSpammer}, prefixes("127.0.0.0/8"), "198.51.100.99", false, "", "", ""},
		{"trusted forwarder: its client is the original hop", []string{other, eximFromSpammer, forged}, prefixes("127.0.0.0/8"), "127.0.0.1", true, "203.0.113.7", "127.0.0.1", "mail.example.com"},
		{"IPv6 hop", []string{eximFromSpammer6}, prefixes("127.0.0.0/8"), "127.0.0.1", true, "2001:db8:bad::7", "127.0.0.1", "mail6.example.com"},
		{"IPv6 trusted relay, IPv4-mapped client", []string{eximFromSpammer}, prefixes("2001:db8:ffff::/48", "127.0.0.0/8"), "::ffff:127.0.0.1", true, "203.0.113.7", "127.0.0.1", "mail.example.com"},
		{"chain of trusted relays skipped", []string{postfixInternal, postfixFromSpammer, forged}, prefixes("127.0.0.0/8", "10.0.0.0/8"), "127.0.0.1", true, "198.51.100.23", "10.0.0.5", "mail.example.com"},
		{"internal hop not trusted stops there", []string{postfixInternal, postfixFromSpammer}, prefixes("127.0.0.0/8"), "127.0.0.1", true, "10.0.0.5", "127.0.0.1", "relay1.corp.example"},
		{"unreadable field stops the walk", []string{broken, eximFromSpammer}, prefixes("127.0.0.0/8"), "127.0.0.1", false, "", "", ""},
		{"local submission: never left trusted hands", []string{local}, prefixes("127.0.0.0/8"), "127.0.0.1", false, "", "", ""},
		{"no Received at all", []string{other}, prefixes("127.0.0.0/8"), "127.0.0.1", false, "", "", ""},
		{"every hop trusted", []string{postfixInternal}, prefixes("127.0.0.0/8", "10.0.0.0/8"), "127.0.0.1", false, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := header(t, tt.fields...)
			hop, ok := OriginalHop(h, in(tt.trusted), netip.MustParseAddr(tt.client))
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v (hop %+v)", ok, tt.wantOK, hop)
			}
			if !ok {
				return
			}
			if hop.IP.String() != tt.wantIP || hop.Via.String() != tt.wantVia || hop.Helo != tt.helo {
				t.Errorf("hop %v via %v helo %q; want %s via %s helo %q", hop.IP, hop.Via, hop.Helo, tt.wantIP, tt.wantVia, tt.helo)
			}
		})
	}
}

func TestOriginalHopStopsAfterMaxHops(t *testing.T) {
	var fields []string
	for range maxHops {
		fields = append(fields, postfixInternal)
	}
	fields = append(fields, postfixFromSpammer)
	h := header(t, fields...)
	if hop, ok := OriginalHop(h, in(prefixes("127.0.0.0/8", "10.0.0.0/8")), netip.MustParseAddr("127.0.0.1")); ok {
		t.Errorf("walked past %d hops to %v", maxHops, hop.IP)
	}
}

// in is the trust predicate of a prefix list, as access.Policy.Trusted is.
func in(prefixes []netip.Prefix) func(netip.Addr) bool {
	return func(ip netip.Addr) bool {
		for _, p := range prefixes {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
}
