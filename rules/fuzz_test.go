package rules

import (
	"bytes"
	"os"
	"path/filepath"
	"relayguard/rules/message"
	"strings"
	"testing"
	"time"
)

// fuzzBudget bounds the time one input may take. Real messages take well
// under a millisecond; the bound is loose so that a loaded CI machine does
// not fail, yet it catches anything super-linear.
const fuzzBudget = 5 * time.Second

// FuzzParseMessage feeds arbitrary bytes through the MIME and HTML parser
// and every rule: no panic, bounded output, bounded time. Seeds: the
// golden messages plus testdata/fuzz/FuzzParseMessage.
func FuzzParseMessage(f *testing.F) {
	files, _ := filepath.Glob("testdata/corpus/*.eml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	rs, err := Load(nil, Options{MaxScanBytes: 64 << 10})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		m := message.ParseMessageOptions(bytes.NewReader(data), int64(len(data)), message.Options{MaxScanBytes: 64 << 10})
		if n := len(m.PlainText()) + len(m.HTMLText()); n > 4*(64<<10)+1024 {
			t.Fatalf("%d bytes of text from a 64 KiB budget", n)
		}
		if len(m.Links()) > message.MaxLinks {
			t.Fatalf("%d links", len(m.Links()))
		}
		for _, l := range m.Links() {
			if l.Host != "" && message.NormaliseHost(l.Host) != l.Host {
				t.Fatalf("host %q is not normalised", l.Host)
			}
		}
		_ = m.HiddenText()
		_ = m.Images()
		_ = m.MIMEFindings()
		_ = m.HeaderText("Subject")
		hits := rs.Evaluate(m, time.Time{})
		var names []string
		for _, h := range hits {
			names = append(names, h.Name)
		}
		_ = rs.EvaluateMeta(m, names)
		if d := time.Since(start); d > fuzzBudget {
			t.Fatalf("took %v", d)
		}
	})
}

// FuzzRuleFile feeds arbitrary text to the rule-file loader: errors are
// fine, panics and hangs are not; whatever loads must evaluate.
func FuzzRuleFile(f *testing.F) {
	f.Add([]byte(defaultRules))
	f.Add([]byte("[[rule]]\nname = \"A\"\nkind = \"body\"\npattern = 'x(?=y)'\nscore = 1\ndescription = \"d\"\n"))
	f.Add([]byte("[[rule]]\nname = \"M\"\nkind = \"meta\"\nexpr = '(A + B) >= 2 && !C'\nscore = 1\ndescription = \"d\"\n[scores]\nHTML_ONLY = 0\n"))
	f.Add([]byte("[[rule]]\nname = \"P\"\nkind = \"phrases\"\nscore = 2\ndescription = \"d\"\n[rule.phrases]\n\"v i a g r a\" = 1\n\"x*\" = 2\n"))
	f.Add([]byte("[[rule]]\nname = 7\nkind = \"body\"\nscore = \"high\"\nnegate = \"yes\"\ndomains = [1]\n[rule.phrases]\n\"x\" = \"y\"\n[scores]\nA = \"off\"\n"))
	const msg = "From: a@example.org\nSubject: v1agra online casino\nContent-Type: text/html\n\n<a href=\"http://1.2.3.4/\">www.bank.example</a> free money"
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		p := filepath.Join(dir, "fuzz.toml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rs, err := Load([]string{p}, Options{})
		if err != nil {
			if !strings.Contains(err.Error(), p) && !strings.Contains(err.Error(), defaultFileName) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		m := parse(msg) // a fresh message: evaluations are cached per message
		hits := rs.Evaluate(m, time.Time{})
		var names []string
		for _, h := range hits {
			names = append(names, h.Name)
		}
		_ = rs.EvaluateMeta(m, names)
		_ = rs.Rules()
		if d := time.Since(start); d > fuzzBudget {
			t.Fatalf("took %v", d)
		}
	})
}

// FuzzParseRuleFile feeds arbitrary TOML to the decoding and per-rule
// checks alone (no compiling against the built-in set, so it runs many
// more inputs than FuzzRuleFile): values of any type in any field must
// come back as problems with the file's name, never as a panic.
func FuzzParseRuleFile(f *testing.F) {
	f.Add([]byte("[[rule]]\nname = \"X\"\nkind = \"body\"\npattern = 'x'\nscore = \"high\"\ndescription = \"d\"\n"))
	f.Add([]byte("rule = [{name = \"X\", kind = 1}, 2]\nscores = 3\n"))
	f.Add([]byte("[[rule]]\nname = \"P\"\nkind = \"phrases\"\nscore = 1\ndescription = \"d\"\n[rule.phrases]\n\"a\" = [1]\n\"b\" = 1979-05-27\n"))
	f.Add([]byte("[[rule]]\nname = \"U\"\nkind = \"builtin\"\ndomains = [\"a\", 2]\nmin = true\n[rule.x]\ny = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, probs := parseRuleFile("fuzz.toml", data)
		for _, p := range probs {
			if p.File != "fuzz.toml" || p.Msg == "" {
				t.Fatalf("problem without file or message: %+v", p)
			}
		}
		for _, r := range pf.rules {
			if r.Score == nil || !ruleNameRE.MatchString(r.Name) {
				t.Fatalf("rule passed the checks without a score or a valid name: %+v", r)
			}
		}
	})
}
