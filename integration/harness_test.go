package integration

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every wait in these tests is a bounded poll: the condition is checked
// until it holds or the bound passes. Bounds are generous (a loaded CI
// machine, relayguard built with -race); nothing asserts on timing.
const (
	startTimeout   = 60 * time.Second // a daemon comes up and listens
	deliverTimeout = 60 * time.Second // a message reaches a Maildir
	stopTimeout    = 60 * time.Second // a daemon exits after SIGTERM
	pollInterval   = 20 * time.Millisecond
)

// waitFor polls cond until it returns true, failing the test with what when
// timeout passes first.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", timeout, what)
		}
		time.Sleep(pollInterval)
	}
}

var (
	portsMu sync.Mutex
	ports   = map[int]bool{}
)

// freePort returns a loopback TCP port nothing listens on, never the same
// twice in a run (tests run in parallel and each has its own daemons).
func freePort(t *testing.T) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !ports[port] {
			ports[port] = true
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// testDir makes a directory for one daemon under the run's work directory,
// readable by Exim's run-time user.
func testDir(t *testing.T, name string) string {
	t.Helper()
	// Short: Exim's daemon notifier socket lives under its spool directory,
	// and a Unix socket name has room for 107 bytes.
	clean := strings.NewReplacer("/", "-", " ", "_").Replace(strings.TrimPrefix(t.Name(), "Test"))
	if len(clean) > 24 {
		clean = clean[:24]
	}
	dir, err := os.MkdirTemp(workDir, clean+"-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// message is one delivered file of a Maildir.
type message struct {
	Path string
	Raw  string
	Msg  *mail.Message
}

// Header returns the first value of a header field, "" when absent.
func (m message) Header(name string) string { return m.Msg.Header.Get(name) }

// Headers returns every value of a header field, in order.
func (m message) Headers(name string) []string {
	return m.Msg.Header[textproto.CanonicalMIMEHeaderKey(name)]
}

// maildirMessages reads the messages in dir/new and dir/cur, oldest name
// first. A missing directory holds no messages.
func maildirMessages(t *testing.T, dir string) []message {
	t.Helper()
	var paths []string
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				paths = append(paths, filepath.Join(dir, sub, e.Name()))
			}
		}
	}
	sort.Strings(paths)
	var msgs []message
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v\n%s", p, err, raw)
		}
		msgs = append(msgs, message{Path: p, Raw: string(raw), Msg: m})
	}
	return msgs
}

// waitMaildir waits until dir holds n messages and returns them.
func waitMaildir(t *testing.T, dir string, n int) []message {
	t.Helper()
	var msgs []message
	began := time.Now()
	defer func() {
		t.Logf("%d message(s) in %s after %v", len(msgs), dir, time.Since(began).Round(time.Millisecond))
	}()
	waitFor(t, deliverTimeout, fmt.Sprintf("%d message(s) in %s", n, dir), func() bool {
		msgs = maildirMessages(t, dir)
		return len(msgs) >= n
	})
	if len(msgs) != n {
		t.Fatalf("%s holds %d messages, want %d", dir, len(msgs), n)
	}
	return msgs
}

// testMessage is an ordinary RFC 5322 message; Message-ID is unique, so a
// delivered copy can be matched to its test.
func testMessage(from, to, subject, body string) string {
	id := fmt.Sprintf("<%d.%d@client.test>", time.Now().UnixNano(), os.Getpid())
	return "From: Sender <" + from + ">\n" +
		"To: <" + to + ">\n" +
		"Subject: " + subject + "\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\n" +
		"Message-ID: " + id + "\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: text/plain; charset=utf-8\n" +
		"\n" + body
}

// hamBody reads like mail a person writes.
const hamBody = `Hi Alice,

thanks for the notes from Tuesday. I went through the budget sheet and
the numbers for the second quarter look right to me; the only open point
is the travel line, which Bob wanted to split by team.

Could we go over it on Thursday after the stand-up?

Cheers,
Sam
`

// gtube is the Generic Test for Unsolicited Bulk Email: any content filter
// scores a message holding it as certain spam (relayguard: 1000).
const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// writeFile writes content into dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	return p
}

