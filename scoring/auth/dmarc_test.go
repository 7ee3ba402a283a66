package auth

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dmarc"

	"relayguard/rules/message"
	"relayguard/scoring"
)

// dmarcZone publishes the DMARC records the tests evaluate.
func dmarcZone() *fakeDNS {
	f := newFakeDNS()
	f.TXT("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com")
	f.TXT("_dmarc.strict.example", "v=DMARC1; p=reject; aspf=s; adkim=s")
	f.TXT("_dmarc.quar.example", "v=DMARC1; p=quarantine")
	f.TXT("_dmarc.watch.example", "v=DMARC1; p=none")
	f.TXT("_dmarc.sub.example", "v=DMARC1; p=reject; sp=quarantine")
	f.TXT("_dmarc.half.example", "v=DMARC1; p=reject; pct=50")
	f.TXT("_dmarc.two.example", "v=DMARC1; p=reject", "v=DMARC1; p=none")
	f.TXT("_dmarc.bad.example", "v=DMARC1; p=bogus")
	f.TXT("_dmarc.other.example", "v=spf1 -all", "not dmarc")
	f.Fail("_dmarc.flaky.example")
	return f
}

func spfPass(domain string) *SPFOutcome {
	return &SPFOutcome{Result: spf.Pass, Domain: domain, Identity: IdentityMailFrom}
}

func dkimPass(domains ...string) func() *DKIMOutcome {
	o := &DKIMOutcome{}
	for _, d := range domains {
		o.Signatures = append(o.Signatures, DKIMSignature{Domain: d, Result: authres.ResultPass})
	}
	return func() *DKIMOutcome { return o }
}

