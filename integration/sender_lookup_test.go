package integration

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestSenderLookupCommand: `relayguard lookup` with the configuration the
// proxy runs with asks the real rbldnsd (through the world's resolver)
// what it says about an IP or a domain, as an operator does when a
// customer asks "am I blacklisted?".
func TestSenderLookupCommand(t *testing.T) {
	needHarness(t)
	t.Parallel()
	w := startSenderWorld(t)
	dir := testDir(t, "lookup")
	writeListsConfig(t, dir, w.rgConfig(t, "maildir:"+dir+"/Maildir"))
	conf := dir + "/relayguard.toml"

	tests := []struct {
		target string
		exit   int      // 0 not listed, 1 listed, 3 a list could not answer
		want   []string // lines of the report, spaces squeezed
	}{
		{"203.0.113.7", 1, []string{
			"IP 203.0.113.7",
			"reverse DNS: none",
			"forward-confirmed: none",
			`dnsbl bl.test LISTED 127.0.0.2 DNSBL_BL +20.0 "Listed, see https://bl.test/query/203.0.113.7"`,
		}},
		{"203.0.113.8", 1, []string{
			`dnsbl bl.test LISTED 127.0.0.10 DNSBL_BL +3.0 "Dynamic address 203.0.113.8, see https://bl.test/pbl/203.0.113.8"`,
		}},
		{"2001:db8:bad::7", 1, []string{
			"IP 2001:db8:bad::7",
			`dnsbl bl.test LISTED 127.0.0.3 DNSBL_BL +20.0 "IPv6 2001:db8:bad::7 listed"`,
		}},
		{"198.51.100.25", 0, []string{
			"IP 198.51.100.25",
			"reverse DNS: mail.good.test",
			"forward-confirmed: pass (mail.good.test)",
			"dnsbl bl.test not listed",
		}},
		// The list's refusal is shown as an error, never as a listing.
		{"203.0.113.66", 3, []string{
			"dnsbl bl.test ERROR",
			"127.255.255.254",
		}},
		{"www.example.biz", 1, []string{
			"domain example.biz (registrable domain of www.example.biz)",
			`uribl uri.test LISTED 127.0.1.2 URIBL_URI +20.0 "Domain listed, see https://uri.test/query/example.biz"`,
		}},
		{"good.test", 0, []string{
			"domain good.test",
			"uribl uri.test not listed",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			t.Parallel()
			out, err := runRelayguardCommand(t, "lookup", "-config", conf, tc.target)
			t.Logf("$ relayguard lookup -config relayguard.toml %s\n%s", tc.target, out)
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatalf("relayguard lookup: %v", err)
			}
			if code != tc.exit {
				t.Errorf("exit status %d, want %d", code, tc.exit)
			}
			var lines []string
			for _, l := range strings.Split(out, "\n") {
				lines = append(lines, strings.Join(strings.Fields(l), " "))
			}
			report := strings.Join(lines, "\n")
			for _, want := range tc.want {
				if !strings.Contains(report, want) {
					t.Errorf("report lacks %q", want)
				}
			}
			if strings.Contains(report, "ERROR") != strings.Contains(strings.Join(tc.want, "\n"), "ERROR") {
				t.Errorf("report has an unexpected ERROR (or lacks the expected one)")
			}
		})
	}
}
