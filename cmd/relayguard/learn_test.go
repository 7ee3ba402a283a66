package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"relayguard/config"
	"relayguard/internal/store"
)

// withMemoryStore makes learn use st (an in-process store: the real ones
// are tested in internal/store and by the integration tests).
func withMemoryStore(t *testing.T, st store.Store) {
	t.Helper()
	old := learnStore
	learnStore = func(*config.Config, bool) (store.Store, error) { return st, nil }
	t.Cleanup(func() { learnStore = old })
}

func testMessage(id, body string) string {
	return fmt.Sprintf("From: a@b.example\nSubject: test %s\nMessage-ID: <%s@b.example>\n\n%s\n", id, id, body)
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func learn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runLearn(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestLearnReadsFilesFoldersMaildirsMboxAndStdin(t *testing.T) {
	st := store.NewMemory(nil)
	withMemoryStore(t, st)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "one.eml"), testMessage("1", "cheap pills"))
	write(t, filepath.Join(dir, "deep/er/two.eml"), testMessage("2", "cheap pills"))
	write(t, filepath.Join(dir, "Junk/cur/3:2,S"), testMessage("3", "cheap pills"))
	write(t, filepath.Join(dir, "Junk/new/4"), testMessage("4", "cheap pills"))
	write(t, filepath.Join(dir, "Junk/tmp/5"), testMessage("5", "still being delivered"))
	write(t, filepath.Join(dir, "box.mbox"), "From a@b Mon Jan  1 00:00:00 2024\n"+testMessage("6", ">From the start")+
		"From c@d Mon Jan  1 00:00:00 2024\n"+testMessage("7", "second"))
	code, out, errs := learn(t, testMessage("8", "from stdin"), "--spam", dir, "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	spam, ham, _ := st.Totals(context.Background())
	if spam != 7 || ham != 0 {
		t.Errorf("learned %d spam, %d ham; want 7 spam (tmp/ skipped): %s", spam, ham, out)
	}
	if !strings.Contains(out, "learned 7 messages as spam") {
		t.Errorf("output %q", out)
	}
}

func TestLearnTwiceCountsOnceAndForgetUndoes(t *testing.T) {
	st := store.NewMemory(nil)
	withMemoryStore(t, st)
	f := filepath.Join(t.TempDir(), "m.eml")
	write(t, f, testMessage("x", "hello"))
	steps := []struct {
		args      []string
		out       string
		spam, ham int64
	}{
		{[]string{"--spam", f}, "learned 1 messages as spam (0 already", 1, 0},
		{[]string{"--spam", f}, "learned 0 messages as spam (1 already", 1, 0},
		{[]string{"--ham", f}, "1 moved", 0, 1},
		{[]string{"--forget", f}, "forgot 1 messages", 0, 0},
		{[]string{"--forget", "--ham", f}, "forgot 0 messages (1 were not learned)", 0, 0},
	}
	for _, s := range steps {
		code, out, errs := learn(t, "", s.args...)
		if code != 0 || !strings.Contains(out, s.out) {
			t.Errorf("%v: exit %d, out %q (want %q), err %q", s.args, code, out, s.out, errs)
		}
		spam, ham, _ := st.Totals(context.Background())
		if spam != s.spam || ham != s.ham {
			t.Errorf("%v: totals %d/%d, want %d/%d", s.args, spam, ham, s.spam, s.ham)
		}
	}
	code, out, _ := learn(t, "", "--stats")
	if code != 0 || !strings.Contains(out, "learned:   0 spam, 0 ham (silent until 200") || !strings.Contains(out, "autolearn is off") {
		t.Errorf("--stats: exit %d, %q", code, out)
	}
}

func TestLearnUsageErrors(t *testing.T) {
	withMemoryStore(t, store.NewMemory(nil))
	for _, args := range [][]string{
		{}, {"--spam"}, {"--spam", "--ham", "x"}, {"x"}, {"--stats", "x"}, {"--stats", "--spam"},
	} {
		if code, _, _ := learn(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errs := learn(t, "", "--spam", "/nonexistent/x"); code != 1 || !strings.Contains(errs, "/nonexistent/x") {
		t.Errorf("missing path: exit %d, %q; want 1 naming it", code, errs)
	}
}

func TestSplitMbox(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"two messages", "From a\nA: 1\n\nx\nFrom b\nB: 2\n\ny\n", []string{"A: 1\n\nx\n", "B: 2\n\ny\n"}},
		{"quoted From loses one >", "From a\n\n>From here\n>>From there\n>Fromage\n", []string{"\nFrom here\n>From there\n>Fromage\n"}},
		{"CRLF kept", "From a\r\nA: 1\r\n\r\nx", []string{"A: 1\r\n\r\nx"}},
		{"nothing before the first separator", "junk\nFrom a\nA: 1\n", []string{"A: 1\n"}},
	}
	for _, tt := range tests {
		got := splitMbox([]byte(tt.in))
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if strings.Join(gs, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: got %q, want %q", tt.name, gs, tt.want)
		}
	}
}

func FuzzSplitMbox(f *testing.F) {
	f.Add([]byte("From a\nA: 1\n\n>From x\nFrom b\n\ny"))
	f.Add([]byte(">>From \r\nFrom From \n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		total := 0
		for _, m := range splitMbox(in) {
			total += len(m)
		}
		if total > len(in) {
			t.Errorf("messages hold %d bytes of a %d-byte mbox", total, len(in))
		}
	})
}

func TestClassifierBuiltOnTheStoreWithItsScores(t *testing.T) {
	c, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	c.Scores = map[string]float64{"BAYES_99": 4.5}
	has := func(svc *services) bool {
		p, err := buildChecks(c, svc)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range p.checks {
			if ch.Name() == "classifier" {
				return true
			}
		}
		return false
	}
	if has(&services{}) {
		t.Error("classifier built without a store")
	}
	if !has(&services{store: store.NewMemory(nil)}) {
		t.Error("no classifier on a store")
	}
	c.Classifier.Enabled = false
	if has(&services{store: store.NewMemory(nil)}) {
		t.Error("classifier built though classifier.enabled = false")
	}
	if _, _, err := splitScores(c.Scores); err != nil {
		t.Errorf("splitScores refuses a BAYES_ score: %v", err)
	}
}