func TestDMARCEvaluate(t *testing.T) {
	tests := []struct {
		name    string
		from    string
		spf     *SPFOutcome
		dkim    func() *DKIMOutcome
		result  authres.ResultValue
		policy  dmarc.Policy // as applied
		spfAl   bool
		dkimAl  bool
		atOrg   bool
		comment string
	}{
		{name: "aligned via SPF, exact", from: "example.com", spf: spfPass("example.com"), dkim: dkimPass(),
			result: authres.ResultPass, policy: dmarc.PolicyNone, spfAl: true},
		{name: "aligned via SPF, relaxed subdomain", from: "example.com", spf: spfPass("bounce.example.com"), dkim: dkimPass(),
			result: authres.ResultPass, policy: dmarc.PolicyNone, spfAl: true},
		{name: "aligned via DKIM, relaxed subdomain", from: "example.com", spf: spfPass("esp.example"), dkim: dkimPass("esp.example", "mail.example.com"),
			result: authres.ResultPass, policy: dmarc.PolicyNone, dkimAl: true},
		{name: "strict SPF: subdomain does not align", from: "strict.example", spf: spfPass("bounce.strict.example"), dkim: dkimPass(),
			result: authres.ResultFail, policy: dmarc.PolicyReject},
		{name: "strict SPF: exact aligns", from: "strict.example", spf: spfPass("strict.example"), dkim: dkimPass(),
			result: authres.ResultPass, policy: dmarc.PolicyNone, spfAl: true},
		{name: "strict DKIM: subdomain does not align", from: "strict.example", dkim: dkimPass("mail.strict.example"),
			result: authres.ResultFail, policy: dmarc.PolicyReject},
		{name: "SPF fail, p=reject", from: "example.com", spf: &SPFOutcome{Result: spf.Fail, Domain: "example.com"}, dkim: dkimPass(),
			result: authres.ResultFail, policy: dmarc.PolicyReject},
		{name: "SPF pass unaligned, no DKIM, p=reject", from: "example.com", spf: spfPass("spammer.example"), dkim: dkimPass(),
			result: authres.ResultFail, policy: dmarc.PolicyReject},
		{name: "invalid DKIM does not count", from: "example.com", dkim: func() *DKIMOutcome {
			return &DKIMOutcome{Signatures: []DKIMSignature{{Domain: "example.com", Result: authres.ResultFail}}}
		}, result: authres.ResultFail, policy: dmarc.PolicyReject},
		{name: "p=quarantine", from: "quar.example", dkim: dkimPass(), result: authres.ResultFail, policy: dmarc.PolicyQuarantine},
		{name: "p=none", from: "watch.example", dkim: dkimPass(), result: authres.ResultFail, policy: dmarc.PolicyNone},
		{name: "org-domain fallback takes sp", from: "news.sub.example", dkim: dkimPass(),
			result: authres.ResultFail, policy: dmarc.PolicyQuarantine, atOrg: true},
		{name: "org-domain fallback without sp takes p", from: "deep.news.example.com", dkim: dkimPass(),
			result: authres.ResultFail, policy: dmarc.PolicyReject, atOrg: true},
		{name: "org-domain fallback, aligned via org", from: "news.example.com", spf: spfPass("example.com"), dkim: dkimPass(),
			result: authres.ResultPass, policy: dmarc.PolicyNone, spfAl: true, atOrg: true},
		{name: "no record", from: "nodmarc.example", dkim: dkimPass(), result: authres.ResultNone, policy: dmarc.PolicyNone},
		{name: "no DMARC among TXT records", from: "other.example", dkim: dkimPass(), result: authres.ResultNone, policy: dmarc.PolicyNone},
		{name: "two records", from: "two.example", dkim: dkimPass(), result: authres.ResultPermError},
		{name: "invalid record", from: "bad.example", dkim: dkimPass(), result: authres.ResultPermError},
		{name: "DNS failure", from: "flaky.example", dkim: dkimPass(), result: authres.ResultTempError},
		{name: "aligned SPF temperror is temperror", from: "example.com", spf: &SPFOutcome{Result: spf.TempError, Domain: "example.com"}, dkim: dkimPass(),
			result: authres.ResultTempError},
		{name: "aligned DKIM temperror is temperror", from: "example.com", dkim: func() *DKIMOutcome {
			return &DKIMOutcome{Signatures: []DKIMSignature{{Domain: "example.com", Result: authres.ResultTempError}}}
		}, result: authres.ResultTempError},
		{name: "public suffix is not an organisation", from: "example.com", spf: spfPass("com"), dkim: dkimPass("com"),
			result: authres.ResultFail, policy: dmarc.PolicyReject},
	}
	a := newTestAuth(t, dmarcZone(), Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := a.evaluateDMARC(testCtx(t), tc.from, tc.spf, tc.dkim, "<id@x>")
			if o.Result != tc.result {
				t.Fatalf("result %q (%s), want %q", o.Result, o.Reason, tc.result)
			}
			if tc.policy != "" && o.Applied != tc.policy {
				t.Errorf("applied policy %q, want %q", o.Applied, tc.policy)
			}
			if o.SPFAligned != tc.spfAl || o.DKIMAligned != tc.dkimAl {
				t.Errorf("aligned spf=%v dkim=%v, want %v %v", o.SPFAligned, o.DKIMAligned, tc.spfAl, tc.dkimAl)
			}
			if tc.atOrg && o.PolicyDomain == o.FromDomain {
				t.Errorf("policy found at %s, want the organisational domain", o.PolicyDomain)
			}
		})
	}
}

// DKIM is verified only when a record makes DMARC need it.
func TestDMARCNoRecordSkipsDKIM(t *testing.T) {
	a := newTestAuth(t, dmarcZone(), Options{})
	called := false
	o := a.evaluateDMARC(testCtx(t), "nodmarc.example", nil, func() *DKIMOutcome { called = true; return nil }, "k")
	if o.Result != authres.ResultNone || called {
		t.Errorf("result %q, DKIM asked for: %v", o.Result, called)
	}
}

