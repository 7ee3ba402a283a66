package integration

import (
	"bytes"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// rgConfig is a relayguard TOML configuration as sections of keys. Tests
// start from a file in testdata/ (the ones docs/exim.md quotes) and change
// what the test is about.
type rgConfig map[string]map[string]any

// loadConfig reads testdata/name.
func loadConfig(t *testing.T, name string) rgConfig {
	t.Helper()
	cfg := rgConfig{}
	if _, err := toml.DecodeFile(filepath.Join("testdata", name), &cfg); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg
}

// set sets section.key.
func (c rgConfig) set(section, key string, value any) rgConfig {
	if c[section] == nil {
		c[section] = map[string]any{}
	}
	c[section][key] = value
	return c
}

// inboundConfig is testdata/relayguard-inbound.toml listening on a free
// loopback port and relaying to upstream.
func inboundConfig(t *testing.T, upstream string) rgConfig {
	t.Helper()
	return loadConfig(t, "relayguard-inbound.toml").
		set("server", "listen", loopback(freePort(t))).
		set("server", "hostname", "relayguard.test").
		set("relay", "upstream", upstream)
}

// relayguardProc is a running `relayguard serve`.
type relayguardProc struct {
	t       *testing.T
	Addr    string
	dir     string
	args    []string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	log     *syncBuffer
	// terminating is set once SIGTERM was sent to the current process.
	terminating bool
}

// startRelayguard writes cfg and runs `relayguard serve -config FILE` until
// the test ends, then stops it with SIGTERM and expects a clean exit.
func startRelayguard(t *testing.T, cfg rgConfig, extraArgs ...string) *relayguardProc {
	t.Helper()
	dir := testDir(t, "relayguard")
	cfg = withOwnStore(cfg, dir)
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	conf := writeFile(t, dir, "relayguard.toml", buf.String(), 0o644)
	addr, _ := cfg["server"]["listen"].(string)
	args := append([]string{"serve", "-config", conf}, extraArgs...)
	return runRelayguard(t, dir, addr, args, "relayguard.toml:\n"+buf.String())
}

// withOwnStore gives an instance its own store.dir under dir unless the
// test set [store]: instances of parallel tests must not share (and lock)
// the default /var/lib/relayguard.
func withOwnStore(cfg rgConfig, dir string) rgConfig {
	if cfg["store"] == nil {
		cfg = cfg.set("store", "dir", filepath.Join(dir, "store"))
	}
	return cfg
}

// runRelayguard runs the binary with args and waits until addr accepts
// connections.
func runRelayguard(t *testing.T, dir, addr string, args []string, about string) *relayguardProc {
	t.Helper()
	p := &relayguardProc{t: t, Addr: addr, dir: dir, args: args}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("relayguard %s\n%s--- relayguard log\n%s", strings.Join(args, " "), about, p.log)
		}
	})
	p.start()
	return p
}

func (p *relayguardProc) start() {
	t := p.t
	t.Helper()
	if p.log == nil {
		p.log = new(syncBuffer)
	} else {
		p.log.Write([]byte("--- (restarted)\n"))
	}
	began := time.Now()
	defer func() {
		t.Logf("relayguard listening on %s after %v", p.Addr, time.Since(began).Round(time.Millisecond))
	}()
	p.cmd = exec.Command(relayguardBin, p.args...)
	p.cmd.Dir = p.dir
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.terminating = false
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		p.waitErr = cmd.Wait()
		close(exited)
	}(p.cmd, p.exited)
	waitFor(t, startTimeout, "relayguard to listen on "+p.Addr, func() bool {
		select {
		case <-p.exited:
			t.Fatalf("relayguard exited at start: %v\n%s", p.waitErr, p.log)
		default:
		}
		return smtpReady(p.Addr)
	})
}

// stop sends SIGTERM, which must end relayguard cleanly (exit status 0)
// within the bound, and with no data race reported.
func (p *relayguardProc) stop() {
	if p.cmd == nil {
		return
	}
	defer func() { p.cmd = nil }()
	if !p.terminating {
		select {
		case <-p.exited:
			p.t.Errorf("relayguard exited before the test ended: %v", p.waitErr)
			return
		default:
		}
		p.terminate()
	}
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.t.Errorf("relayguard did not exit %v after SIGTERM", stopTimeout)
		p.cmd.Process.Kill()
		<-p.exited
		return
	}
	if p.waitErr != nil {
		p.t.Errorf("relayguard after SIGTERM: %v (want exit status 0)", p.waitErr)
	}
	if strings.Contains(p.log.String(), "WARNING: DATA RACE") {
		p.t.Errorf("relayguard reported a data race")
	}
}

// terminate sends SIGTERM: relayguard stops accepting connections, lets
// messages in DATA finish, and exits. stop then waits for the exit.
func (p *relayguardProc) terminate() {
	p.terminating = true
	p.cmd.Process.Signal(syscall.SIGTERM)
}

// Log is what relayguard wrote to stderr so far.
func (p *relayguardProc) Log() string { return p.log.String() }

// runRelayguardCommand runs the binary with args to completion and returns its output.
func runRelayguardCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(relayguardBin, args...)
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// smtpReady tells whether an SMTP server answers on addr: it reads the
// greeting and says QUIT, so the probe leaves no error in the server's log.
func smtpReady(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	tp := textproto.NewConn(c)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return false
	}
	if err := tp.PrintfLine("QUIT"); err != nil {
		return false
	}
	tp.ReadResponse(221)
	return true
}
