package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// Exit codes of serve a service manager acts on: dist/relayguard.service
// names them in RestartPreventExitStatus, since restarting cannot cure
// either. Other failures (the port taken, the store locked) exit 1 and are
// retried.
const (
	// exitConfig: the configuration, or a file it names (rules, users,
	// TLS certificate), has an error (sysexits.h EX_CONFIG).
	exitConfig = 78
	// exitRoot: started as root, which relayguard refuses
	// (sysexits.h EX_NOPERM).
	exitRoot = 77
)

// allowRootEnv lets serve run as root. It exists for the integration
// tests, whose harness runs everything as root inside private namespaces;
// it is unsafe anywhere else: an SMTP parser facing the Internet should
// hold no more than the right to bind port 25 (see the README).
const allowRootEnv = "RELAYGUARD_ALLOW_ROOT"

// refuseRoot says why serve will not run as root, or "" when it may.
func refuseRoot(euid int, getenv func(string) string) string {
	if euid != 0 || getenv(allowRootEnv) == "1" {
		return ""
	}
	return "relayguard: refusing to run as root: an SMTP server facing the Internet needs only the right to bind port 25.\n" +
		"Run it as its own user: the systemd unit (dist/relayguard.service) grants CAP_NET_BIND_SERVICE and nothing else;\n" +
		"by hand: setcap cap_net_bind_service=+ep /usr/bin/relayguard, then runuser -u relayguard -- relayguard serve -config FILE.\n" +
		"(relayguard dev, for trying it out on one machine, may run as root.)"
}

// configError marks a failure that is the configuration's (or a file it
// names): serve exits exitConfig for it.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

func asConfigError(err error) error {
	if err == nil {
		return nil
	}
	return configError{err}
}

// exitCodeOf is serve's exit code for err.
func exitCodeOf(err error) int {
	if errors.As(err, new(configError)) {
		return exitConfig
	}
	return 1
}

// The systemd notifications of Type=notify (sd_notify(3)), sent with
// coreos/go-systemd; without NOTIFY_SOCKET (not started by systemd) they
// are no-ops.

// notifyReady tells systemd the listener is up and mail is taken.
func notifyReady(log *slog.Logger) { notify(log, daemon.SdNotifyReady) }

// notifyReloading starts a reload; systemd (since v253) wants the
// monotonic clock with it, to match the READY=1 that ends it.
func notifyReloading(log *slog.Logger) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		notify(log, daemon.SdNotifyReloading)
		return
	}
	usec := ts.Nano() / int64(time.Microsecond)
	notify(log, fmt.Sprintf("%s\nMONOTONIC_USEC=%d", daemon.SdNotifyReloading, usec))
}

func notifyStopping(log *slog.Logger) { notify(log, daemon.SdNotifyStopping) }

func notify(log *slog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn("cannot notify systemd", "state", state, "err", err)
	}
}

// refuseRootOrExit is serve's first step; it returns the exit code when
// serve must not go on (0: go on).
func refuseRootOrExit(stderr io.Writer) int {
	if msg := refuseRoot(os.Geteuid(), os.Getenv); msg != "" {
		fmt.Fprintln(stderr, msg)
		return exitRoot
	}
	return 0
}