// pct sampling hashes the Message-ID, so a test (or a retry of the same
// message) always gets the same answer.
func TestDMARCPercent(t *testing.T) {
	a := newTestAuth(t, dmarcZone(), Options{})
	var in, out string
	for i := 0; in == "" || out == ""; i++ {
		id := fmt.Sprintf("<%d@half.example>", i)
		if pctBucket(id) < 50 {
			in = id
		} else {
			out = id
		}
	}
	for _, tc := range []struct {
		key  string
		want dmarc.Policy
	}{{in, dmarc.PolicyReject}, {out, dmarc.PolicyQuarantine}} {
		for range 3 {
			o := a.evaluateDMARC(testCtx(t), "half.example", nil, dkimPass(), tc.key)
			if o.Result != authres.ResultFail || o.Policy != dmarc.PolicyReject || o.Applied != tc.want {
				t.Fatalf("key %s: result %q policy %q applied %q, want applied %q", tc.key, o.Result, o.Policy, o.Applied, tc.want)
			}
		}
	}
	// Sampling is roughly pct: 50 of 100 buckets, and the hash spreads.
	n := 0
	for i := range 10000 {
		if pctBucket(fmt.Sprintf("<%x.%d@mx.example>", i*7919, i)) < 50 {
			n++
		}
	}
	if n < 4500 || n > 5500 {
		t.Errorf("%d of 10000 sampled at pct=50", n)
	}
}

func TestDMARCCheck(t *testing.T) {
	f := dmarcZone()
	signer := newEd25519Signer(t, f, "example.com", "ed")
	tests := []struct {
		name    string
		header  []string
		sign    bool
		symbols []string
		authres []authres.ResultValue
		score   float64
	}{
		{name: "p=reject, nothing aligned", header: []string{"From: a@example.com", "Message-ID: <1@x>"},
			symbols: []string{SymDMARCReject}, authres: []authres.ResultValue{authres.ResultFail}, score: 13},
		{name: "aligned DKIM passes", header: []string{"From: a@example.com", "Message-ID: <1@x>"}, sign: true,
			symbols: []string{SymDMARCPass}, authres: []authres.ResultValue{authres.ResultPass}, score: -0.5},
		{name: "p=quarantine", header: []string{"From: a@quar.example"},
			symbols: []string{SymDMARCQuarantine}, authres: []authres.ResultValue{authres.ResultFail}, score: 6},
		{name: "p=none", header: []string{"From: a@watch.example"},
			symbols: []string{SymDMARCSoftFail}, authres: []authres.ResultValue{authres.ResultFail}, score: 0.5},
		{name: "no record", header: []string{"From: a@nodmarc.example"},
			symbols: []string{SymDMARCNA}, authres: []authres.ResultValue{authres.ResultNone}},
		{name: "no From", header: []string{"Subject: x"},
			symbols: []string{SymDMARCNoFrom}, authres: []authres.ResultValue{authres.ResultPermError}, score: 2},
		{name: "From without domain", header: []string{"From: undisclosed-recipients:;"},
			symbols: []string{SymDMARCNoFrom}, authres: []authres.ResultValue{authres.ResultPermError}, score: 2},
		// A second From field must not let the spoofed one escape DMARC.
		{name: "two From fields", header: []string{"From: a@nodmarc.example", "From: ceo@example.com"},
			symbols: []string{SymDMARCMultiFrom, SymDMARCReject}, authres: []authres.ResultValue{authres.ResultNone, authres.ResultFail}, score: 16},
		{name: "one field, two domains", header: []string{"From: a@watch.example, b@example.com"},
			symbols: []string{SymDMARCMultiFrom, SymDMARCReject}, authres: []authres.ResultValue{authres.ResultFail, authres.ResultFail}, score: 16},
		{name: "two addresses, one domain", header: []string{"From: a@example.com, b@example.com", "Message-ID: <1@x>"}, sign: true,
			symbols: []string{SymDMARCPass}, authres: []authres.ResultValue{authres.ResultPass}, score: -0.5},
		{name: "malformed From is read leniently", header: []string{"From: PayPal <service@example.com"},
			symbols: []string{SymDMARCBadFrom, SymDMARCReject}, authres: []authres.ResultValue{authres.ResultFail}, score: 14},
		{name: "internationalised From domain", header: []string{"From: a@bücher.example"},
			symbols: []string{SymDMARCNA}, authres: []authres.ResultValue{authres.ResultNone}},
	}
	a := newTestAuth(t, f, Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := rawMessage(tc.header, "hello\n")
			if tc.sign {
				raw = signer.sign(t, raw)
			}
			res := dmarcThroughEngine(t, a, parse(raw))
			if got := symbolNames(res.Symbols); strings.Join(got, ",") != strings.Join(tc.symbols, ",") {
				t.Fatalf("symbols %v, want %v", got, tc.symbols)
			}
			total := 0.0
			for _, s := range res.Symbols {
				total += s.Score
			}
			if total != tc.score {
				t.Errorf("score %.1f, want %.1f", total, tc.score)
			}
			var got []authres.ResultValue
			for _, r := range res.Auth {
				got = append(got, r.(*authres.DMARCResult).Value)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.authres) {
				t.Errorf("authres %v, want %v", got, tc.authres)
			}
		})
	}
}

