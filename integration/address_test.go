package integration

import (
	"strings"
	"testing"
)

// TestBadEnvelopeAddressesRefused (defect 7): swaks, playing a stranger,
// offers Exim's local domains under addresses that must not be taken:
// control characters in the local part (they would be forwarded and
// written into our Received field), a local part far over RFC 5321's 64
// octets, and a domain that only Unicode case folding turns into a local
// one (U+212A KELVIN SIGN for k), sent without SMTPUTF8. Each is refused
// at RCPT with its code, and nothing reaches Exim but the good message.
func TestBadEnvelopeAddressesRefused(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, func(c rgConfig) {
		c.set("access", "relay_networks", []string{"192.0.2.0/24"})
		c.set("access", "local_domains", []string{"example.com", "kiosk.test"})
	})
	tests := []struct {
		name, rcpt, reply string
	}{
		{"ESC in local part", "ali\x1bce@example.com", "S: 501 5.1.3 "},
		{"DEL in local part", "ali\x7fce@example.com", "S: 501 5.1.3 "},
		{"1000-octet local part", strings.Repeat("a", 1000) + "@example.com", "S: 501 5.1.3 "},
		// RFC 6531 §3.5: non-ASCII without SMTPUTF8 (swaks never sends it).
		{"Kelvin sign domain", "user@\u212Aiosk.test", "S: 553 5.6.7 "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := runSwaks(t, rg.Addr, "--from", "friend@client.test", "--to", tc.rcpt,
				"--data", messageFile(t, "friend@client.test", "alice@example.com", "Hello", hamBody))
			tr.exit(t, swaksRcptFailed)
			tr.expect(t, "C: RCPT TO:<"+tc.rcpt+">", tc.reply)
			tr.lacks(t, "C: DATA")
		})
	}
	t.Run("good recipient still accepted", func(t *testing.T) {
		t.Parallel()
		tr := runSwaks(t, rg.Addr, "--from", "friend@client.test", "--to", "alice@example.com",
			"--data", messageFile(t, "friend@client.test", "alice@example.com", "Hello", hamBody))
		tr.exit(t, swaksOK)
		waitMaildir(t, ex.maildir("alice"), 1)
	})
	t.Cleanup(func() {
		if n := ex.received(); n != 1 {
			t.Errorf("Exim received %d messages, want only the good one\n%s", n, ex.mainlog())
		}
	})
}
