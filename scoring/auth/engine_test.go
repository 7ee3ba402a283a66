package auth

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"relayguard/rules/message"
	"relayguard/scoring"
)

// forwardZone: example.com sends from 192.0.2.0/24 and publishes
// DMARC p=reject; our upstream forwards from 198.51.100.7, which no sender
// domain lists, except partner.example which includes the forwarder.
func forwardZone() *fakeDNS {
	f := newFakeDNS()
	f.TXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	f.TXT("_dmarc.example.com", "v=DMARC1; p=reject")
	f.TXT("quar.example", "v=spf1 ip4:192.0.2.0/24 -all")
	f.TXT("_dmarc.quar.example", "v=DMARC1; p=quarantine")
	f.TXT("half.example", "v=spf1 ip4:192.0.2.0/24 -all")
	f.TXT("_dmarc.half.example", "v=DMARC1; p=reject; pct=50")
	f.TXT("watch.example", "v=spf1 ip4:192.0.2.0/24 -all")
	f.TXT("_dmarc.watch.example", "v=DMARC1; p=none")
	f.TXT("soft.example", "v=spf1 ip4:192.0.2.0/24 ~all")
	f.TXT("_dmarc.soft.example", "v=DMARC1; p=reject")
	f.TXT("partner.example", "v=spf1 ip4:192.0.2.0/24 include:fwd.relay.example -all")
	f.TXT("_dmarc.partner.example", "v=DMARC1; p=reject")
	f.TXT("fwd.relay.example", "v=spf1 ip4:198.51.100.0/24 -all")
	return f
}

var egressIP = netip.MustParseAddr("198.51.100.7")

// score runs checks through the real engine, as the daemon does.
func score(t *testing.T, checks []scoring.Check, conn scoring.Conn, from string, msg *message.Message) scoring.Verdict {
	t.Helper()
	return scoreTrusting(t, nil, checks, conn, from, msg)
}

func scoreTrusting(t *testing.T, trust scoring.Trust, checks []scoring.Check, conn scoring.Conn, from string, msg *message.Message) scoring.Verdict {
	t.Helper()
	e, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second, Trust: trust, Checks: checks})
	if err != nil {
		t.Fatal(err)
	}
	return e.Score(conn, from, []string{"bob@example.net"}, msg)
}

// testTrust is the access policy of these tests: relay trusted, office
// on our relay networks.
type testTrust struct{ relay, office netip.Addr }

func (p testTrust) Trusted(ip netip.Addr) bool { return ip == p.relay }
func (p testTrust) MayRelay(ip netip.Addr, auth bool) bool {
	return auth || ip == p.relay || ip == p.office
}

