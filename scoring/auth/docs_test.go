package auth

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// docs/auth.md is what operators read: every symbol must be there with
// its default score.
func TestDocsListEverySymbol(t *testing.T) {
	b, err := os.ReadFile("../../docs/auth.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, s := range symbolTable {
		row := "| `" + s.name + "` | " + strconv.FormatFloat(s.score, 'f', 1, 64) + " |"
		if !strings.Contains(doc, row) {
			t.Errorf("docs/auth.md lacks the row %q", row)
		}
	}
}

// Every Sym constant has a default score: sym() would score a missing one 0.
func TestEverySymbolHasAScore(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "symbols.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	scores := DefaultScores()
	n := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			for _, v := range spec.(*ast.ValueSpec).Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok {
					continue
				}
				name, _ := strconv.Unquote(lit.Value)
				n++
				if _, ok := scores[name]; !ok {
					t.Errorf("%s has no default score", name)
				}
			}
		}
	}
	if n != len(scores) {
		t.Errorf("%d symbol constants, %d scores", n, len(scores))
	}
}
