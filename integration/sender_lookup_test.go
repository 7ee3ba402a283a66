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
// customer asks "am I blacklisted?". The configuration also has dead.test,
// a list that lists every address: the command must call it broken (as
// serve's monitor switches it off), never count its answer as a listing.
func TestSenderLookupCommand(t *testing.T) {
	needHarness(t)
	t.Parallel()
	w := startSenderWorld(t)
	dir := testDir(t, "lookup")
	text := writeListsConfig(t, dir, w.rgConfig(t, "maildir:"+dir+"/Maildir"))
	writeFile(t, dir, "relayguard.toml", text+"\n[[dnsbl]]\nzone = \"dead.test\"\nname = \"DEAD\"\nweight = 20.0\n", 0o644)
	conf := dir + "/relayguard.toml"
	const broken = "dnsbl dead.test BROKEN fails its RFC 5782 self-test: it lists 127.0.0.1"

	tests := []struct {
		target    string
		flagsLast bool     // "lookup TARGET -config FILE", as operators type it too
		exit      int      // 0 not listed, 1 listed, 3 a list could not answer or is broken
		want      []string // lines of the report, spaces squeezed
	}{
		{"203.0.113.7", false, 1, []string{
			"IP 203.0.113.7",
			"reverse DNS: none",
			"forward-confirmed: none",
			`dnsbl bl.test LISTED 127.0.0.2 DNSBL_BL +20.0 "Listed, see https://bl.test/query/203.0.113.7"`,
			broken,
		}},
		// The RFC 5782 §5 negative test point: listed only by the broken
		// list, which is no listing.
		{"127.0.0.1", true, 3, []string{
			"IP 127.0.0.1",
			"dnsbl bl.test not listed",
			broken,
			"its answer here (127.0.0.2) is ignored",
		}},
		{"203.0.113.8", false, 1, []string{
			`dnsbl bl.test LISTED 127.0.0.10 DNSBL_BL +3.0 "Dynamic address 203.0.113.8, see https://bl.test/pbl/203.0.113.8"`,
		}},
		{"2001:db8:bad::7", false, 1, []string{
			"IP 2001:db8:bad::7",
			`dnsbl bl.test LISTED 127.0.0.3 DNSBL_BL +20.0 "IPv6 2001:db8:bad::7 listed"`,
		}},
		{"198.51.100.25", false, 3, []string{
			"IP 198.51.100.25",
			"reverse DNS: mail.good.test",
			"forward-confirmed: pass (mail.good.test)",
			"dnsbl bl.test not listed",
			broken,
		}},
		// The list's refusal is shown (exit 3 was already due to dead.test) as an error, never as a listing.
		{"203.0.113.66", false, 3, []string{
			"dnsbl bl.test ERROR",
			"127.255.255.254",
		}},
		{"www.example.biz", false, 1, []string{
			"domain example.biz (registrable domain of www.example.biz)",
			`uribl uri.test LISTED 127.0.1.2 URIBL_URI +20.0 "Domain listed, see https://uri.test/query/example.biz"`,
		}},
		{"good.test", true, 0, []string{
			"domain good.test",
			"uribl uri.test not listed",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			t.Parallel()
			args := []string{"lookup", "-config", conf, tc.target}
			if tc.flagsLast {
				args = []string{"lookup", tc.target, "-config", conf}
			}
			out, err := runRelayguardCommand(t, args...)
			t.Logf("$ relayguard %s\n%s", strings.Join(args, " "), out)
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
