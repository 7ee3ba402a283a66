//go:build linux

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// namespaceAttr runs the child test process in a new network namespace (only
// a loopback interface, so nothing any program under test sends can leave
// the machine) and a new mount namespace (so /etc/resolv.conf can point at
// the tests' DNS server without touching the machine's).
func namespaceAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS,
		Pdeathsig:  syscall.SIGKILL,
	}
}

// isolateNetwork runs in the child: it brings up loopback, starts the test
// DNS server on 127.0.0.1:53 and makes it the resolver of every process
// started from here on (relayguard, Exim, swaks).
func isolateNetwork(dir string) (stop func(), err error) {
	if err := loopbackUp(); err != nil {
		return nil, fmt.Errorf("bringing up lo: %w", err)
	}
	// Mounts made below stay in this namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("making / private: %w", err)
	}
	resolv := filepath.Join(dir, "resolv.conf")
	// One quick try: the server is local and answers everything at once.
	conf := "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n"
	if err := os.WriteFile(resolv, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := unix.Mount(resolv, "/etc/resolv.conf", "", unix.MS_BIND, ""); err != nil {
		return nil, fmt.Errorf("bind-mounting resolv.conf: %w", err)
	}
	return startTestDNS("127.0.0.1:53")
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
