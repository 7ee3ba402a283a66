package auth

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"

	"relayguard/scoring"
)

// spfZone publishes the SPF policies the tests evaluate.
func spfZone() *fakeDNS {
	f := newFakeDNS()
	f.TXT("pass.example", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all", "google-site-verification=abc")
	f.TXT("soft.example", "v=spf1 ip4:192.0.2.1 ~all")
	f.TXT("neutral.example", "v=spf1 ?all")
	f.TXT("nospf.example", "some other record")
	f.Fail("broken.example")
	f.TXT("syntax.example", "v=spf1 ip4:192.0.2.1 frobnicate -all")
	f.TXT("two.example", "v=spf1 -all", "v=spf1 +all")
	f.TXT("mx.example", "v=spf1 mx -all").MX("mx.example", "in1.mx.example").A("in1.mx.example", "198.51.100.20")

	// RFC 7208 §4.6.4: 11 DNS-querying terms, one too many.
	var inc []string
	for i := 1; i <= 11; i++ {
		name := fmt.Sprintf("i%d.many.example", i)
		f.TXT(name, "v=spf1 ip4:10.0.0.1 -all")
		inc = append(inc, "include:"+name)
	}
	f.TXT("many.example", "v=spf1 "+strings.Join(inc, " ")+" -all")
	// Exactly 10 is allowed.
	f.TXT("ten.example", "v=spf1 "+strings.Join(inc[:10], " ")+" ip4:192.0.2.0/24 -all")
	// Three lookups with no answer, one more than the void limit of 2.
	f.TXT("void.example", "v=spf1 a:v1.void.example a:v2.void.example a:v3.void.example ip4:192.0.2.0/24 -all")

	f.TXT("mail.pass.example", "v=spf1 ip4:192.0.2.25 -all")
	f.TXT("helo.fail.example", "v=spf1 -all")
	return f
}

func TestSPFResults(t *testing.T) {
	tests := []struct {
		name     string
		ip       string
		helo     string
		sender   string
		want     spf.Result
		symbol   string
		score    float64
		authFrom string
		err      bool
	}{
		{name: "pass", ip: "192.0.2.7", sender: "a@pass.example", want: spf.Pass, symbol: SymSPFPass, score: -0.1, authFrom: "a@pass.example"},
		{name: "pass ipv6", ip: "2001:db8::25", sender: "a@pass.example", want: spf.Pass, symbol: SymSPFPass, score: -0.1},
		{name: "pass ipv4-mapped", ip: "::ffff:192.0.2.7", sender: "a@pass.example", want: spf.Pass, symbol: SymSPFPass, score: -0.1},
		{name: "domain case and trailing dot", ip: "192.0.2.7", sender: "a@PASS.Example.", want: spf.Pass, symbol: SymSPFPass, score: -0.1},
		{name: "fail", ip: "203.0.113.9", sender: "a@pass.example", want: spf.Fail, symbol: SymSPFFail, score: 2},
		{name: "softfail", ip: "203.0.113.9", sender: "a@soft.example", want: spf.SoftFail, symbol: SymSPFSoftFail, score: 1},
		{name: "neutral", ip: "203.0.113.9", sender: "a@neutral.example", want: spf.Neutral, symbol: SymSPFNeutral},
		{name: "none: no SPF among TXT", ip: "203.0.113.9", sender: "a@nospf.example", want: spf.None, symbol: SymSPFNone},
		{name: "none: NXDOMAIN", ip: "203.0.113.9", sender: "a@nowhere.example", want: spf.None, symbol: SymSPFNone},
		{name: "none: not a domain", ip: "203.0.113.9", sender: "root@localhost", want: spf.None, symbol: SymSPFNone},
		{name: "none: address literal", ip: "203.0.113.9", sender: "a@[192.0.2.1]", want: spf.None, symbol: SymSPFNone},
		{name: "temperror", ip: "203.0.113.9", sender: "a@broken.example", want: spf.TempError, symbol: SymSPFTempError, err: true},
		{name: "permerror: syntax", ip: "203.0.113.9", sender: "a@syntax.example", want: spf.PermError, symbol: SymSPFPermError},
		{name: "permerror: two records", ip: "203.0.113.9", sender: "a@two.example", want: spf.PermError, symbol: SymSPFPermError},
		{name: "permerror: 11 lookups", ip: "192.0.2.7", sender: "a@many.example", want: spf.PermError, symbol: SymSPFPermError},
		{name: "10 lookups are allowed", ip: "192.0.2.7", sender: "a@ten.example", want: spf.Pass, symbol: SymSPFPass, score: -0.1},
		{name: "permerror: 3 void lookups", ip: "192.0.2.7", sender: "a@void.example", want: spf.PermError, symbol: SymSPFPermError},
		{name: "mx mechanism", ip: "198.51.100.20", sender: "a@mx.example", want: spf.Pass, symbol: SymSPFPass, score: -0.1},
		{name: "quoted local part with @", ip: "192.0.2.7", sender: `"a@b"@pass.example`, want: spf.Pass, symbol: SymSPFPass, score: -0.1, authFrom: "pass.example"},
		{name: "null sender uses HELO", ip: "192.0.2.25", helo: "mail.pass.example", sender: "", want: spf.Pass, symbol: SymSPFPass, score: -0.1},
		{name: "null sender, HELO not allowed", ip: "203.0.113.9", helo: "mail.pass.example", sender: "", want: spf.Fail, symbol: SymSPFFail, score: 2},
		{name: "null sender, HELO an address literal", ip: "203.0.113.9", helo: "[203.0.113.9]", sender: "", want: spf.None, symbol: SymSPFNone},
	}
	a := newTestAuth(t, spfZone(), Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, out := a.EvaluateSPF(testCtx(t), netip.MustParseAddr(tc.ip), tc.helo, tc.sender)
			if out.Result != tc.want {
				t.Fatalf("result %q, want %q", out.Result, tc.want)
			}
			if len(res.Symbols) != 1 || res.Symbols[0].Name != tc.symbol || res.Symbols[0].Score != tc.score {
				t.Fatalf("symbols %+v, want one %s %.1f", res.Symbols, tc.symbol, tc.score)
			}
			if (res.Err != nil) != tc.err {
				t.Errorf("err %v, want error: %v", res.Err, tc.err)
			}
			if len(res.Auth) != 1 {
				t.Fatalf("auth %d entries, want 1", len(res.Auth))
			}
			ar := res.Auth[0].(*authres.SPFResult)
			if string(ar.Value) != string(tc.want) {
				t.Errorf("authres value %q, want %q", ar.Value, tc.want)
			}
			if tc.authFrom != "" && ar.From != tc.authFrom {
				t.Errorf("smtp.mailfrom %q, want %q", ar.From, tc.authFrom)
			}
			if tc.sender == "" && (out.Identity != IdentityHELO || ar.From != "") {
				t.Errorf("null sender: identity %q, smtp.mailfrom %q", out.Identity, ar.From)
			}
			if strings.ContainsAny(res.Symbols[0].Detail, "\r\n") {
				t.Errorf("detail has a line break: %q", res.Symbols[0].Detail)
			}
		})
	}
}

