package integration

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestBounceLookupAgainstRbldnsd: `relayguard bounce` on a bounce whose
// remote says "blocked using bl.test" asks the real rbldnsd, through the
// configured [[dnsbl]] for that zone, about the IP the bounce names and
// about our egress IPs, and prints each answer with the list's TXT.
func TestBounceLookupAgainstRbldnsd(t *testing.T) {
	needHarness(t)
	t.Parallel()
	d := startRbldnsd(t)
	dir := testDir(t, "bounce")
	conf := writeFile(t, dir, "relayguard.toml", `[dns]
servers = ["`+d.addr+`"]
timeout = "2s"

[access]
egress_ips = ["203.0.113.8", "198.51.100.1"]

[[dnsbl]]
zone = "bl.test"
weight = 6.0
`, 0o644)
	bounce := writeFile(t, dir, "bounce.txt", `This is the mail system at host mail.example.net.

<carol@example.org>: host mx.example.org[192.0.2.7] said: 554 5.7.1 Service
    unavailable; Client host [203.0.113.7] blocked using bl.test (in reply to
    RCPT TO command)
`, 0o644)
	out, err := runRelayguardCommand(t, "bounce", "-config", conf, bounce)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running bounce: %v", err)
	}
	if err != nil {
		t.Fatalf("bounce exited %d, want 0:\n%s", exit.ExitCode(), out)
	}
	report := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"Recipient: carol@example.org",
		"Refused by: mx.example.org [192.0.2.7]",
		"Reply: 554 5.7.1, at RCPT TO",
		"Why: blocklist",
		"Listed IP: 203.0.113.7",
		`Lookup now: 203.0.113.7 (named in the bounce) on bl.test: LISTED 127.0.0.2 "Listed, see https://bl.test/query/203.0.113.7"`,
		`Lookup now: 203.0.113.8 (egress IP) on bl.test: LISTED 127.0.0.10 "Dynamic address 203.0.113.8, see https://bl.test/pbl/203.0.113.8"`,
		"Lookup now: 198.51.100.1 (egress IP) on bl.test: not listed",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
