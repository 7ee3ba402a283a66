package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"relayguard/scoring/dns/dnstest"
)

// lookupWorld is a DNS server with a healthy list (bl.test), a list that
// answers "listed" for everything (dead.test: a dead list's zone taken over
// by a wildcard), some reverse DNS, and two configurations pointing at it:
// one with the healthy list only, one with both.
func lookupWorld(t *testing.T) (good, withDead string) {
	t.Helper()
	srv := dnstest.NewServer(t)
	srv.Add(t,
		// RFC 5782 §5 test point, and one real listing.
		"2.0.0.127.bl.test. 300 IN A 127.0.0.2",
		"7.113.0.203.bl.test. 300 IN A 127.0.0.2",
		"7.113.0.203.bl.test. 300 IN TXT \"Listed, see https://bl.test/203.0.113.7\"",
		"*.dead.test. 300 IN A 127.0.0.2",
		"25.100.51.198.in-addr.arpa. 300 IN PTR mail.good.test.",
		"mail.good.test. 300 IN A 198.51.100.25",
	)
	srv.Behave("99.2.0.192.in-addr.arpa", dnstest.Behaviour{Rcode: mdns.RcodeServerFailure})
	dir := t.TempDir()
	write := func(name, lists string) string {
		p := filepath.Join(dir, name)
		conf := fmt.Sprintf("[dns]\nservers = [%q]\ntimeout = \"1s\"\nretries = 0\n\n%s", srv.Addr, lists)
		if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bl := "[[dnsbl]]\nzone = \"bl.test\"\nweight = 6\n\n"
	return write("good.toml", bl), write("dead.toml", bl+"[[dnsbl]]\nzone = \"dead.test\"\nweight = 6\n")
}

func TestLookupCommandReport(t *testing.T) {
	good, withDead := lookupWorld(t)
	tests := []struct {
		name  string
		args  []string
		exit  int
		want  []string // lines of the report, spaces squeezed
		never []string
	}{
		{"listing on a healthy list", []string{"-config", good, "203.0.113.7"}, 1, []string{
			"IP 203.0.113.7",
			"reverse DNS: none", // NXDOMAIN: there is no PTR
			`dnsbl bl.test LISTED 127.0.0.2 DNSBL_BL +6.0 "Listed, see https://bl.test/203.0.113.7"`,
		}, nil},
		{"a list that lists everything is broken, not a listing", []string{"-config", withDead, "127.0.0.1"}, 3, []string{
			"dnsbl bl.test not listed",
			"dnsbl dead.test BROKEN",
			"it lists 127.0.0.1",
		}, []string{"LISTED"}},
		{"a broken list does not hide a real listing", []string{"-config", withDead, "203.0.113.7"}, 1, []string{
			"dnsbl bl.test LISTED 127.0.0.2",
			"dnsbl dead.test BROKEN",
		}, []string{"dead.test LISTED"}},
		{"flags after the target", []string{"198.51.100.25", "-config", good}, 0, []string{
			"IP 198.51.100.25",
			"reverse DNS: mail.good.test",
			"forward-confirmed: pass (mail.good.test)",
			"dnsbl bl.test not listed",
		}, []string{"-config", "neither an IP"}},
		{"flags between targets", []string{"198.51.100.25", "-config", good, "203.0.113.7"}, 1, []string{
			"IP 198.51.100.25",
			"IP 203.0.113.7",
		}, []string{"-config", "neither an IP"}},
		{"reverse DNS failure is not none", []string{"-config", good, "192.0.2.99"}, 0, []string{
			"reverse DNS: lookup failed (the DNS server answered SERVFAIL)",
		}, []string{"reverse DNS: none", "lookup 99.2.0.192"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(append([]string{"lookup"}, tt.args...)...)
			var lines []string
			for _, l := range strings.Split(out+errOut, "\n") {
				lines = append(lines, strings.Join(strings.Fields(l), " "))
			}
			report := strings.Join(lines, "\n")
			if code != tt.exit {
				t.Errorf("exit status %d, want %d\n%s", code, tt.exit, report)
			}
			for _, w := range tt.want {
				if !strings.Contains(report, w) {
					t.Errorf("report lacks %q:\n%s", w, report)
				}
			}
			for _, n := range tt.never {
				if strings.Contains(report, n) {
					t.Errorf("report has %q:\n%s", n, report)
				}
			}
		})
	}
}

func TestLookupHelpExplainsExitStatus(t *testing.T) {
	_, out, _ := runCmd("lookup", "-h")
	for _, w := range []string{"Exit status", "1 listed", "broken", "RFC 5782"} {
		if !strings.Contains(out, w) {
			t.Errorf("lookup -h lacks %q:\n%s", w, out)
		}
	}
}