func TestSPFPermErrorSaysWhy(t *testing.T) {
	a := newTestAuth(t, spfZone(), Options{})
	for sender, want := range map[string]string{
		"a@many.example":   "more than 10 DNS-querying terms",
		"a@void.example":   "more than 2 lookups with empty answers",
		"a@two.example":    "more than one SPF record",
		"a@syntax.example": "syntax error",
	} {
		res, _ := a.EvaluateSPF(testCtx(t), netip.MustParseAddr("192.0.2.7"), "", sender)
		if d := res.Symbols[0].Detail; !strings.Contains(d, want) {
			t.Errorf("%s: detail %q does not say %q", sender, d, want)
		}
	}
}

// The library stops at the limit: 11 includes cost the record plus 10
// include lookups, never the 11th.
func TestSPFLookupLimitBoundsQueries(t *testing.T) {
	f := spfZone()
	a := newTestAuth(t, f, Options{})
	a.EvaluateSPF(testCtx(t), netip.MustParseAddr("192.0.2.7"), "", "a@many.example")
	if n := f.Queries(); n != 11 {
		t.Errorf("%d queries, want 11 (1 record + 10 includes)", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.queries["TXT i11.many.example"] != 0 {
		t.Error("the 11th include was looked up")
	}
}

func TestSPFHELOIdentity(t *testing.T) {
	a := newTestAuth(t, spfZone(), Options{})
	ip := netip.MustParseAddr("192.0.2.7")

	res, out := a.EvaluateSPF(testCtx(t), ip, "helo.fail.example", "a@pass.example")
	if got := symbolNames(res.Symbols); !slices.Equal(got, []string{SymSPFPass, SymHELOFail}) {
		t.Fatalf("symbols %v", got)
	}
	if len(res.Auth) != 2 || res.Auth[1].(*authres.SPFResult).Helo != "helo.fail.example" {
		t.Errorf("auth %+v: want a second spf entry with smtp.helo", res.Auth)
	}
	if out.HELO != spf.Fail || out.Domain != "pass.example" || out.Identity != IdentityMailFrom {
		t.Errorf("outcome %+v", out)
	}

	// A HELO name without SPF says nothing and is not reported.
	res, _ = a.EvaluateSPF(testCtx(t), ip, "client.nospf.example", "a@pass.example")
	if got := symbolNames(res.Symbols); !slices.Equal(got, []string{SymSPFPass}) || len(res.Auth) != 1 {
		t.Errorf("symbols %v, auth %d entries", got, len(res.Auth))
	}
}

// A lookup cut short by the deadline is a temperror (RFC 7208 §4.4), not
// the permerror the library would answer for an error it cannot classify.
func TestSPFDeadlineIsTempError(t *testing.T) {
	f := spfZone()
	f.hang = true
	a := newTestAuth(t, f, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, out := a.EvaluateSPF(ctx, netip.MustParseAddr("192.0.2.7"), "", "a@pass.example")
	if out.Result != spf.TempError {
		t.Fatalf("result %q, want temperror", out.Result)
	}
	if res.Err == nil {
		t.Error("no Err for a temperror")
	}
	if time.Since(start) > 2*time.Second {
		t.Error("evaluation did not stop at the deadline")
	}
}

func TestSPFCheckSkips(t *testing.T) {
	f := spfZone()
	relay := netip.MustParseAddr("10.0.0.2")
	a := newTestAuth(t, f, Options{})
	for name, in := range map[string]scoring.Input{
		"trusted relay":        {ClientIP: relay, From: "a@pass.example", Facts: scoring.Facts{Relayed: true}},
		"authenticated client": {ClientIP: netip.MustParseAddr("203.0.113.9"), From: "a@pass.example", Facts: scoring.Facts{AuthUser: "alice", Outbound: true}},
		"no client IP":         {From: "a@pass.example"},
	} {
		res := a.runSPF(testCtx(t), &in)
		out, _ := SPFResult.In(res)
		if len(res.Symbols) != 0 || len(res.Auth) != 0 || out.Result != "" {
			t.Errorf("%s: evaluated: %+v", name, res)
		}
		if name == "trusted relay" && !out.Deferred {
			t.Errorf("%s: not deferred", name)
		}
	}
	if n := f.Queries(); n != 0 {
		t.Errorf("%d lookups for skipped SPF", n)
	}
}
