package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"relayguard/rules"
)

var (
	fencedBlock = regexp.MustCompile("(?s)```[^\n]*\n(.*?)```")
	inlineCode  = regexp.MustCompile("`([^`\n]+)`")
	// symbolShape is how every symbol is written: upper-case words joined
	// by underscores (URI_MANY, DMARC_REJECT).
	symbolShape = regexp.MustCompile(`(?:^|[^\w.$-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b`)
	// A rule a doc defines in an example rule file.
	definedRule = regexp.MustCompile(`name\s*=\s*"([A-Z0-9_]+)"`)
	// Exim macros (docs/exim.md): ".ifndef NAME", or "NAME = text" that
	// is not a score.
	eximMacro = regexp.MustCompile(`(?m)^\s*(?:\.ifn?def\s+([A-Z][A-Z0-9_]*)|([A-Z][A-Z0-9_]*)\s*=\s*[^\s0-9.-])`)
)

// notSymbolPrefixes start names that are symbol-shaped but are not fixed
// symbols: environment variables of the scripts and tests, and the
// symbols of configured blocklists, named after each list
// (DNSBL_<name>, docs/dns.md), which exist only in a config that has them.
// Linux capabilities (CAP_NET_BIND_SERVICE) and sysexits.h codes
// (EX_CONFIG) are not symbols either.
var notSymbolPrefixes = []string{"PERF_", "RELAYGUARD_", "DNSBL_", "DNSWL_", "URIBL_", "RCVD_DNSBL_", "RCVD_DNSWL_", "CAP_", "EX_"}

// notSymbols: docs/dns.md shows ZEN_SPAMHAUS as the list name derived
// from the zone zen.spamhaus.org.
var notSymbols = []string{"ZEN_SPAMHAUS"}

// TestDocsNameRealSymbols: every symbol a reader sees in a code example of
// the README or docs/ exists: a built-in content rule, a sender-check
// symbol (its RCVD_ variant too), or a rule the same page defines. The
// README once showed LINKS_MANY, which never existed.
func TestDocsNameRealSymbols(t *testing.T) {
	rs, err := rules.Load(nil, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, r := range rs.Rules() {
		known[r.Name] = true
	}
	for _, name := range senderSymbols() {
		known[name] = true
	}
	if !known["URI_MANY"] || !known["DMARC_REJECT"] {
		t.Fatalf("the known symbols lack URI_MANY or DMARC_REJECT: %d names", len(known))
	}
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs found: %v", err)
	}
	pages = append(pages, "../../README.md")
	checked := 0
	for _, page := range pages {
		raw, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		local := map[string]bool{}
		for _, m := range definedRule.FindAllStringSubmatch(text, -1) {
			local[m[1]] = true
		}
		for _, m := range eximMacro.FindAllStringSubmatch(text, -1) {
			local[m[1]+m[2]] = true
		}
		var code []string
		for _, m := range fencedBlock.FindAllStringSubmatch(text, -1) {
			code = append(code, m[1])
		}
		for _, m := range inlineCode.FindAllStringSubmatch(fencedBlock.ReplaceAllString(text, ""), -1) {
			code = append(code, m[1])
		}
		for _, c := range code {
			for _, m := range symbolShape.FindAllStringSubmatch(c, -1) {
				name := m[1]
				if known[name] || local[name] || slices.Contains(notSymbols, name) ||
					slices.ContainsFunc(notSymbolPrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
					checked++
					continue
				}
				t.Errorf("%s: %s is not a symbol (not a built-in rule, not a sender-check symbol, not defined on the page)", filepath.Base(page), name)
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d symbol names checked: is the scan broken?", checked)
	}
}
