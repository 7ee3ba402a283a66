package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"relayguard/rules"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	// 1000 ham: 990 at 0, then 10 at 1..10; 100 spam at 0..99.
	ham := make([]float64, 1000)
	for i := 0; i < 10; i++ {
		ham[990+i] = float64(i + 1)
	}
	spam := make([]float64, 100)
	for i := range spam {
		spam[i] = float64(i)
	}
	s := summarize(ham, spam, 6, 15)
	if s.atAdd.detected != 94 || s.atAdd.fp != 0.5 {
		t.Errorf("add_header: %+v", s.atAdd)
	}
	if s.atReject.detected != 85 || s.atReject.fp != 0 {
		t.Errorf("reject: %+v", s.atReject)
	}
	// FP <= 0.1%: at most 1 of 1000 ham above: threshold just over 9.
	if s.fp01.threshold != 9.01 || s.fp01.fp != 0.1 || s.fp01.detected != 90 {
		t.Errorf("fp01: %+v", s.fp01)
	}
	// FP <= 1%: at most 10 ham: threshold just over 0.
	if s.fp1.threshold != 0.01 || s.fp1.fp != 1 || s.fp1.detected != 99 {
		t.Errorf("fp1: %+v", s.fp1)
	}
}

func TestInputs(t *testing.T) {
	dir := t.TempDir()
	hamJSON := filepath.Join(dir, "ham.jsonl")
	spamJSON := filepath.Join(dir, "spam.jsonl")
	os.WriteFile(hamJSON, []byte(`{"file":"h1","score":1,"action":"accept","symbols":[]}
{"file":"h2","score":7,"action":"add_header","symbols":[]}
`), 0o644)
	os.WriteFile(spamJSON, []byte(`{"file":"s1","score":20,"action":"reject","symbols":[]}
{"file":"s2","score":3,"action":"accept","symbols":[]}
`), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"-input", "json", hamJSON, spamJSON}, &out, &errb); code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	for _, want := range []string{"2 ham, 2 spam", "add_header (>= 6)", "50.0%", "reject (>= 15)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	hamSc := filepath.Join(dir, "ham.txt")
	spamSc := filepath.Join(dir, "spam.txt")
	os.WriteFile(hamSc, []byte("ham/a 0.0/5.0\nham/b 6.5/5.0\n"), 0o644)
	os.WriteFile(spamSc, []byte("spam/a 16\nspam/b 2\n"), 0o644)
	out.Reset()
	if code := run([]string{"-input", "scores", "-markdown", "-name", "SA", hamSc, spamSc}, &out, &errb); code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "| SA | 50.0% / 50.00% | 50.0% / 0.00% |") {
		t.Errorf("markdown row: %q", out.String())
	}
	os.WriteFile(hamSc, []byte("ham/a notanumber\n"), 0o644)
	if code := run([]string{"-input", "scores", hamSc, spamSc}, &out, &errb); code != 1 {
		t.Errorf("bad input: code %d", code)
	}
	if code := run([]string{"onlyone"}, &out, &errb); code != 2 {
		t.Errorf("usage: code %d", code)
	}
}

// TestRulesReport: -rules scores the folders with the content rules and
// tables each rule's hit rate in ham and spam.
func TestRulesReport(t *testing.T) {
	dir := t.TempDir()
	hamDir, spamDir := filepath.Join(dir, "ham"), filepath.Join(dir, "spam")
	for _, d := range []string{hamDir, spamDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(hamDir, "1.eml"), []byte("From: a@example.org\nSubject: lunch\nDate: Wed, 01 May 2024 11:58:00 +0000\nMessage-ID: <1@example.org>\n\nSee you at noon.\n"), 0o644)
	os.WriteFile(filepath.Join(spamDir, "1.eml"), []byte("From: a@example.org\nSubject: pills\nDate: Wed, 01 May 2024 11:58:00 +0000\nMessage-ID: <2@example.org>\n\nCheap viagra and cialis from our online pharmacy.\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"-rules", "-top", "1", hamDir, spamDir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var row string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "PHRASE_PHARMACY") {
			row = strings.Join(strings.Fields(l), " ")
		}
	}
	// The row shows the rule's score in force (fitted, so read it).
	rs, err := rules.Load(nil, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	score := -1.0
	for _, r := range rs.Rules() {
		if r.Name == "PHRASE_PHARMACY" {
			score = r.Score
		}
	}
	if want := fmt.Sprintf("PHRASE_PHARMACY %.2f 0.00%% 100.0%%", score); row != want {
		t.Errorf("PHRASE_PHARMACY row %q, want %q, in:\n%s", row, want, out.String())
	}
	// The accuracy figures come first, with the thresholds.
	for _, want := range []string{"add_header (>= 6)", "reject (>= 15)", "FP <= 0.1% (>= ", "FP <= 1% (>= "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}

	// One report per HAM SPAM pair (one per era); an odd count is refused.
	out.Reset()
	if code := run([]string{"-rules", "-top", "0", hamDir, spamDir, hamDir, spamDir}, &out, &errb); code != 0 {
		t.Fatalf("two pairs: exit %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), "add_header (>= 6)"); n != 2 {
		t.Errorf("two pairs gave %d reports:\n%s", n, out.String())
	}
	if code := run([]string{"-rules", hamDir, spamDir, hamDir}, &out, &errb); code != 2 {
		t.Errorf("three folders: exit %d, want 2", code)
	}

	// A broken rule file is refused with its file:line.
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[[rule]]\nname = \"X\"\nkind = \"body\"\npattern = 'x'\nscore = \"high\"\ndescription = \"d\"\n"), 0o644)
	errb.Reset()
	if code := run([]string{"-rules", "-rule-file", bad, hamDir, spamDir}, &out, &errb); code != 1 {
		t.Errorf("exit %d with a broken rule file", code)
	}
	if want := bad + ":5: rule X: score must be a number"; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
}
