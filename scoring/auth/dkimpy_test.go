package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/emersion/go-msgauth/authres"
)

// dkimsignPath finds dkimpy's dkimsign (Debian: python3-dkim). It is
// optional on a workstation and required once scripts/test.sh installed
// the test dependencies (or in CI), so a gap in the list cannot hide.
func dkimsignPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("dkimsign")
	if err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("RELAYGUARD_TEST_DEPS_INSTALLED") == "1" {
			t.Fatal("dkimsign (python3-dkim) is required here: apt-get install python3-dkim (scripts/test-deps.txt)")
		}
		t.Skip("dkimsign not found: install python3-dkim to check DKIM against an independent signer")
	}
	return p
}

// TestDKIMIndependentSigner signs with dkimpy, a separate implementation,
// so a bug shared by go-msgauth's signer and verifier cannot hide.
func TestDKIMIndependentSigner(t *testing.T) {
	dkimsign := dkimsignPath(t)
	dir := t.TempDir()
	f := newFakeDNS()

	// RSA: dkimpy reads a PKCS#1 PEM key.
	rsaFile := filepath.Join(dir, "rsa.pem")
	k := testRSAKey(t)
	if err := os.WriteFile(rsaFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	f.TXT("py._domainkey.example.com", "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(der))

	// Ed25519 (RFC 8463): dkimpy reads the base64 32-byte seed.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edFile := filepath.Join(dir, "ed.key")
	if err := os.WriteFile(edFile, []byte(base64.StdEncoding.EncodeToString(priv.Seed())), 0o600); err != nil {
		t.Fatal(err)
	}
	f.TXT("pyed._domainkey.example.com", "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(pub))

	a := newTestAuth(t, f, Options{})
	msg := rawMessage(testHeader, testBody)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"rsa-sha256 relaxed/simple", []string{"py", "example.com", rsaFile}},
		{"rsa-sha256 simple/simple", []string{"--hcanon", "simple", "py", "example.com", rsaFile}},
		{"rsa-sha256 relaxed/relaxed", []string{"--bcanon", "relaxed", "py", "example.com", rsaFile}},
		{"ed25519-sha256", []string{"--signalg", "ed25519-sha256", "pyed", "example.com", edFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(dkimsign, tc.args...)
			cmd.Stdin = bytes.NewReader(msg)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			signed, err := cmd.Output()
			if err != nil {
				t.Fatalf("dkimsign: %v: %s", err, stderr.String())
			}
			// dkimsign prints the message unsigned (and exits 0) when it fails.
			if !bytes.HasPrefix(signed, []byte("DKIM-Signature:")) {
				t.Fatalf("dkimsign did not sign: %s", stderr.String())
			}

			res := runDKIMOn(t, a, signed)
			if len(res.Symbols) != 1 || res.Symbols[0].Name != SymDKIMValid {
				t.Fatalf("dkimpy signature: %+v", res.Symbols)
			}
			if dr := res.Auth[0].(*authres.DKIMResult); dr.Value != authres.ResultPass || dr.Domain != "example.com" {
				t.Errorf("authres %+v", dr)
			}

			res = runDKIMOn(t, a, flipBodyByte(t, signed))
			if len(res.Symbols) != 1 || res.Symbols[0].Name != SymDKIMInvalid {
				t.Fatalf("one body byte changed: %+v", res.Symbols)
			}
		})
	}
}
