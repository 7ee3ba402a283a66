package integration

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

const unitFile = "../dist/relayguard.service"

// unitValue is the value of the first key= line of a unit file.
func unitValue(t *testing.T, unit, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + key + `=(.*)$`).FindStringSubmatch(unit)
	if m == nil {
		t.Fatalf("the unit has no %s=", key)
	}
	return strings.TrimSpace(m[1])
}

// TestServiceUnitVerifies: systemd-analyze verify finds nothing to say
// about dist/relayguard.service (run with its ExecStart pointing at the
// binary under test, since verify wants the program to exist).
func TestServiceUnitVerifies(t *testing.T) {
	needHarness(t)
	analyze := lookPath("systemd-analyze")
	if analyze == "" {
		missingTool(t, "systemd-analyze is not installed")
	}
	t.Parallel()
	raw, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(string(raw), "/usr/bin/relayguard", relayguardBin)
	path := writeFile(t, testDir(t, "unit"), "relayguard.service", unit, 0o644)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestDebianPackageRunsAsItsUser: the .deb of scripts/build-deb.sh
// installs, its unit verifies against the installed binary, the unit's
// ExecStart runs as the unit's user (systemd is not PID 1 here, so the
// test plays its part: the user, the StateDirectory) and mail flows; the
// same command as root is refused. The package is purged afterwards.
func TestDebianPackageRunsAsItsUser(t *testing.T) {
	needHarness(t)
	if os.Geteuid() != 0 {
		t.Skip("installing a .deb needs root")
	}
	dpkg := lookPath("dpkg")
	if dpkg == "" {
		t.Skip("dpkg is missing: not a Debian system")
	}
	if exec.Command(dpkg, "-s", "relayguard").Run() == nil {
		t.Skip("a relayguard package is installed on this machine: not touching it")
	}
	// Built by the parent process (deb_build_test.go).
	if msg := os.Getenv(envDebErr); msg != "" {
		t.Fatalf("building the package: %s", msg)
	}
	deb := os.Getenv(envDeb)
	if deb == "" {
		t.Fatal("the package was not built: is the test run by TestMain as root?")
	}
	if b, err := exec.Command(dpkg, "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, b)
	}
	t.Cleanup(func() {
		if b, err := exec.Command(dpkg, "--purge", "relayguard").CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge: %v\n%s", err, b)
		}
		if _, err := user.Lookup("relayguard"); err == nil {
			t.Errorf("the relayguard user is still there after the purge")
		}
	})

	unitPath := "/lib/systemd/system/relayguard.service"
	raw, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(raw)
	if analyze := lookPath("systemd-analyze"); analyze != "" {
		if b, err := exec.Command(analyze, "verify", unitPath).CombinedOutput(); err != nil || len(bytes.TrimSpace(b)) != 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unitPath, err, b)
		}
	}
	argv := strings.Fields(unitValue(t, unit, "ExecStart"))
	u, err := user.Lookup(unitValue(t, unit, "User"))
	if err != nil {
		t.Fatalf("the unit's user: %v (the postinst should make it)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)

	// The installed configuration, with loopback ports and a Maildir
	// upstream: written in place, so its mode and group are the package's.
	confPath := argv[len(argv)-1]
	cfg := rgConfig{}
	if _, err := toml.DecodeFile(confPath, &cfg); err != nil {
		t.Fatalf("the installed %s: %v", confPath, err)
	}
	maildir := testDir(t, "maildir")
	os.Chown(maildir, uid, gid)
	addr := loopback(freePort(t))
	cfg.set("server", "listen", addr).set("server", "hostname", "relayguard.test").
		set("relay", "upstream", "maildir:"+maildir).set("access", "local_domains", []string{"example.com"})
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(confPath, buf.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	// StateDirectory=relayguard, as systemd would make it.
	state := filepath.Join("/var/lib", unitValue(t, unit, "StateDirectory"))
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chown(state, uid, gid)

	// Without the tests' escape, as systemd would start it.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RELAYGUARD_ALLOW_ROOT=") {
			env = append(env, kv)
		}
	}
	t.Run("as root it is refused", func(t *testing.T) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		b, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 77 || !strings.Contains(string(b), "refusing to run as root") {
			t.Errorf("%s as root: %v\n%s", strings.Join(argv, " "), err, b)
		}
	})

	t.Run("as its user mail flows", func(t *testing.T) {
		log := new(syncBuffer)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		cmd.Dir = "/"
		cmd.Stdout, cmd.Stderr = log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("after SIGTERM: %v", err)
				}
			case <-time.After(stopTimeout):
				cmd.Process.Kill()
				t.Errorf("no exit %v after SIGTERM", stopTimeout)
			}
			if t.Failed() {
				t.Logf("relayguard log:\n%s", log)
			}
		}()
		waitFor(t, startTimeout, "the packaged relayguard to listen on "+addr, func() bool {
			select {
			case err := <-exited:
				exited <- err
				t.Fatalf("exited at start: %v\n%s", err, log)
			default:
			}
			return smtpReady(addr)
		})
		tr := runSwaks(t, addr, "--from", "sam@client.test", "--to", "alice@example.com",
			"--data", testMessage("sam@client.test", "alice@example.com", "from the package", hamBody))
		tr.exit(t, swaksOK)
		waitMaildir(t, maildir, 1)
		if _, err := os.Stat(filepath.Join(state, "relayguard.db")); err != nil {
			t.Errorf("the store is not in the StateDirectory: %v", err)
		}
	})
}

// TestServeNotifiesSystemd: under Type=notify, systemd hears READY=1 once
// the listener is up (a connection is answered by then), RELOADING=1 and
// READY=1 around a SIGHUP reload, and STOPPING=1 at SIGTERM.
func TestServeNotifiesSystemd(t *testing.T) {
	needHarness(t)
	t.Parallel()
	dir := testDir(t, "notify")
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cfg := withOwnStore(inboundConfig(t, "maildir:"+testDir(t, "maildir")), dir)
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	conf := writeFile(t, dir, "relayguard.toml", buf.String(), 0o644)
	addr, _ := cfg["server"]["listen"].(string)
	log := new(syncBuffer)
	cmd := exec.Command(relayguardBin, "serve", "-config", conf)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("relayguard log:\n%s", log)
		}
	}()
	next := func(want string) {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(startTimeout))
		b := make([]byte, 4096)
		n, err := conn.Read(b)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if got := string(b[:n]); !strings.HasPrefix(got, want) {
			t.Fatalf("notification %q, want %s", got, want)
		}
	}
	next("READY=1")
	// Ready means listening: the greeting comes without waiting.
	if !smtpReady(addr) {
		t.Errorf("READY=1 before %s answers", addr)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	next("RELOADING=1\nMONOTONIC_USEC=")
	next("READY=1")
	cmd.Process.Signal(syscall.SIGTERM)
	next("STOPPING=1")
}