// envDepsInstalled is set by scripts/test.sh once every package of
// scripts/test-deps.txt is installed. A program or swaks capability the
// tests need that is missing then is a gap in that list, not a developer's
// machine: the test fails instead of skipping.
const envDepsInstalled = "RELAYGUARD_TEST_DEPS_INSTALLED"

// depsManifest is the install list scripts/test.sh reads.
const depsManifest = "../scripts/test-deps.txt"

// missingTool skips t because a program or capability is missing, or fails
// it when it must be there: under CI=true, or after scripts/test.sh
// installed the list.
func missingTool(t *testing.T, msg string) {
	t.Helper()
	switch {
	case inCI():
		t.Fatalf("%s (under CI=true)", msg)
	case os.Getenv(envDepsInstalled) != "":
		t.Fatalf("%s, though scripts/test.sh installed %s: add it there", msg, depsManifest)
	}
	t.Skipf("%s (set CI=true to fail instead)", msg)
}

// errToolMissing marks a harness error that is a missing program (as
// opposed to no root or no namespaces, which an install does not cure).
var errToolMissing = errors.New("not installed")

// needSwaksSupport skips (or fails, see missingTool) a test needing a swaks
// capability `swaks --support` does not report, e.g. "TLS" (Net::SSLeay)
// or "IPv6" (IO::Socket::INET6): Debian's swaks only recommends them.
func needSwaksSupport(t *testing.T, capability string) {
	t.Helper()
	if !swaksSupport()[capability] {
		missingTool(t, fmt.Sprintf("swaks has no %s support (swaks --support)", capability))
	}
}

var swaksSupport = sync.OnceValue(func() map[string]bool {
	out, _ := exec.Command(swaksBin, "--support").CombinedOutput()
	return parseSwaksSupport(string(out))
})

// parseSwaksSupport reads `swaks --support`: "=== TLS supported" and
// "*** AUTH NTLM not available: requires Authen::NTLM".
func parseSwaksSupport(out string) map[string]bool {
	caps := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "=== "); ok {
			if c, ok := strings.CutSuffix(rest, " supported"); ok {
				caps[c] = true
			}
		}
	}
	return caps
}

// depEntry is one line of scripts/test-deps.txt.
type depEntry struct{ kind, name, pkg string }

func readDepsManifest(t *testing.T) []depEntry {
	t.Helper()
	raw, err := os.ReadFile(depsManifest)
	if err != nil {
		t.Fatal(err)
	}
	var deps []depEntry
	cols := regexp.MustCompile(`\s{2,}`)
	for n, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := cols.Split(line, -1)
		if len(f) != 4 {
			t.Fatalf("%s:%d: want kind, name, what uses it and package, separated by two or more spaces: %q", depsManifest, n+1, line)
		}
		deps = append(deps, depEntry{kind: f[0], name: f[1], pkg: f[3]})
	}
	return deps
}

// testNeeds is what test sources run: programs (each a list of
// alternatives, as lookPath("exim", "exim4") takes), swaks capabilities
// and interpreter modules.
type testNeeds struct {
	programs     [][]string
	capabilities []string
	modules      []depEntry // kind perl or python
}

// swaksCapabilities maps what a test source holds to the swaks capability
// it needs (the names of `swaks --support`).
var swaksCapabilities = []struct{ literal, capability string }{
	{`"--tls"`, "TLS"},
	{`"[::1]:"`, "IPv6"}, // a listener on IPv6 loopback is for swaks to reach
	{`"--auth"`, "Basic AUTH"},
}

var (
	pythonImport = regexp.MustCompile(`"python3",\s*"-c",\s*"(?:import|from)\s+([\w.]+)`)
	perlModule   = regexp.MustCompile(`"perl",\s*"-M([\w:]+)`)
)