func TestEgress(t *testing.T) {
	f := forwardZone()
	signer := newEd25519Signer(t, f, "example.com", "ed")
	fromOK := scoring.Conn{ClientIP: netip.MustParseAddr("192.0.2.10"), Helo: "mail.example.com"}
	tests := []struct {
		name   string
		conn   scoring.Conn
		sender string
		from   string
		sign   bool
		want   []string // FORWARD_ symbols
	}{
		{name: "SPF-only p=reject mail breaks when forwarded", conn: fromOK, sender: "alice@example.com", from: "alice@example.com",
			want: []string{SymForwardSPFFail, SymForwardDMARCReject}},
		{name: "aligned DKIM survives forwarding", conn: fromOK, sender: "alice@example.com", from: "alice@example.com", sign: true,
			want: []string{SymForwardSPFFail}},
		{name: "p=quarantine", conn: fromOK, sender: "a@quar.example", from: "a@quar.example",
			want: []string{SymForwardSPFFail, SymForwardDMARCQuarantine}},
		{name: "p=reject at pct=50 may only be junked", conn: fromOK, sender: "a@half.example", from: "a@half.example",
			want: []string{SymForwardSPFFail, SymForwardDMARCQuarantine}},
		{name: "p=none: only SPF", conn: fromOK, sender: "a@watch.example", from: "a@watch.example",
			want: []string{SymForwardSPFFail}},
		{name: "~all: softfail there is no refusal, but DMARC still fails", conn: fromOK, sender: "a@soft.example", from: "a@soft.example",
			want: []string{SymForwardDMARCReject}},
		{name: "sender lists the forwarder", conn: fromOK, sender: "a@partner.example", from: "a@partner.example"},
		{name: "already failing here: the dmarc check counts it", conn: scoring.Conn{ClientIP: netip.MustParseAddr("203.0.113.9")},
			sender: "alice@example.com", from: "alice@example.com"},
		{name: "null sender passing by HELO cannot pass there", conn: fromOK, sender: "", from: "mailer-daemon@example.com",
			want: []string{SymForwardDMARCReject}},
	}
	f.TXT("mail.example.com", "v=spf1 ip4:192.0.2.10 -all")
	checks, err := New(Options{Resolver: f, EgressIPs: []netip.Addr{egressIP}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := rawMessage([]string{"From: " + tc.from, "Subject: hi", "Message-ID: <m1@x>"}, "hello\n")
			if tc.sign {
				raw = signer.sign(t, raw)
			}
			v := score(t, checks, tc.conn, tc.sender, parse(raw))
			var got []string
			for _, s := range v.Symbols {
				if strings.HasPrefix(s.Name, "FORWARD_") {
					got = append(got, s.Name)
					if !strings.Contains(s.Detail, egressIP.String()) {
						t.Errorf("%s detail does not name the egress IP: %q", s.Name, s.Detail)
					}
				}
			}
			slices.Sort(got)
			slices.Sort(tc.want)
			if !slices.Equal(got, tc.want) {
				t.Errorf("forward symbols %v, want %v (all: %s)", got, tc.want, v.LogSymbols())
			}
		})
	}
}

// Our users' outbound mail: SPF and DMARC are the receiver's to judge, so
// they are not evaluated here (a p=reject domain's own users would
// otherwise be rejected), but the egress check predicts the receiver.
func TestOutbound(t *testing.T) {
	f := forwardZone()
	signer := newEd25519Signer(t, f, "example.com", "ed")
	office := netip.MustParseAddr("10.1.0.0")
	checks, err := New(Options{Resolver: f, EgressIPs: []netip.Addr{egressIP}})
	if err != nil {
		t.Fatal(err)
	}
	home := scoring.Conn{ClientIP: netip.MustParseAddr("203.0.113.50"), AuthUser: "alice"}
	tests := []struct {
		name   string
		conn   scoring.Conn
		sender string
		sign   bool
		want   []string
	}{
		{name: "authenticated, unsigned", conn: home, sender: "alice@example.com",
			want: []string{SymDKIMNone, SymForwardDMARCReject, SymForwardSPFFail}},
		{name: "authenticated, signed", conn: home, sender: "alice@example.com", sign: true,
			want: []string{SymDKIMValid, SymForwardSPFFail}},
		{name: "office on our relay networks", conn: scoring.Conn{ClientIP: office}, sender: "alice@example.com", sign: true,
			want: []string{SymDKIMValid, SymForwardSPFFail}},
		{name: "sender domain lists the egress IP", conn: home, sender: "alice@partner.example",
			want: []string{SymDKIMNone}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := tc.sender
			raw := rawMessage([]string{"From: " + from, "Message-ID: <o@x>"}, "hi\n")
			if tc.sign {
				raw = signer.sign(t, raw)
			}
			v := scoreTrusting(t, testTrust{office: office}, checks, tc.conn, tc.sender, parse(raw))
			got := symbolNames(v.Symbols)
			slices.Sort(got)
			slices.Sort(tc.want)
			if !slices.Equal(got, tc.want) {
				t.Errorf("symbols %v, want %v", got, tc.want)
			}
			for _, r := range v.Auth {
				switch r.(type) {
				case *authres.SPFResult, *authres.DMARCResult:
					t.Errorf("outbound mail got %T", r)
				}
			}
		})
	}
}

