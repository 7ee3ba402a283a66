package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteFoldsListsTheBayesFolds: -write-folds puts the i-th message of a
// folder in name order (not creation order) into fold i mod 5, each message
// once, with absolute paths, one directory per HAM SPAM pair.
func TestWriteFoldsListsTheBayesFolds(t *testing.T) {
	dir := t.TempDir()
	ham, spam := filepath.Join(dir, "ham"), filepath.Join(dir, "spam")
	for _, d := range []string{ham, spam} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Created in reverse so that directory order differs from name order.
	for _, n := range []string{"g", "f", "e", "d", "c", "b", "a"} {
		os.WriteFile(filepath.Join(ham, n), []byte("Subject: x\n\nx\n"), 0o644)
	}
	os.WriteFile(filepath.Join(spam, "s1"), []byte("Subject: y\n\ny\n"), 0o644)
	out := filepath.Join(dir, "folds")
	var stdout, stderr bytes.Buffer
	// Relative folders, so the lists must be made absolute.
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	if code := run([]string{"-write-folds", out, "ham", "spam", "spam", "ham"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want := map[string][]string{
		"era1/ham-0.txt": {"ham/a", "ham/f"}, "era1/ham-1.txt": {"ham/b", "ham/g"},
		"era1/ham-2.txt": {"ham/c"}, "era1/ham-3.txt": {"ham/d"}, "era1/ham-4.txt": {"ham/e"},
		"era1/spam-0.txt": {"spam/s1"}, "era1/spam-1.txt": nil, "era1/spam-4.txt": nil,
		"era2/ham-0.txt": {"spam/s1"}, "era2/spam-1.txt": {"ham/b", "ham/g"},
	}
	for name, paths := range want {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var wantText string
		for _, p := range paths {
			wantText += filepath.Join(dir, p) + "\n"
		}
		if string(data) != wantText {
			t.Errorf("%s:\n%s\nwant:\n%s", name, data, wantText)
		}
	}

	// Pairs only; a folder with no messages is an error, not empty folds.
	if code := run([]string{"-write-folds", out, "ham", "spam", "ham"}, &stdout, &stderr); code != 2 {
		t.Errorf("three folders: exit %d, want 2", code)
	}
	os.Mkdir(filepath.Join(dir, "empty"), 0o755)
	stderr.Reset()
	if code := run([]string{"-write-folds", out, "ham", "empty"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "empty: no messages") {
		t.Errorf("empty folder: exit %d, stderr %q", code, stderr.String())
	}
}
