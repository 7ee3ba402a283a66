package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The configurations docs/exim.md shows are the files in testdata/ that the
// tests run; these tests keep the two the same.
var documentedConfigs = []string{
	"exim-inbound.conf",
	"exim-outbound.conf",
	"relayguard-inbound.toml",
	"relayguard-outbound.toml",
}

// TestDocsQuoteTestedConfigs: docs/exim.md holds each file of
// documentedConfigs whole, as one fenced code block.
func TestDocsQuoteTestedConfigs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "exim.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	for _, name := range documentedConfigs {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		block := "\n" + string(b) + "```\n"
		i := strings.Index(text, block)
		if i < 0 {
			t.Errorf("docs/exim.md does not quote integration/testdata/%s verbatim in a code block; paste the file again", name)
			continue
		}
		fence := text[strings.LastIndex(text[:i], "\n")+1 : i]
		if !strings.HasPrefix(fence, "```") {
			t.Errorf("docs/exim.md: testdata/%s is not at the start of a code block (line before: %q)", name, fence)
		}
	}
}

// TestEximConfigsWithSiteDefaults checks the documented Exim configurations
// with the macro values a reader gets (the tests override them): Exim must
// accept them, and route as docs/exim.md says.
func TestEximConfigsWithSiteDefaults(t *testing.T) {
	needHarness(t)
	t.Parallel()
	dir := testDir(t, "configs")
	mailboxes := filepath.Join(dir, "mail")
	if err := os.MkdirAll(filepath.Join(mailboxes, "alice"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		config, address string
		macros          []string
		want            []string
	}{
		{"exim-inbound.conf", "alice@example.com", []string{"-DMAILDIR_ROOT=" + mailboxes}, []string{
			"router = virtual_mailbox, transport = maildir_delivery",
		}},
		{"exim-outbound.conf", "someone@remote.test", nil, []string{
			"router = relayguard_smarthost, transport = relayguard_smtp",
			"host 127.0.0.1 [127.0.0.1] port=10025",
		}},
	}
	for _, tc := range cases {
		conf, err := privateEximConfig(dir, tc.config, nil)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(eximBin, "-C", conf, "-bV").CombinedOutput(); err != nil {
			t.Errorf("exim -C %s -bV: %v\n%s", tc.config, err, out)
		}
		// -bt routes an address and sends nothing.
		args := append(append([]string{"-C", conf}, tc.macros...), "-bt", tc.address)
		out, _ := exec.Command(eximBin, args...).CombinedOutput()
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("exim %s lacks %q:\n%s", strings.Join(args, " "), w, out)
			}
		}
	}
}
