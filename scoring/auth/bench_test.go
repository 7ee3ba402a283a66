package auth

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"relayguard/scoring"
)

// bigBody is a 50 KB body, a typical newsletter.
var bigBody = strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n", 700)

func BenchmarkDKIMVerifyRSA(b *testing.B) {
	f := newFakeDNS()
	s := newRSASigner(b, f, "example.com", "rsa")
	raw := s.sign(b, rawMessage(testHeader, bigBody))
	a := newTestAuth(b, f, Options{})
	msg := parse(raw)
	in := &scoring.Input{Message: msg}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		res := a.runDKIM(testCtx(b), in)
		if res.Symbols[0].Name != SymDKIMValid {
			b.Fatal(res.Symbols)
		}
	}
}

// BenchmarkAllChecks scores one genuine forwarded message through the
// engine with every check, egress included: the per-message cost of this
// package with DNS answered from memory.
func BenchmarkAllChecks(b *testing.B) {
	f := forwardZone()
	s := newRSASigner(b, f, "example.com", "rsa")
	raw := s.sign(b, rawMessage(testHeader, bigBody))
	checks, err := New(Options{Resolver: f, EgressIPs: []netip.Addr{egressIP}})
	if err != nil {
		b.Fatal(err)
	}
	e, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second, Checks: checks})
	if err != nil {
		b.Fatal(err)
	}
	msg := parse(raw)
	conn := scoring.Conn{ClientIP: netip.MustParseAddr("192.0.2.10"), Helo: "mail.example.com"}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		v := e.Score(conn, "alice@example.com", []string{"bob@example.net"}, msg)
		if _, ok := findSymbol(v.Symbols, SymDMARCPass); !ok {
			b.Fatal(v.LogSymbols())
		}
	}
	b.ReportMetric(float64(f.Queries())/float64(b.N), "lookups/op")
}

// BenchmarkAllChecksDNSLatency is BenchmarkAllChecks with every lookup
// taking 10ms and no cache: the wall time is the longest chain of
// dependent lookups, not their sum.
func BenchmarkAllChecksDNSLatency(b *testing.B) {
	f := forwardZone()
	f.TXT("mail.example.com", "v=spf1 ip4:192.0.2.10 -all")
	s := newRSASigner(b, f, "example.com", "rsa")
	raw := s.sign(b, rawMessage(testHeader, bigBody))
	f.delay = 10 * time.Millisecond
	checks, err := New(Options{Resolver: f, EgressIPs: []netip.Addr{egressIP}})
	if err != nil {
		b.Fatal(err)
	}
	e, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second, Checks: checks})
	if err != nil {
		b.Fatal(err)
	}
	msg := parse(raw)
	conn := scoring.Conn{ClientIP: netip.MustParseAddr("192.0.2.10"), Helo: "mail.example.com"}
	for b.Loop() {
		v := e.Score(conn, "alice@example.com", []string{"bob@example.net"}, msg)
		if _, ok := findSymbol(v.Symbols, SymDMARCPass); !ok {
			b.Fatal(v.LogSymbols())
		}
	}
	b.ReportMetric(float64(f.Queries())/float64(b.N), "lookups/op")
}

// Hostile messages must not panic any check (the engine would recover, but
// the message would lose its authentication results).
func FuzzChecksOnMessage(f *testing.F) {
	f.Add([]byte("From: a@example.com\r\nDKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=; b=\r\n\r\nbody\r\n"))
	f.Add([]byte("From: <a@example.com\r\nFrom: b@x.example\r\n\r\n"))
	f.Add([]byte("DKIM-Signature: v=1\r\n"))
	f.Add([]byte(""))
	zone := forwardZone()
	a := newTestAuth(f, zone, Options{EgressIPs: []netip.Addr{egressIP}})
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := &scoring.Input{ClientIP: netip.MustParseAddr("192.0.2.10"), From: "a@example.com", Message: parse(raw)}
		for _, run := range []func() scoring.Result{
			func() scoring.Result { return a.runDKIM(testCtx(t), in) },
			func() scoring.Result { return a.runDMARC(testCtx(t), in) },
			func() scoring.Result { return a.runEgress(testCtx(t), in) },
		} {
			for _, s := range run().Symbols {
				if strings.ContainsAny(s.Detail, "\r\n") {
					t.Fatalf("%s detail has a line break: %q", s.Name, s.Detail)
				}
			}
		}
	})
}
