package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// The .deb is built by the parent, before the tests move into the private
// network namespace: scripts/build-deb.sh fetches nfpm through the Go
// module proxy, which the namespace cannot reach.
const (
	envDeb    = "RELAYGUARD_IT_DEB"     // the built package
	envDebErr = "RELAYGUARD_IT_DEB_ERR" // why it could not be built
)

const debTest = "TestDebianPackageRunsAsItsUser"

// prepareDeb builds the package into dir when this run may run debTest
// (root, and -test.run absent or matching it), and tells the child where.
func prepareDeb(dir string) {
	if os.Geteuid() != 0 || !runMayInclude(os.Args[1:], debTest) {
		return
	}
	root, err := moduleRoot()
	if err == nil {
		out := filepath.Join(dir, "deb")
		cmd := exec.Command("sh", "scripts/build-deb.sh", out)
		cmd.Dir = root
		var b []byte
		if b, err = cmd.CombinedOutput(); err == nil {
			debs, _ := filepath.Glob(filepath.Join(out, "relayguard_*.deb"))
			if len(debs) == 1 {
				os.Setenv(envDeb, debs[0])
				return
			}
			err = fmt.Errorf("built %q, want one .deb", debs)
		} else {
			err = fmt.Errorf("scripts/build-deb.sh: %v\n%s", err, b)
		}
	}
	msg := err.Error()
	if len(msg) > 4000 {
		msg = msg[len(msg)-4000:]
	}
	os.Setenv(envDebErr, msg)
}

// runMayInclude tells whether go test's -run in args selects name.
func runMayInclude(args []string, name string) bool {
	for i, a := range args {
		var pat string
		switch {
		case strings.HasPrefix(a, "-test.run="):
			pat = strings.TrimPrefix(a, "-test.run=")
		case a == "-test.run" && i+1 < len(args):
			pat = args[i+1]
		default:
			continue
		}
		top, _, _ := strings.Cut(pat, "/")
		ok, err := regexp.MatchString(top, name)
		return err != nil || ok
	}
	return true
}
