package integration

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// moduleRoot is the directory holding go.mod, one up from this package.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

// buildRelayguard builds ./cmd/relayguard into dir, instrumented for the
// race detector when this test binary is (go test -race), so a data race in
// relayguard shows up in the e2e tests too.
func buildRelayguard(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if _, statErr := os.Stat(goBin); os.Getenv("GOROOT") == "" || statErr != nil {
			return "", fmt.Errorf("no go command in PATH to build relayguard: %w", err)
		}
	}
	bin := filepath.Join(dir, "relayguard")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/relayguard")
	cmd := exec.Command(goBin, args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

var noteSourceOnce sync.Once

// noteSourceTree stats every file of the module while tests run. go test
// caches a passing result keyed on the files a test touched; the relayguard
// binary is built in a subprocess it cannot see, so without this a change to
// filter/ or scoring/ would replay a stale "ok" from the cache.
func noteSourceTree() {
	noteSourceOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			return
		}
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "relayguard-dev") {
					return filepath.SkipDir
				}
				return nil
			}
			os.Stat(path)
			return nil
		})
	})
}
