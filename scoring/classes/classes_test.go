package classes

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"relayguard/scoring"
)

const testAliases = `# /etc/aliases of a small host
postmaster: root
root: |/usr/local/bin/ticket
Sales: alice, "bob@partner.example"
alice: /var/mail/alice-archive
team: carol,
	dave@gmail.example  # continued on the next line
chain: team
loop1: loop2
loop2: loop1
quoted: "|/usr/bin/prog a, b", local-only
fail: :fail: No such user here
exim: :include:/etc/exim/list
`

func TestAliasesParsed(t *testing.T) {
	as, err := ParseAliases(strings.NewReader(testAliases), "aliases")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, a := range as {
		got[a.Local] = a.Targets
	}
	for local, want := range map[string][]string{
		"sales":  {"alice", "bob@partner.example"},
		"team":   {"carol", "dave@gmail.example  # continued on the next line"},
		"quoted": {"|/usr/bin/prog a, b", "local-only"},
		"fail":   {":fail: No such user here"},
	} {
		if !slices.Equal(got[local], want) {
			t.Errorf("%s: targets %q, want %q", local, got[local], want)
		}
	}
}

func TestOffSiteForwarders(t *testing.T) {
	as, err := ParseAliases(strings.NewReader(strings.ReplaceAll(testAliases, "  # continued on the next line", "")), "aliases")
	if err != nil {
		t.Fatal(err)
	}
	got := OffSite(as, []string{"example.com"})
	want := []string{"sales", "team", "chain"} // chain reaches team's gmail target
	if !slices.Equal(got, want) {
		t.Errorf("off-site %q, want %q", got, want)
	}
	// A target in one of our domains stays here, unless it forwards on.
	as = []Alias{{"a", []string{"b@example.com"}}, {"b", []string{"x@other.example"}}, {"c", []string{"c@EXAMPLE.com"}}}
	if got := OffSite(as, []string{"example.com"}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("off-site %q, want [a b]", got)
	}
}

func TestBadAliasesRefused(t *testing.T) {
	for _, text := range []string{"  orphan continuation\n", "no colon here\n", ": empty local\n", "two words: x\n"} {
		if _, err := ParseAliases(strings.NewReader(text), "aliases"); err == nil || !strings.Contains(err.Error(), "aliases:1:") {
			t.Errorf("%q: err = %v, want one naming aliases:1", text, err)
		}
	}
}

func TestClassLookup(t *testing.T) {
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases")
	if err := os.WriteFile(aliases, []byte("fan: someone@gmail.example\nstay: alice\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	def := scoring.DefaultPolicy()
	strict, lenient := def, def
	strict.Reject, lenient.Reject = 8, 30
	tb, err := New(Options{
		Default:     def,
		Classes:     []Class{{Name: "lenient", Recipients: []string{"sales.example.com", "CEO@example.net", "fan@example.com"}, Policy: lenient}},
		Forwarding:  Class{Recipients: []string{"fwd@example.net", "relay.example.org"}, Policy: strict},
		AliasesFile: aliases, LocalDomains: []string{"example.com", "xn--bcher-kva.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rcpt, class string
		reject      float64
	}{
		{"anyone@sales.example.com", "lenient", 30},
		{"ceo@Example.NET", "lenient", 30},
		{"cfo@example.net", "", 15},
		{"fwd@example.net", Forwarding, 8},
		{"x@relay.example.org", Forwarding, 8},
		{"x@sub.relay.example.org", "", 15}, // a domain is that domain only
		{"Fan@example.com", "lenient", 30},  // an address in [[policy]] wins over the aliases file
		{"fan@bücher.example", Forwarding, 8},
		{"stay@example.com", "", 15},
		{"not an address", "", 15},
	} {
		class, p := tb.Lookup(tc.rcpt)
		if class != tc.class || p.Reject != tc.reject {
			t.Errorf("Lookup(%q) = %q reject %.0f, want %q reject %.0f", tc.rcpt, class, p.Reject, tc.class, tc.reject)
		}
	}
	if _, err := New(Options{AliasesFile: filepath.Join(dir, "missing")}); err == nil || !strings.Contains(err.Error(), "aliases_file") {
		t.Errorf("missing aliases file: err = %v", err)
	}
}

func FuzzParseAliases(f *testing.F) {
	f.Add(testAliases)
	f.Add("a: \"unterminated, b\n\tc\n")
	f.Add("a: b\\\", c@d.example\n")
	f.Fuzz(func(t *testing.T, text string) {
		as, err := ParseAliases(strings.NewReader(text), "f")
		if err != nil {
			return
		}
		for _, a := range as {
			if a.Local == "" {
				t.Fatalf("entry with an empty local part from %q", text)
			}
		}
		off := OffSite(as, []string{"example.com"})
		if len(off) > len(as) {
			t.Fatalf("%d off-site of %d entries", len(off), len(as))
		}
	})
}
