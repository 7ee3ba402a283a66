package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"relayguard/config"
	"relayguard/internal/bounce"
	"relayguard/scoring/dns/dnstest"
	"relayguard/scoring/dnsbl"
)

const samples = "../../internal/bounce/testdata/samples/"

func runBounceCmd(stdin string, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = runBounce(args, strings.NewReader(stdin), &o, &e)
	return code, o.String(), e.String()
}

// squeeze folds the report's wrapped lines into one line of single spaces.
func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestBounceCommandExitStatus(t *testing.T) {
	seed, err := os.ReadFile(samples + "seed-classified-as-spam.txt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		exit  int
		want  []string // in stdout+stderr, spaces squeezed
	}{
		{"a seed bounce on stdin is explained", string(seed), []string{"-no-lookup", "-"}, 0, []string{
			"Bounce: Exchange, 1 failed recipient",
			"Refused by: 5001.newipdns.com",
			"Why: spam-content: the message itself was scored as spam",
			"Spam score: 120",
		}},
		{"a file is explained", "", []string{samples + "postfix-typo.txt", "--no-lookup"}, 0, []string{
			"Recipient: jon@hotmial.com",
			"Refused by: mx.hotmial.com [192.0.2.20]",
			"Reply: 550 5.1.1, at RCPT TO",
			"Did you mean: jon@hotmail.com",
		}},
		{"a letter is not a bounce", "Hi Bob, lunch at 12?\n", []string{"-"}, 1, []string{"no bounce found"}},
		{"no file", "", nil, 2, []string{"Usage: relayguard bounce"}},
		{"two files", "", []string{"a", "b"}, 2, []string{"one FILE"}},
		{"a missing file", "", []string{"/nonexistent/bounce.txt"}, 2, []string{"no such file"}},
		{"an unknown flag", "", []string{"-frobnicate", "-"}, 2, []string{"flag provided but not defined"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runBounceCmd(tt.stdin, tt.args...)
			all := squeeze(out + "\n" + errOut)
			if code != tt.exit {
				t.Errorf("exit %d, want %d\n%s", code, tt.exit, all)
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
		})
	}
}

// bounceWorld is a DNS server that serves zen.spamhaus.org as a test zone
// (its RFC 5782 §5 test point, the IP of dsn-spamhaus.eml listed, our
// second egress IP listed, the first not), and a config naming it.
func bounceWorld(t *testing.T, lists string) string {
	t.Helper()
	srv := dnstest.NewServer(t)
	srv.Add(t,
		"2.0.0.127.zen.spamhaus.org. 300 IN A 127.0.0.2",
		"5.113.0.203.zen.spamhaus.org. 300 IN A 127.0.0.3",
		"5.113.0.203.zen.spamhaus.org. 300 IN TXT \"https://www.spamhaus.org/sbl/query/SBL123\"",
		"9.100.51.198.zen.spamhaus.org. 300 IN A 127.0.0.4",
	)
	p := filepath.Join(t.TempDir(), "rg.toml")
	conf := fmt.Sprintf("[dns]\nservers = [%q]\ntimeout = \"1s\"\nretries = 0\n\n[access]\negress_ips = [\"198.51.100.8\", \"198.51.100.9\"]\n\n%s", srv.Addr, lists)
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBounceLooksTheNamedListUpNow(t *testing.T) {
	tests := []struct {
		name  string
		lists string
		want  []string
	}{
		{"on the configured list under the named list's zone", "[[dnsbl]]\nzone = \"zen.spamhaus.org\"\nweight = 8\n", []string{
			`Lookup now: 203.0.113.5 (named in the bounce) on zen.spamhaus.org: LISTED 127.0.0.3 "https://www.spamhaus.org/sbl/query/SBL123"`,
			"Lookup now: 198.51.100.8 (egress IP) on zen.spamhaus.org: not listed",
			"Lookup now: 198.51.100.9 (egress IP) on zen.spamhaus.org: LISTED 127.0.0.4",
		}},
		{"on the list's public zone when none is configured", "", []string{
			"Lookup now: 203.0.113.5 (named in the bounce) on zen.spamhaus.org (public zone; not a [[dnsbl]] of the config): LISTED 127.0.0.3",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := bounceWorld(t, tt.lists)
			code, out, errOut := runBounceCmd("", "-config", cfg, samples+"dsn-spamhaus.eml")
			all := squeeze(out + "\n" + errOut)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, all)
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
		})
	}
	// A list without a public zone, or nothing to ask about: said, not silent.
	cfg0 := bounceWorld(t, "")
	for file, want := range map[string]string{
		"seed-ivmuri.txt":    "Lookup now: not asked: the list has no public DNS zone to ask",
		"line-s3140.txt":     "Lookup now: not asked: the list has no public DNS zone to ask",
		"exim-barracuda.txt": "Lookup now: 203.0.113.10 (named in the bounce) on b.barracudacentral.org (public zone;",
	} {
		if _, out, _ := runBounceCmd("", "-config", cfg0, samples+file); !strings.Contains(squeeze(out), want) {
			t.Errorf("%s: output lacks %q:\n%s", file, want, out)
		}
	}
	// -no-lookup asks nothing.
	cfg := bounceWorld(t, "")
	if _, out, _ := runBounceCmd("", "-config", cfg, "-no-lookup", samples+"dsn-spamhaus.eml"); strings.Contains(out, "Lookup now") {
		t.Errorf("-no-lookup looked up:\n%s", out)
	}
}

func TestBounceJSON(t *testing.T) {
	cfg := bounceWorld(t, "[[dnsbl]]\nzone = \"zen.spamhaus.org\"\nweight = 8\n")
	code, out, errOut := runBounceCmd("", "-json", "-config", cfg, samples+"dsn-spamhaus.eml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		bounce.Report
		Lookups []bounce.Lookup `json:"lookups"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(got.Failures) != 1 || got.Failures[0].Category != bounce.Blocklist || got.Failures[0].ListedIP != "203.0.113.5" {
		t.Errorf("failures %+v", got.Failures)
	}
	if len(got.Lookups) != 3 || !got.Lookups[0].Listed || got.Lookups[0].Role != "named in the bounce" || !got.Lookups[0].Configured {
		t.Errorf("lookups %+v", got.Lookups)
	}
}

// TestBounceRemovalPagesAgreeWithDefaultConfig: the explainer's built-in
// removal pages are the default configuration's for every list both know,
// so `relayguard lookup` and `relayguard bounce` send a user to the same
// page.
func TestBounceRemovalPagesAgreeWithDefaultConfig(t *testing.T) {
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	pages := cfg.Blocklists.RemovalPages
	if len(pages) == 0 {
		t.Fatal("the default config has no removal pages")
	}
	compared := 0
	for _, l := range bounce.Lists() {
		for _, z := range l.Zones {
			want := dnsbl.RemovalPage(pages, z)
			if want == "" {
				continue
			}
			compared++
			if l.RemovalPage != want {
				t.Errorf("%s (%s): explainer page %q, default config %q", l.Name, z, l.RemovalPage, want)
			}
		}
	}
	if compared < 8 {
		t.Errorf("only %d zones compared", compared)
	}
}

// TestReadmeBounceExampleIsRealOutput: the README's example is what the
// command prints for that seed bounce today.
func TestReadmeBounceExampleIsRealOutput(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const prompt = "$ relayguard bounce --no-lookup bounce.txt\n"
	_, example, ok := strings.Cut(string(readme), prompt)
	if !ok {
		t.Fatalf("README has no %q example", prompt)
	}
	example, _, _ = strings.Cut(example, "```")
	code, out, errOut := runBounceCmd("", "--no-lookup", samples+"seed-ivmuri.txt")
	if code != 0 || out != example {
		t.Errorf("exit %d %s; README shows:\n%s\ncommand prints:\n%s", code, errOut, example, out)
	}
}
