package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// SPF, DKIM and DMARC through the running proxy. Clients connect from
// 198.51.100.25 (mail.good.test, listed nowhere); what the sender's domain
// publishes decides. Results are read where the reader's filters read
// them: in the message Exim delivered to the mailbox (Authentication-
// Results and X-Spam-Status), or in the 554 swaks got.

// authCase is one message and what relayguard must make of it.
type authCase struct {
	name     string
	from     string // MAIL FROM
	header   string // From: address
	ar       []string
	arLacks  []string
	tests    []string // symbols in X-Spam-Status
	notTests []string
}

// checkDelivered checks the Authentication-Results and X-Spam-Status of a
// delivered message against tc.
func (tc authCase) checkDelivered(t *testing.T, got message) {
	t.Helper()
	ar := got.Header("Authentication-Results")
	if !strings.HasPrefix(ar, "relayguard.test;") {
		t.Errorf("Authentication-Results %q, want relayguard's (authserv-id relayguard.test)", ar)
	}
	for _, want := range tc.ar {
		if !strings.Contains(ar, want) {
			t.Errorf("Authentication-Results %q lacks %q", ar, want)
		}
	}
	for _, bad := range tc.arLacks {
		if strings.Contains(ar, bad) {
			t.Errorf("Authentication-Results %q has %q", ar, bad)
		}
	}
	checkSpamTests(t, got, tc.tests, tc.notTests)
	if t.Failed() {
		t.Logf("delivered message:\n%s", got.Raw)
	}
}

func TestSenderSPF(t *testing.T) {
	needHarness(t)
	t.Parallel()
	w := startSenderWorld(t)
	ex := startInboundExim(t)
	rg := startRelayguardLists(t, w.rgConfig(t, ex.addr(0)))

	for _, tc := range []authCase{
		{
			name: "pass", from: "sam@good.test", header: "sam@good.test",
			ar:       []string{"spf=pass smtp.mailfrom=sam@good.test"},
			tests:    []string{"SPF_PASS"},
			notTests: []string{"SPF_FAIL", "SPF_SOFTFAIL"},
		},
		{
			name: "fail", from: "sam@strict.test", header: "sam@strict.test",
			ar:       []string{"spf=fail smtp.mailfrom=sam@strict.test"},
			tests:    []string{"SPF_FAIL"},
			notTests: []string{"SPF_PASS", "SPF_SOFTFAIL"},
		},
		{
			name: "softfail", from: "sam@lenient.test", header: "sam@lenient.test",
			ar:       []string{"spf=softfail smtp.mailfrom=sam@lenient.test"},
			tests:    []string{"SPF_SOFTFAIL"},
			notTests: []string{"SPF_PASS", "SPF_FAIL"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, id := senderMessageFile(t, "", tc.header, "alice@example.com", "SPF "+tc.name, hamBody)
			tr := sendFrom(t, rg.Addr, "198.51.100.25", "mail.good.test", "--from", tc.from, "--to", "alice@example.com", "--data", data)
			tr.exit(t, swaksOK)
			tr.expect(t, "C: MAIL FROM:<"+tc.from+">", "S: 250", "C: .", "S: 250 ")
			tc.checkDelivered(t, waitMessageID(t, ex.maildir("alice"), id))
		})
	}
}

// dkimKey is an RSA key for sel1._domainkey.signer.test: the private key
// as PEM for dkimsign, and the TXT record publishing the public key.
func dkimKey(t *testing.T) (privatePEM []byte, txt string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	// A 2048-bit key is longer than one TXT string (255 octets): the
	// record is several strings, which the verifier joins (RFC 6376 §3.6.2.2).
	var strs []string
	for rest := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub); rest != ""; {
		n := min(len(rest), 200)
		strs = append(strs, `"`+rest[:n]+`"`)
		rest = rest[n:]
	}
	privatePEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return privatePEM, "sel1._domainkey.signer.test. 60 IN TXT " + strings.Join(strs, " ")
}