// dmarcThroughEngine runs the dkim and dmarc checks as the engine does
// (dmarc waits for dkim's outcome) and returns the dmarc check's findings.
func dmarcThroughEngine(t *testing.T, a *Auth, msg *message.Message) scoring.Result {
	t.Helper()
	var res scoring.Result
	dmarc := scoring.CheckFunc{CheckName: CheckDMARC, CheckPhase: scoring.PhaseData,
		Fn: func(ctx context.Context, in *scoring.Input) scoring.Result {
			res = a.runDMARC(ctx, in)
			return scoring.Result{}
		}}
	dkim := scoring.CheckFunc{CheckName: CheckDKIM, CheckPhase: scoring.PhaseData, Fn: a.runDKIM}
	e, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second, Checks: []scoring.Check{dkim, dmarc}})
	if err != nil {
		t.Fatal(err)
	}
	e.Score(scoring.Conn{}, "", nil, msg)
	return res
}

func TestDMARCTempErrorFailsCheck(t *testing.T) {
	a := newTestAuth(t, dmarcZone(), Options{})
	res := a.runDMARC(testCtx(t), &scoring.Input{Message: parse(rawMessage([]string{"From: a@flaky.example"}, "x\n"))})
	if res.Err == nil || len(res.Symbols) != 1 || res.Symbols[0].Name != SymDMARCTempError {
		t.Errorf("err %v, symbols %v", res.Err, symbolNames(res.Symbols))
	}
}

func TestAlignment(t *testing.T) {
	for _, tc := range []struct {
		auth, from string
		mode       dmarc.AlignmentMode
		want       bool
	}{
		{"example.com", "example.com", dmarc.AlignmentStrict, true},
		{"mail.example.com", "example.com", dmarc.AlignmentStrict, false},
		{"mail.example.com", "example.com", dmarc.AlignmentRelaxed, true},
		{"example.com", "news.example.com", dmarc.AlignmentRelaxed, true},
		{"a.example.co.uk", "b.example.co.uk", dmarc.AlignmentRelaxed, true},
		{"example.co.uk", "other.co.uk", dmarc.AlignmentRelaxed, false},
		{"co.uk", "example.co.uk", dmarc.AlignmentRelaxed, false},
		{"notexample.com", "example.com", dmarc.AlignmentRelaxed, false},
		{"", "example.com", dmarc.AlignmentRelaxed, false},
	} {
		if got := aligned(tc.auth, tc.from, tc.mode); got != tc.want {
			t.Errorf("aligned(%q, %q, %s) = %v", tc.auth, tc.from, tc.mode, got)
		}
	}
}
