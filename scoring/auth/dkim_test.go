package auth

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"

	"relayguard/scoring"
)

var testHeader = []string{
	"From: Alice <alice@example.com>",
	"To: bob@example.net",
	"Subject: quarterly figures",
	"Date: Mon, 02 Jun 2025 10:00:00 +0000",
	"Message-ID: <figures-1@example.com>",
}

const testBody = "Hello Bob,\n\nthe figures are attached.\n\nAlice\n"

// signer is a test key published in a fakeDNS zone.
type signer struct {
	domain, selector string
	key              crypto.Signer
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// testRSAKey is generated once per test binary: 2048-bit generation is slow.
func testRSAKey(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

func newEd25519Signer(t testing.TB, f *fakeDNS, domain, selector string) signer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.TXT(selector+"._domainkey."+domain, "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(pub))
	return signer{domain, selector, priv}
}

func newRSASigner(t testing.TB, f *fakeDNS, domain, selector string) signer {
	t.Helper()
	k := testRSAKey(t)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	// Long keys come as several strings of one TXT record; the resolver
	// joins them, as net.Resolver does.
	f.TXT(selector+"._domainkey."+domain, "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(der))
	return signer{domain, selector, k}
}

// sign prepends s's DKIM-Signature to raw.
func (s signer) sign(t testing.TB, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
		Domain:                 s.domain,
		Selector:               s.selector,
		Signer:                 s.key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             []string{"From", "To", "Subject", "Date", "Message-ID"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// flipBodyByte changes one byte of the body: a signature over it breaks.
func flipBodyByte(t testing.TB, raw []byte) []byte {
	t.Helper()
	out := bytes.Clone(raw)
	i := bytes.Index(out, []byte("figures are"))
	if i < 0 {
		t.Fatal("body marker not found")
	}
	out[i] = 'F'
	return out
}

func runDKIMOn(t testing.TB, a *Auth, raw []byte) scoring.Result {
	t.Helper()
	return a.runDKIM(testCtx(t), &scoring.Input{Message: parse(raw)})
}

func TestDKIM(t *testing.T) {
	f := newFakeDNS()
	ed := newEd25519Signer(t, f, "example.com", "ed")
	rs := newRSASigner(t, f, "example.com", "rsa")
	esp := newEd25519Signer(t, f, "esp.example", "s1")
	gone := signer{"example.com", "gone", ed.key}          // no key published
	flaky := signer{"flaky.example", "s1", ed.key}         // key lookup fails
	f.TXT("revoked._domainkey.example.com", "v=DKIM1; p=") // revoked key
	revoked := signer{"example.com", "revoked", ed.key}
	f.Fail("s1._domainkey.flaky.example")

	plain := rawMessage(testHeader, testBody)
	tests := []struct {
		name    string
		raw     []byte
		symbol  string
		score   float64
		results []authres.ResultValue
		detail  string
		err     bool
	}{
		{name: "unsigned", raw: plain, symbol: SymDKIMNone,
			results: []authres.ResultValue{authres.ResultNone}},
		{name: "ed25519 valid", raw: ed.sign(t, plain), symbol: SymDKIMValid, score: -0.1,
			results: []authres.ResultValue{authres.ResultPass}, detail: "example.com"},
		{name: "rsa valid", raw: rs.sign(t, plain), symbol: SymDKIMValid, score: -0.1,
			results: []authres.ResultValue{authres.ResultPass}},
		{name: "body byte changed", raw: flipBodyByte(t, ed.sign(t, plain)), symbol: SymDKIMInvalid, score: 1,
			results: []authres.ResultValue{authres.ResultFail}, detail: "body hash did not verify"},
		{name: "signed header changed", raw: bytes.Replace(rs.sign(t, plain), []byte("quarterly"), []byte("annual"), 1),
			symbol: SymDKIMInvalid, score: 1, results: []authres.ResultValue{authres.ResultFail}, detail: "signature did not verify"},
		{name: "no key", raw: gone.sign(t, plain), symbol: SymDKIMPermError,
			results: []authres.ResultValue{authres.ResultPermError}, detail: "no key for signature"},
		{name: "revoked key", raw: revoked.sign(t, plain), symbol: SymDKIMPermError,
			results: []authres.ResultValue{authres.ResultPermError}, detail: "key revoked"},
		{name: "key lookup fails", raw: flaky.sign(t, plain), symbol: SymDKIMTempError,
			results: []authres.ResultValue{authres.ResultTempError}, err: true},
		{name: "list signature valid beside broken author signature",
			raw:    esp.sign(t, flipBodyByte(t, ed.sign(t, plain))),
			symbol: SymDKIMValid, score: -0.1,
			// Topmost first: the list's signature, then the author's.
			results: []authres.ResultValue{authres.ResultPass, authres.ResultFail}, detail: "esp.example"},
	}
	a := newTestAuth(t, f, Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runDKIMOn(t, a, tc.raw)
			if len(res.Symbols) != 1 || res.Symbols[0].Name != tc.symbol || res.Symbols[0].Score != tc.score {
				t.Fatalf("symbols %+v, want one %s %.1f", res.Symbols, tc.symbol, tc.score)
			}
			if !strings.Contains(res.Symbols[0].Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", res.Symbols[0].Detail, tc.detail)
			}
			if (res.Err != nil) != tc.err {
				t.Errorf("err %v, want error: %v", res.Err, tc.err)
			}
			var got []authres.ResultValue
			for _, r := range res.Auth {
				dr := r.(*authres.DKIMResult)
				got = append(got, dr.Value)
				if dr.Domain == "" && dr.Value != authres.ResultNone {
					t.Errorf("dkim result without header.d: %+v", dr)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.results) {
				t.Errorf("authres %v, want %v", got, tc.results)
			}
			out, _ := DKIMResult.In(res)
			if want := len(tc.results) - strings.Count(fmt.Sprint(tc.results), "none"); len(out.Signatures) != want {
				t.Errorf("%d signatures in outcome, want %d", len(out.Signatures), want)
			}
		})
	}
}

// Signatures past the cap cost nothing: no key lookup, no verification.
func TestDKIMSignatureCap(t *testing.T) {
	f := newFakeDNS()
	raw := rawMessage(testHeader, testBody)
	for i := range 7 {
		s := newEd25519Signer(t, f, fmt.Sprintf("d%d.example", i), "s")
		raw = s.sign(t, raw)
	}
	a := newTestAuth(t, f, Options{MaxDKIMSignatures: 5})
	res := runDKIMOn(t, a, raw)
	out, _ := DKIMResult.In(res)
	if len(out.Signatures) != 5 || out.Unverified != 2 {
		t.Fatalf("%d verified, %d unverified; want 5 and 2", len(out.Signatures), out.Unverified)
	}
	if n := f.Queries(); n != 5 {
		t.Errorf("%d key lookups, want 5", n)
	}
	if d := res.Symbols[0].Detail; !strings.Contains(d, "2 more signatures not verified") {
		t.Errorf("detail %q does not mention the unverified signatures", d)
	}
}

func TestDKIMAuthResultsIdentity(t *testing.T) {
	f := newFakeDNS()
	s := newEd25519Signer(t, f, "example.com", "ed")
	var out bytes.Buffer
	raw := rawMessage(testHeader, testBody)
	err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
		Domain: "example.com", Selector: "ed", Signer: s.key, Identifier: "alice@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	res := runDKIMOn(t, newTestAuth(t, f, Options{}), out.Bytes())
	dr := res.Auth[0].(*authres.DKIMResult)
	if dr.Value != authres.ResultPass || dr.Domain != "example.com" || dr.Identifier != "alice@example.com" {
		t.Errorf("authres %+v", dr)
	}
}