// dkimsign signs message with the independent signer of python3-dkim
// (dkimpy), as domain with selector and the key in keyFile.
func dkimsign(t *testing.T, selector, domain, keyFile, message string) string {
	t.Helper()
	bin := lookPath("dkimsign")
	if bin == "" {
		missingTool(t, "dkimsign not installed (apt-get install python3-dkim)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, selector, domain, keyFile)
	cmd.Stdin = strings.NewReader(message)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("dkimsign %s %s: %v\n%s", selector, domain, err, errOut.String())
	}
	signed := out.String()
	if !strings.HasPrefix(signed, "DKIM-Signature:") || !strings.Contains(signed, "d=signer.test") {
		t.Fatalf("dkimsign gave no DKIM-Signature for d=%s:\n%s", domain, signed)
	}
	return signed
}

// TestSenderDKIM: a newsletter of signer.test sent by a mailing service
// (envelope domain esp.test, whose SPF passes but does not align), signed
// by dkimpy's dkimsign. relayguard must verify the signature with the key
// it finds in the DNS, and DMARC must pass by it; the same message with
// one body byte changed must fail.
func TestSenderDKIM(t *testing.T) {
	needHarness(t)
	t.Parallel()
	dir := testDir(t, "dkim")
	keyPEM, keyTXT := dkimKey(t)
	keyFile := writeFile(t, dir, "sel1.private", string(keyPEM), 0o600)

	const body = "Dear reader,\n\nthe autumn concert is on Friday at eight. Tickets cost 40 EUR at the door.\n\nThe signer.test team\n"
	// Each copy has a Message-ID of its own, so it can be told apart in
	// the mailbox; the field is signed, so each copy is signed.
	text, signedID := senderMessage("", "news@signer.test", "alice@example.com", "Concert news", body)
	signed := dkimsign(t, "sel1", "signer.test", keyFile, text)
	text, tamperedID := senderMessage("", "news@signer.test", "alice@example.com", "Concert news, again", body)
	tampered := dkimsign(t, "sel1", "signer.test", keyFile, text)
	// One byte of the body changed after signing: "40 EUR" becomes "90 EUR".
	if i := strings.Index(tampered, "40 EUR"); i < 0 {
		t.Fatalf("signed message lost its body:\n%s", tampered)
	} else {
		tampered = tampered[:i] + "9" + tampered[i+1:]
	}

	w := startSenderWorld(t)
	w.dns.add(t, keyTXT)
	ex := startInboundExim(t)
	rg := startRelayguardLists(t, w.rgConfig(t, ex.addr(0)))

	for _, tc := range []struct {
		authCase
		message, id string
	}{
		{authCase{
			name:     "signed",
			ar:       []string{"dkim=pass header.d=signer.test", "dmarc=pass header.from=signer.test", "spf=pass smtp.mailfrom=bounces@esp.test"},
			tests:    []string{"DKIM_VALID", "DMARC_PASS"},
			notTests: []string{"DKIM_INVALID", "DKIM_PERMERROR", "DMARC_SOFTFAIL"},
		}, signed, signedID},
		{authCase{
			name:     "one body byte changed",
			ar:       []string{"dkim=fail", "header.d=signer.test", "dmarc=fail"},
			arLacks:  []string{"dkim=pass"},
			tests:    []string{"DKIM_INVALID", "DMARC_SOFTFAIL"},
			notTests: []string{"DKIM_VALID", "DMARC_PASS"},
		}, tampered, tamperedID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := "@" + writeFile(t, testDir(t, "msg"), "signed.eml", tc.message, 0o644)
			tr := sendFrom(t, rg.Addr, "198.51.100.25", "mail.good.test", "--from", "bounces@esp.test", "--to", "alice@example.com", "--data", data)
			tr.exit(t, swaksOK)
			tr.expect(t, "C: DKIM-Signature: ", "C: .", "S: 250 ")
			tc.checkDelivered(t, waitMessageID(t, ex.maildir("alice"), tc.id))
		})
	}
}

// TestSenderDMARCReject: mail whose From is @bank.test (p=reject) from a
// server bank.test does not name, with no bank.test signature.
//
// With the default scores, DMARC_REJECT is 13: a spoof of the envelope too
// adds SPF_FAIL (2) and is rejected at 15; a spoof of the From field alone
// (the envelope is the mailing service's, which passes SPF) is marked as
// spam and delivered. With [scores] DMARC_REJECT = 15.0 (RFC 7489 to the
// letter, as docs/auth.md says) the From spoof alone is rejected too.
func TestSenderDMARCReject(t *testing.T) {
	needHarness(t)
	t.Parallel()
	w := startSenderWorld(t)
	upstream, delivered := maildirUpstream(t)
	rgDefault := startRelayguardLists(t, w.rgConfig(t, upstream))
	rgStrict := startRelayguardLists(t, w.rgConfig(t, upstream).set("scores", "DMARC_REJECT", 15.0))

	const dmarcReason = "From domain bank.test fails DMARC (p=reject)"
	for _, tc := range []struct {
		name, server, envelope string
		reject                 bool
		reason                 string
	}{
		{"spoofed envelope and From, default scores", rgDefault.Addr, "security@bank.test", true, "(DMARC_REJECT +13.0)"},
		{"spoofed From only, default scores", rgDefault.Addr, "bounces@esp.test", false, ""},
		{"spoofed From only, DMARC_REJECT = 15", rgStrict.Addr, "bounces@esp.test", true, "(DMARC_REJECT +15.0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, id := senderMessageFile(t, "", "security@bank.test", "alice@example.com", tc.name,
				hamBody)
			tr := sendFrom(t, tc.server, "198.51.100.25", "mail.good.test", "--from", tc.envelope, "--to", "alice@example.com", "--data", data)
			if tc.reject {
				tr.exit(t, swaksDotRefused)
				tr.expect(t, "C: .", "S: 554-5.7.1 ")
				reply := tr.dataReply()
				checkRejectReply(t, reply, dmarcReason)
				checkRejectReply(t, reply, tc.reason)
				if hasMessageID(t, delivered, id) {
					t.Errorf("refused message %s was relayed", id)
				}
				return
			}
			tr.exit(t, swaksOK)
			tr.expect(t, "C: .", "S: 250 ")
			got := waitMessageID(t, delivered, id)
			authCase{
				ar:    []string{"dmarc=fail", "header.from=bank.test", "spf=pass smtp.mailfrom=bounces@esp.test"},
				tests: []string{"DMARC_REJECT", "SPF_PASS"},
			}.checkDelivered(t, got)
			if flag := got.Header("X-Spam-Flag"); flag != "YES" {
				t.Errorf("X-Spam-Flag %q, want YES (DMARC_REJECT alone is over add_header)", flag)
			}
		})
	}
}
