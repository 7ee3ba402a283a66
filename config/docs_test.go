package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocumentedConfigsLoad holds every TOML example in the README and
// docs/ to the real parser: a documented key that does not exist, or a
// value that does not validate, fails here.
func TestDocumentedConfigsLoad(t *testing.T) {
	files, _ := filepath.Glob("../docs/*.md")
	files = append(files, "../README.md")
	block := regexp.MustCompile("(?s)```toml\n(.*?)```")
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllSubmatch(data, -1) {
			if strings.Contains(string(m[1]), "[[rule]]") {
				continue // a rule file: rules' own test loads those
			}
			n++
			if _, err := Parse(m[1], filepath.Base(f)); err != nil {
				t.Errorf("%s: example does not load: %v\n%s", f, err, m[1])
			}
		}
	}
	if n == 0 {
		t.Fatal("no TOML examples found: the test reads nothing")
	}
}
