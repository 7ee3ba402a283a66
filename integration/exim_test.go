package integration

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The Exim harness. A private Exim is the system's exim binary run as root
// with its own configuration file (-C), its site settings passed as macros
// (-DNAME=value, which the configurations in testdata/ take through
// .ifndef), its own spool, log and Maildir directories under the test's
// temporary directory, listening on free loopback ports only. The package's
// system Exim (on port 25, with /etc/exim4) is never touched.
//
// Exim gives up root when it re-executes itself with -C for a delivery
// ("exim user lost privilege for using -C option"), so deliveries run as
// Exim's run-time user: the tests make that user own spool, log and Maildir
// directories and name it as the configurations' MAILBOX_USER.

// mailboxOwner is a Unix user that Exim deliveries run as.
type mailboxOwner struct {
	Name     string
	UID, GID int
}

// lookupEximUser asks Exim for its run-time user (Debian: Debian-exim).
func lookupEximUser(exim string) (mailboxOwner, error) {
	conf, err := privateEximConfig(workDir, "exim-inbound.conf", nil)
	if err != nil {
		return mailboxOwner{}, err
	}
	out, err := exec.Command(exim, "-C", conf, "-bP", "exim_user").CombinedOutput()
	if err != nil {
		return mailboxOwner{}, fmt.Errorf("exim -bP exim_user: %v\n%s", err, out)
	}
	name, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "exim_user = ")
	if !ok {
		return mailboxOwner{}, fmt.Errorf("exim -bP exim_user: unexpected %q", out)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return mailboxOwner{}, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return mailboxOwner{Name: name, UID: uid, GID: gid}, nil
}

// privateEximConfig copies testdata/name into dir as Exim wants a -C file
// run by root: owned by root, not writable by group or others.
func privateEximConfig(dir, name string, patch func(string) string) (string, error) {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		return "", err
	}
	if patch != nil {
		b = []byte(patch(string(b)))
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return "", err
	}
	// WriteFile keeps the mode of a file that exists; be sure.
	return p, os.Chmod(p, 0o644)
}

// eximDaemon is one private Exim listening daemon.
type eximDaemon struct {
	t      *testing.T
	dir    string
	conf   string
	macros []string // -DNAME=value arguments
	ports  []int    // where it listens

	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	output   *syncBuffer
	logStart int64 // mainlog size when the current daemon started
}

// eximSetup describes a private Exim.
type eximSetup struct {
	Config    string            // file in testdata/
	Macros    map[string]string // site settings for the config's .ifndef macros
	Ports     []int             // the ports the macros make it listen on
	Mailboxes []string          // local parts that exist (Maildirs created)
	// Internet makes the outbound config deliver mail for other domains
	// into the Maildir internet() instead of looking up MX records.
	Internet bool
	// Patch, when set, changes the config's text for one test (a setting
	// a site might have that the documented config does not).
	Patch func(conf string) string
}

// startExim starts a private Exim and stops it when the test ends.
func startExim(t *testing.T, name string, s eximSetup) *eximDaemon {
	t.Helper()
	dir := testDir(t, name)
	conf, err := privateEximConfig(dir, s.Config, s.Patch)
	if err != nil {
		t.Fatal(err)
	}
	macros := map[string]string{
		"SPOOL_DIRECTORY": filepath.Join(dir, "spool"),
		"LOG_FILE_PATH":   filepath.Join(dir, "log", "%slog"),
		"MAILDIR_ROOT":    filepath.Join(dir, "mail"),
		"MAILBOX_USER":    eximUser.Name,
	}
	for k, v := range s.Macros {
		macros[k] = v
	}
	owned := []string{"spool", "log", "mail"}
	for _, box := range s.Mailboxes {
		owned = append(owned, filepath.Join("mail", box))
	}
	if s.Internet {
		macros["TEST_INTERNET_MAILDIR"] = filepath.Join(dir, "internet")
		owned = append(owned, "internet")
	}
	for _, d := range owned {
		p := filepath.Join(dir, d)
		if err := os.MkdirAll(p, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, eximUser.UID, eximUser.GID); err != nil {
			t.Fatal(err)
		}
	}
	e := &eximDaemon{t: t, dir: dir, conf: conf, ports: s.Ports}
	keys := make([]string, 0, len(macros))
	for k := range macros {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.macros = append(e.macros, "-D"+k+"="+macros[k])
	}
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("exim %s (%s) logs:\n%s", name, dir, e.logs())
		}
	})
	e.start()
	return e
}

// args are the arguments every exim command of this instance needs.
func (e *eximDaemon) args(extra ...string) []string {
	return append(append([]string{"-C", e.conf}, e.macros...), extra...)
}

