package mailaddr

import (
	"go/build"
	"strings"
	"testing"
)

// TestImportsOnlyStandardLibraryAndXNet keeps the package a leaf every
// layer may import (DESIGN.md: internal/* imports none of filter, scoring,
// rules, config or cmd).
func TestImportsOnlyStandardLibraryAndXNet(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if (strings.Contains(first, ".") || first == "relayguard") && !strings.HasPrefix(imp, "golang.org/x/net/") {
			t.Errorf("imports %s", imp)
		}
	}
}
