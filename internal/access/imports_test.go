package access

import (
	"go/build"
	"strings"
	"testing"
)

// TestImportsOnlyTheStandardLibrary keeps the package a leaf every layer
// may import (DESIGN.md: internal/* imports none of filter, scoring, rules,
// config or cmd).
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") || first == "relayguard" {
			t.Errorf("imports %s", imp)
		}
	}
}