// start runs the daemon in the foreground (-bdf, so it stays our child)
// and waits until it listens.
func (e *eximDaemon) start() {
	t := e.t
	t.Helper()
	e.logStart = fileSize(e.logPath("main"))
	began := time.Now()
	defer func() { t.Logf("exim listening on %v after %v", e.ports, time.Since(began).Round(time.Millisecond)) }()
	e.output = new(syncBuffer)
	e.cmd = exec.Command(eximBin, e.args("-bdf", "-oP", filepath.Join(e.dir, "exim.pid"))...)
	e.cmd.Stdout, e.cmd.Stderr = e.output, e.output
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		e.waitErr = cmd.Wait()
		close(exited)
	}(e.cmd, e.exited)
	// Exim logs "daemon started" once its sockets listen.
	waitFor(t, startTimeout, "exim to start listening", func() bool {
		select {
		case <-e.exited:
			t.Fatalf("exim exited at start: %v\n%s\n%s", e.waitErr, e.output, e.logs())
		default:
		}
		return strings.Contains(e.mainlogSinceStart(), "daemon started")
	})
}

// stop sends SIGTERM to the daemon and waits for it to exit. Deliveries it
// started finish on their own; whatever of its process group is left after
// the bound is killed.
func (e *eximDaemon) stop() {
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	select {
	case <-e.exited:
	default:
		e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(stopTimeout):
			e.t.Errorf("exim daemon pid %d did not exit %v after SIGTERM", e.cmd.Process.Pid, stopTimeout)
			e.cmd.Process.Kill()
			<-e.exited
		}
	}
	syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	e.cmd = nil
}

// addr is the daemon's address for its i'th port.
func (e *eximDaemon) addr(i int) string { return loopback(e.ports[i]) }

// maildir is the Maildir of a local part in the local domains.
func (e *eximDaemon) maildir(localPart string) string {
	return filepath.Join(e.dir, "mail", localPart)
}

// internet is the Maildir standing in for the Internet (eximSetup.Internet).
func (e *eximDaemon) internet() string { return filepath.Join(e.dir, "internet") }

// queue runs one queue runner in the foreground, forcing delivery of
// everything queued (-qf: retry times ignored), and waits for it.
func (e *eximDaemon) queue() {
	e.t.Helper()
	out, err := exec.Command(eximBin, e.args("-qf")...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("exim -qf: %v\n%s", err, out)
	}
}

// queued lists the messages in the queue (exim -bp).
func (e *eximDaemon) queued() string {
	e.t.Helper()
	out, err := exec.Command(eximBin, e.args("-bp")...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("exim -bp: %v\n%s", err, out)
	}
	return string(out)
}

func (e *eximDaemon) logPath(kind string) string {
	return filepath.Join(e.dir, "log", kind+"log")
}

// mainlog is Exim's main log: one line per message received ("<="),
// delivered ("=>"), deferred ("==") or failed ("**").
func (e *eximDaemon) mainlog() string {
	b, _ := os.ReadFile(e.logPath("main"))
	return string(b)
}

func (e *eximDaemon) mainlogSinceStart() string {
	log := e.mainlog()
	if int64(len(log)) < e.logStart {
		return ""
	}
	return log[e.logStart:]
}

// waitLog waits until the main log holds line. Exim writes it after the
// fact it records (a delivery's "=>" after the Maildir file exists), so a
// test that saw the fact still waits for the line.
func (e *eximDaemon) waitLog(line string) {
	e.t.Helper()
	waitFor(e.t, deliverTimeout, "Exim's mainlog to show "+line, func() bool {
		return strings.Contains(e.mainlog(), line)
	})
}

// received counts the messages Exim accepted ("<=" lines).
func (e *eximDaemon) received() int {
	return strings.Count(e.mainlog(), " <= ")
}

func (e *eximDaemon) logs() string {
	var b strings.Builder
	for _, kind := range []string{"main", "reject", "panic"} {
		if data, err := os.ReadFile(e.logPath(kind)); err == nil {
			fmt.Fprintf(&b, "--- %slog\n%s", kind, data)
		}
	}
	if e.output != nil && e.output.String() != "" {
		fmt.Fprintf(&b, "--- output\n%s", e.output)
	}
	return b.String()
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// startInboundExim runs testdata/exim-inbound.conf: the Exim that sits
// behind relayguard, with mailboxes alice, bob and postmaster in example.com.
func startInboundExim(t *testing.T) *eximDaemon {
	t.Helper()
	port := freePort(t)
	return startExim(t, "exim", eximSetup{
		Config:    "exim-inbound.conf",
		Macros:    map[string]string{"SMTP_PORT": strconv.Itoa(port)},
		Ports:     []int{port},
		Mailboxes: []string{"alice", "bob", "postmaster"},
	})
}
