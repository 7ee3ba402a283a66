package config

import (
	"go/build"
	"strings"
	"testing"
)

// TestImportsNothingAbove keeps config beside cmd as DESIGN.md draws it:
// it reads the file and validates values with the leaf packages, and
// knows nothing of the front door, the rules or the engine (what checks a
// configuration's files is the binary's, cmd/relayguard).
func TestImportsNothingAbove(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		for _, above := range []string{"relayguard/filter", "relayguard/rules", "relayguard/cmd"} {
			if imp == above || strings.HasPrefix(imp, above+"/") {
				t.Errorf("config imports %s", imp)
			}
		}
	}
}