func TestEgressDetailIsPlain(t *testing.T) {
	f := forwardZone()
	checks, err := New(Options{Resolver: f, EgressIPs: []netip.Addr{egressIP}})
	if err != nil {
		t.Fatal(err)
	}
	raw := rawMessage([]string{"From: alice@example.com", "Message-ID: <m1@x>"}, "hello\n")
	v := score(t, checks, scoring.Conn{ClientIP: netip.MustParseAddr("192.0.2.10")}, "alice@example.com", parse(raw))
	s, ok := findSymbol(v.Symbols, SymForwardDMARCReject)
	if !ok {
		t.Fatalf("no %s in %s", SymForwardDMARCReject, v.LogSymbols())
	}
	for _, want := range []string{"example.com", "p=reject", "198.51.100.7", "refuse", "DKIM-sign", "SRS"} {
		if !strings.Contains(s.Detail, want) {
			t.Errorf("detail %q lacks %q", s.Detail, want)
		}
	}
	s, _ = findSymbol(v.Symbols, SymForwardSPFFail)
	if !strings.Contains(s.Detail, "SRS") {
		t.Errorf("detail %q does not suggest SRS", s.Detail)
	}
}

// The whole path through the engine: symbols and Authentication-Results
// of a spoofed and of a genuine message.
func TestEngineEndToEnd(t *testing.T) {
	f := forwardZone()
	signer := newEd25519Signer(t, f, "example.com", "ed")
	checks, err := New(Options{Resolver: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 4 {
		t.Fatalf("%d checks without egress IPs, want 4 (spf, spf_hop, dkim, dmarc)", len(checks))
	}

	genuine := signer.sign(t, rawMessage([]string{"From: Alice <alice@example.com>", "Message-ID: <g@x>"}, "hi\n"))
	v := score(t, checks, scoring.Conn{ClientIP: netip.MustParseAddr("192.0.2.10"), Helo: "mail.example.com"}, "alice@example.com", parse(genuine))
	if got := v.LogSymbols(); v.Action != scoring.ActionAccept || !strings.Contains(got, "DMARC_PASS") || !strings.Contains(got, "DKIM_VALID") || !strings.Contains(got, "SPF_PASS") {
		t.Errorf("genuine: %s %s", v.Action, got)
	}
	h := FormatHeader("mx.example.net", v.Auth)
	for _, want := range []string{"spf=pass smtp.mailfrom=alice@example.com", "dkim=pass header.d=example.com", "dmarc=pass header.from=example.com"} {
		if !strings.Contains(h, want) {
			t.Errorf("header %q lacks %q", h, want)
		}
	}

	// A spoof from an unlisted IP: SPF fail (2) + DMARC p=reject (13)
	// reaches the reject threshold of 15.
	spoof := rawMessage([]string{"From: Alice <alice@example.com>", "Message-ID: <s@x>"}, "pay now\n")
	v = score(t, checks, scoring.Conn{ClientIP: netip.MustParseAddr("203.0.113.9"), Helo: "203.0.113.9"}, "alice@example.com", parse(spoof))
	if v.Action != scoring.ActionReject || v.Score != 15 {
		t.Errorf("spoof: %s %.1f %s", v.Action, v.Score, v.LogSymbols())
	}
	var dmarcRes *authres.DMARCResult
	for _, r := range v.Auth {
		if d, ok := r.(*authres.DMARCResult); ok {
			dmarcRes = d
		}
	}
	if dmarcRes == nil || dmarcRes.Value != authres.ResultFail || dmarcRes.From != "example.com" {
		t.Errorf("dmarc authres %+v", dmarcRes)
	}

	// The same spoof sent with an envelope sender of the spammer's own
	// (SPF passes, unaligned) is marked as spam, not rejected on DMARC alone.
	f.TXT("spammer.example", "v=spf1 ip4:203.0.113.0/24 -all")
	v = score(t, checks, scoring.Conn{ClientIP: netip.MustParseAddr("203.0.113.9")}, "x@spammer.example", parse(spoof))
	if v.Action != scoring.ActionAddHeader {
		t.Errorf("unaligned spoof: %s %.1f %s", v.Action, v.Score, v.LogSymbols())
	}
}

// A trusted relay's connection: SPF is not judged on the relay's IP but
// on the original hop, at end of DATA, and DMARC aligns that result.
func TestTrustedRelay(t *testing.T) {
	f := forwardZone()
	relay := netip.MustParseAddr("10.0.0.2")
	hop := netip.MustParseAddr("192.0.2.10")
	checks, err := New(Options{Resolver: f, EgressIPs: []netip.Addr{egressIP}})
	if err != nil {
		t.Fatal(err)
	}
	trust := testTrust{relay: relay}
	received := "Received: from mail.example.com (mail.example.com [" + hop.String() + "])\n" +
		"\tby relay.internal with esmtps id 1abc; Tue, 03 Jun 2025 10:00:00 +0000"
	raw := rawMessage([]string{received, "From: alice@example.com", "Message-ID: <r@x>"}, "hi\n")
	before := f.count("TXT", "example.com")
	v := scoreTrusting(t, trust, checks, scoring.Conn{ClientIP: relay, Helo: "relay.internal"}, "alice@example.com", parse(raw))
	if !hasSymbol(v, SymSPFPass) || !hasSymbol(v, SymDMARCPass) || hasSymbol(v, SymSPFFail) {
		t.Errorf("relayed genuine mail: %s", v.LogSymbols())
	}
	n := 0
	for _, r := range v.Auth {
		if _, ok := r.(*authres.SPFResult); ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d spf results, want 1", n)
	}
	// SPF for the hop is evaluated once, by spf_hop, and read by DMARC and
	// the egress prediction alike; the prediction's own evaluation from
	// the egress IP is the second (the fake counts what the checks ask,
	// with no cache in between).
	if n := f.count("TXT", "example.com") - before; n != 2 {
		t.Errorf("the SPF record was asked %d times for one message, want 2 (the hop once, the egress IP once)", n)
	}

	// Without an untrusted hop the message never left the relay's hands
	// (a local submission there): our users' mail, so SPF and DMARC are
	// the next hop's to judge, and the egress check predicts them.
	raw = rawMessage([]string{"From: alice@example.com", "Message-ID: <r@x>"}, "hi\n")
	v = scoreTrusting(t, trust, checks, scoring.Conn{ClientIP: relay}, "alice@example.com", parse(raw))
	if hasSymbol(v, SymSPFPass) || hasSymbol(v, SymSPFFail) || hasSymbol(v, SymDMARCReject) || !hasSymbol(v, SymForwardDMARCReject) {
		t.Errorf("relayed mail without hop: %s", v.LogSymbols())
	}
}

func TestOptions(t *testing.T) {
	f := newFakeDNS()
	tooMany := make([]netip.Addr, maxEgressIPs+1)
	for i := range tooMany {
		tooMany[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})
	}
	for name, opts := range map[string]Options{
		"no resolver":         {},
		"unknown score":       {Resolver: f, Scores: map[string]float64{"DMARC_REJCT": 15}},
		"negative signatures": {Resolver: f, MaxDKIMSignatures: -1},
		"too many signatures": {Resolver: f, MaxDKIMSignatures: 21},
		"too many egress IPs": {Resolver: f, EgressIPs: tooMany},
		"invalid egress IP":   {Resolver: f, EgressIPs: []netip.Addr{{}}},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	a, err := NewAuth(Options{Resolver: f, Scores: map[string]float64{SymDMARCReject: 15}})
	if err != nil {
		t.Fatal(err)
	}
	if s := a.sym(SymDMARCReject, ""); s.Score != 15 {
		t.Errorf("override ignored: %v", s.Score)
	}
	if DefaultScores()[SymDMARCReject] != 13 {
		t.Error("override leaked into the defaults")
	}
}

func hasSymbol(v scoring.Verdict, name string) bool {
	return slices.Contains(symbolNames(v.Symbols), name)
}
