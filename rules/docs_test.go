package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocumentedRuleFilesLoad loads every rule-file example of
// docs/rules.md as an operator file would be loaded.
func TestDocumentedRuleFilesLoad(t *testing.T) {
	data, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllSubmatch(data, -1) {
		if !strings.Contains(string(m[1]), "[[rule]]") {
			continue
		}
		n++
		f := filepath.Join(t.TempDir(), "example.toml")
		if err := os.WriteFile(f, m[1], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load([]string{f}, Options{}); err != nil {
			t.Errorf("docs/rules.md example does not load: %v\n%s", err, m[1])
		}
	}
	if n == 0 {
		t.Fatal("no rule-file example found in docs/rules.md")
	}
}
