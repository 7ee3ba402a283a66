// Package integration runs relayguard end to end against real programs: the
// relayguard binary built from this checkout, swaks as the SMTP client and
// Exim as the upstream MTA (and as the front MTA of the outbound "sandwich").
//
// How a run goes:
//
//  1. TestMain (the parent) builds ./cmd/relayguard once into a temporary
//     directory, with -race when the tests themselves run with -race.
//  2. It then runs this same test binary again in a private network and
//     mount namespace (root only). There the loopback interface is the only
//     one, /etc/resolv.conf points at a tiny DNS server on 127.0.0.1:53 run
//     by the tests, and every SMTP and DNS packet of relayguard, Exim and
//     swaks stays on loopback by construction.
//  3. Each test starts its own private Exim daemon (exim -bdf -C CONFIG with
//     the configurations in testdata/, which docs/exim.md quotes) on free
//     loopback ports, with its own spool, log and Maildir directories, and
//     its own relayguard process, so tests run in parallel.
//
// The tests skip with a reason when exim, swaks, root or namespaces are
// missing, except under CI=true, where a missing prerequisite is a failure.
package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// Environment passed from the parent test process to the child it re-runs
// inside the private namespaces.
const (
	envChild    = "RELAYGUARD_IT_CHILD"    // "1" in the child
	envWorkDir  = "RELAYGUARD_IT_WORKDIR"  // temporary directory of the run
	envBinary   = "RELAYGUARD_IT_BINARY"   // the built relayguard
	envBuildErr = "RELAYGUARD_IT_BUILDERR" // file holding the build failure, if any
	// Set by a developer: keep the run's directory (configs, logs,
	// Maildirs) for a look afterwards.
	envKeep = "RELAYGUARD_IT_KEEP"
)

// Set up once per run by TestMain, read by every test.
var (
	workDir       string // temporary directory for the whole run, 0755
	relayguardBin string // path of the built binary
	buildErr      error  // building relayguard failed: every e2e test fails
	harnessErr    error  // a prerequisite is missing: tests skip (fail under CI)
	eximBin       string
	swaksBin      string
	eximUser      mailboxOwner // Exim's run-time user: owns spools and Maildirs
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(runChild(m))
	}
	os.Exit(runParent(m))
}

// runParent builds relayguard and runs the tests in private namespaces, or
// here when those cannot be had (the e2e tests then skip, or fail under CI).
func runParent(m *testing.M) int {
	dir, err := os.MkdirTemp("", "relayguard-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	if os.Getenv(envKeep) == "" {
		defer os.RemoveAll(dir)
	} else {
		defer fmt.Fprintln(os.Stderr, "integration: kept", dir)
	}
	// Exim's run-time user walks down into spool, log and Maildir
	// directories below this one.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	workDir = dir
	relayguardBin, buildErr = buildRelayguard(dir)
	prepareDeb(dir)

	reason := namespacePrerequisite()
	if reason == nil {
		code, err := runInNamespaces(dir, buildErr)
		if err == nil {
			return code
		}
		reason = err
	}
	harnessErr = fmt.Errorf("a private network namespace is needed so that relayguard's DNS and SMTP stay on loopback: %w", reason)
	return m.Run()
}

func namespacePrerequisite() error {
	if runtime.GOOS != "linux" {
		return errors.New("needs Linux")
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (Exim daemons with private configs, network namespaces)")
	}
	return nil
}

// runInNamespaces re-runs this test binary with the same flags in a new
// network and mount namespace and returns its exit code. SIGINT, SIGTERM and
// SIGQUIT (go test's timeout) are passed on so the child can report.
func runInNamespaces(dir string, buildErr error) (int, error) {
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envChild+"=1", envWorkDir+"="+dir, envBinary+"="+relayguardBin)
	if buildErr != nil {
		f := filepath.Join(dir, "build-error.txt")
		if err := os.WriteFile(f, []byte(buildErr.Error()), 0o644); err != nil {
			return 0, err
		}
		cmd.Env = append(cmd.Env, envBuildErr+"="+f)
	}
	cmd.SysProcAttr = namespaceAttr()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("re-running the tests in new namespaces: %w", err)
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode(), nil
	default:
		fmt.Fprintln(os.Stderr, "integration: test child:", err)
		return 1, nil
	}
}

// runChild runs the tests inside the private namespaces.
func runChild(m *testing.M) int {
	workDir = os.Getenv(envWorkDir)
	relayguardBin = os.Getenv(envBinary)
	if f := os.Getenv(envBuildErr); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			b = []byte(err.Error())
		}
		buildErr = errors.New(string(b))
	}
	stopDNS, err := isolateNetwork(workDir)
	if err != nil {
		harnessErr = fmt.Errorf("setting up the private network namespace: %w", err)
		return m.Run()
	}
	defer stopDNS()
	// Everything here runs as root (private namespaces need it), and
	// serve refuses root but for this escape, which the README calls
	// unsafe outside these tests.
	os.Setenv("RELAYGUARD_ALLOW_ROOT", "1")
	harnessErr = findPrograms()
	return m.Run()
}

// findPrograms looks for the real programs the tests drive.
func findPrograms() error {
	var missing []string
	eximBin = lookPath("exim", "exim4")
	if eximBin == "" {
		missing = append(missing, "exim")
	}
	swaksBin = lookPath("swaks")
	if swaksBin == "" {
		missing = append(missing, "swaks")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s %w (scripts/test.sh installs them)", strings.Join(missing, " and "), errToolMissing)
	}
	var err error
	eximUser, err = lookupEximUser(eximBin)
	return err
}

// lookPath finds the first of names in PATH or in the sbin directories
// (where Debian puts exim, and which a non-login PATH may lack).
func lookPath(names ...string) string {
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	return ""
}

// inCI reports whether missing prerequisites must fail the run: CI installs
// them, so their absence there is a broken pipeline, not a developer machine.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// needHarness skips (or, under CI=true, fails) a test that cannot run here,
// and fails one when relayguard did not build.
func needHarness(t *testing.T) {
	t.Helper()
	if harnessErr != nil {
		if errors.Is(harnessErr, errToolMissing) {
			missingTool(t, "integration test skipped: "+harnessErr.Error())
		}
		if inCI() {
			t.Fatalf("integration prerequisites missing under CI=true: %v", harnessErr)
		}
		t.Skipf("integration test skipped: %v (set CI=true to fail instead)", harnessErr)
	}
	if buildErr != nil {
		t.Fatalf("building relayguard: %v", buildErr)
	}
	noteSourceTree()
}

// needSwaksTLS skips (fails under CI or after scripts/test.sh) when swaks
// was installed without its TLS module (Debian's swaks only recommends
// libnet-ssleay-perl).
func needSwaksTLS(t *testing.T) {
	t.Helper()
	needSwaksSupport(t, "TLS")
}
