package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
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

// TestDocsListEveryRule: the tables of docs/rules.md, between its
// rules:begin and rules:end markers, are the built-in rules as they are,
// every rule with its score and description, grouped by the sections of
// default.toml. Refresh with: go test ./rules -run TestDocsListEveryRule -update
func TestDocsListEveryRule(t *testing.T) {
	const path = "../docs/rules.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- rules:begin -->\n", "<!-- rules:end -->"
	doc := string(data)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q markers", path, strings.TrimSpace(begin), end)
	}
	want := docRuleTables(t)
	if got := doc[i+len(begin) : j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the rule tables of %s differ from the built-in rules; refresh with -update", path)
	}
}

// docRuleTables renders the built-in rules as markdown tables, one per
// section of default.toml ("# ----...---- NAME" lines), in file order.
func docRuleTables(t *testing.T) string {
	t.Helper()
	type section struct {
		title string
		line  int
		rows  []Rule
	}
	var secs []*section
	for n, l := range strings.Split(string(defaultRules), "\n") {
		if title, ok := strings.CutPrefix(l, "# ----------------------------------------------------------------"); ok {
			secs = append(secs, &section{title: strings.TrimSpace(title), line: n + 1})
		}
	}
	if len(secs) == 0 {
		t.Fatal("default.toml has no section lines")
	}
	for _, r := range defaultRuleset(t).Rules() {
		if strings.HasPrefix(r.Name, "__") {
			continue
		}
		k := 0
		for k+1 < len(secs) && secs[k+1].line < r.Line {
			k++
		}
		secs[k].rows = append(secs[k].rows, r)
	}
	var b strings.Builder
	for _, s := range secs {
		if len(s.rows) == 0 {
			continue
		}
		sort.Slice(s.rows, func(a, c int) bool { return s.rows[a].Name < s.rows[c].Name })
		fmt.Fprintf(&b, "\n**%s%s**\n\n| Symbol | Score | Kind | What it finds |\n|---|---|---|---|\n",
			strings.ToUpper(s.title[:1]), s.title[1:])
		for _, r := range s.rows {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.Name, strconv.FormatFloat(r.Score, 'f', -1, 64), r.Kind,
				strings.ReplaceAll(r.Description, "|", `\|`))
		}
	}
	b.WriteString("\n")
	return b.String()
}