// scanTestNeeds reads Go test sources for what they execute.
func scanTestNeeds(name, src string) (testNeeds, error) {
	var n testNeeds
	f, err := parser.ParseFile(token.NewFileSet(), name, src, 0)
	if err != nil {
		return n, err
	}
	ast.Inspect(f, func(node ast.Node) bool {
		call, ok := node.(*ast.CallExpr)
		if !ok {
			return true
		}
		var first int // index of the program name among the arguments
		switch fn := call.Fun.(type) {
		case *ast.Ident:
			if fn.Name != "lookPath" {
				return true
			}
			var alts []string
			for _, a := range call.Args {
				if s, ok := stringLit(a); ok {
					alts = append(alts, s)
				}
			}
			if len(alts) > 0 {
				n.programs = append(n.programs, alts)
			}
			return true
		case *ast.SelectorExpr:
			pkg, ok := fn.X.(*ast.Ident)
			if !ok || pkg.Name != "exec" {
				return true
			}
			switch fn.Sel.Name {
			case "LookPath", "Command":
			case "CommandContext":
				first = 1
			default:
				return true
			}
		default:
			return true
		}
		if len(call.Args) > first {
			if s, ok := stringLit(call.Args[first]); ok {
				n.programs = append(n.programs, []string{s})
			}
		}
		return true
	})
	for _, c := range swaksCapabilities {
		if strings.Contains(src, c.literal) {
			n.capabilities = append(n.capabilities, c.capability)
		}
	}
	for _, m := range pythonImport.FindAllStringSubmatch(src, -1) {
		n.modules = append(n.modules, depEntry{kind: "python", name: m[1]})
	}
	for _, m := range perlModule.FindAllStringSubmatch(src, -1) {
		n.modules = append(n.modules, depEntry{kind: "perl", name: m[1]})
	}
	return n, nil
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// unlisted returns what needs asks for that deps does not name.
func unlisted(needs testNeeds, deps []depEntry) []string {
	has := func(kind, name string) bool {
		return slices.ContainsFunc(deps, func(d depEntry) bool { return d.kind == kind && d.name == name })
	}
	var missing []string
	for _, alts := range needs.programs {
		if !slices.ContainsFunc(alts, func(p string) bool { return has("program", p) }) {
			missing = append(missing, "program "+strings.Join(alts, " or "))
		}
	}
	for _, c := range needs.capabilities {
		if !has("swaks", c) {
			missing = append(missing, "swaks capability "+c)
		}
	}
	for _, m := range needs.modules {
		if !has(m.kind, m.name) {
			missing = append(missing, m.kind+" module "+m.name)
		}
	}
	return missing
}

// TestInstallManifestCoversTests: every program a test of this repository
// executes, every swaks capability and module it relies on, is in
// scripts/test-deps.txt, the list scripts/test.sh installs. A fresh
// machine then has what the README's test command needs.
func TestInstallManifestCoversTests(t *testing.T) {
	deps := readDepsManifest(t)
	t.Run("the scan finds a new program", func(t *testing.T) {
		n, err := scanTestNeeds("x_test.go", "package x\nfunc f() { lookPath(\"redis-server\"); exec.CommandContext(ctx, \"haproxy\", \"-f\"); exec.Command(\"python3\", \"-c\", \"import yaml\"); _ = \"--tls\" }\n")
		if err != nil {
			t.Fatal(err)
		}
		got := unlisted(n, []depEntry{{kind: "program", name: "python3"}})
		want := []string{"program redis-server", "program haproxy", "swaks capability TLS", "python module yaml"}
		if !slices.Equal(got, want) {
			t.Errorf("unlisted %q, want %q", got, want)
		}
	})
	var all testNeeds
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != ".." {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n, err := scanTestNeeds(p, string(src))
		if err != nil {
			return err
		}
		all.programs = append(all.programs, n.programs...)
		all.capabilities = append(all.capabilities, n.capabilities...)
		all.modules = append(all.modules, n.modules...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.programs) < 4 || len(all.capabilities) < 2 {
		t.Fatalf("the scan found only %v and %v: is it broken?", all.programs, all.capabilities)
	}
	for _, m := range slices.Compact(slices.Sorted(slices.Values(unlisted(all, deps)))) {
		t.Errorf("the tests use %s, which %s does not name", m, depsManifest)
	}
}

// TestSwaksSupportsWhatTestsUse: once the install list is installed,
// `swaks --support` reports every capability the list names (TLS needs
// Net::SSLeay, IPv6 IO::Socket::INET6, neither a dependency of swaks).
func TestSwaksSupportsWhatTestsUse(t *testing.T) {
	needHarness(t)
	for _, d := range readDepsManifest(t) {
		if d.kind == "swaks" {
			needSwaksSupport(t, d.name)
		}
	}
}
