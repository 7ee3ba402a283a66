package integration

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// swaksMailFailed is swaks' exit code for an error in the MAIL transaction.
const swaksMailFailed = 23

// limitedPair is relayguard in front of Exim with AUTH for sam (relaying
// only after AUTH) and the limits in limits, TOML appended to the file
// since rgConfig holds no [[array]] tables. It returns the config file too,
// for `relayguard ratelimit` runs against the same store.
func limitedPair(t *testing.T, limits string) (*eximDaemon, *relayguardProc, string) {
	t.Helper()
	ex := startInboundExim(t)
	cfg := inboundConfig(t, ex.addr(0))
	dir := testDir(t, "limits")
	cert, key := selfSignedCert(t, dir)
	cfg.set("server", "tls_cert", cert)
	cfg.set("server", "tls_key", key)
	cfg.set("access", "relay_networks", []string{"192.0.2.0/24"})
	cfg.set("access", "local_domains", []string{})
	cfg.set("access", "users_file", usersFile(t, dir, map[string]string{"sam": "correct horse battery staple"}))
	cfg.set("store", "dir", dir)
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("\n" + limits + "\n")
	conf := writeFile(t, dir, "relayguard.toml", buf.String(), 0o644)
	addr, _ := cfg["server"]["listen"].(string)
	rg := runRelayguard(t, dir, addr, []string{"serve", "-config", conf}, "relayguard.toml:\n"+buf.String())
	return ex, rg, conf
}

// samSends sends one message as sam, authenticated, to a remote address.
func samSends(t *testing.T, rg *relayguardProc, subject, body string) transcript {
	return runSwaks(t, rg.Addr, "--tls", "--auth", "PLAIN", "--auth-user", "sam",
		"--auth-password", "correct horse battery staple",
		"--from", "sam@client.test", "--to", "alice@example.com",
		"--data", messageFile(t, "sam@client.test", "alice@example.com", subject, body))
}

// runRatelimit runs the real binary's `relayguard ratelimit ARGS...`.
func runRatelimit(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, relayguardBin, append([]string{"ratelimit"}, args...)...).CombinedOutput()
	t.Logf("relayguard ratelimit %s\n%s", strings.Join(args, " "), out)
	return string(out), err
}

func TestAccountOverItsLimitIsTempfailed(t *testing.T) {
	needHarness(t)
	needSwaksTLS(t)
	t.Parallel()
	ex, rg, _ := limitedPair(t, `
[[ratelimit]]
key = "user"
window = "hour"
messages = 2
`)
	for i := 0; i < 2; i++ {
		samSends(t, rg, "Budget notes", hamBody).exit(t, swaksOK)
	}
	tr := samSends(t, rg, "Budget notes", hamBody)
	tr.exit(t, swaksMailFailed)
	tr.expect(t, "C: AUTH PLAIN", "S: 235 ", "C: MAIL FROM:<sam@client.test>",
		"S: 451 4.7.1 user sam sent 2 messages in the last hour, the limit is 2; try again later")
	waitMaildir(t, ex.maildir("alice"), 2)
	if !strings.Contains(rg.log.String(), "key=user:sam") {
		t.Errorf("no log line names the key that tripped:\n%s", rg.log)
	}
}

func TestSpammingAccountIsHeldUntilReleased(t *testing.T) {
	needHarness(t)
	needSwaksTLS(t)
	t.Parallel()
	_, rg, conf := limitedPair(t, `
[hold]
spam_messages = 3
window = "10m"
duration = "1h"
`)
	for i := 0; i < 3; i++ {
		tr := samSends(t, rg, "You won", "Claim now.\n"+gtube+"\n")
		tr.exit(t, swaksDotRefused)
		tr.expect(t, "C: .", "S: 554 5.7.1 ")
	}
	tr := samSends(t, rg, "Budget notes", hamBody)
	tr.exit(t, swaksMailFailed)
	tr.expect(t, "C: MAIL FROM:<sam@client.test>",
		"S: 451 4.7.1 account sam is held: 3 messages scored as spam in 10 minutes; ask the postmaster")
	if log := rg.log.String(); !strings.Contains(log, `level=ERROR msg="account held`) || !strings.Contains(log, "user=sam") {
		t.Errorf("no ERROR line names the held account:\n%s", log)
	}

	// The running serve holds the embedded store: the command reaches it
	// through the control socket.
	out, err := runRatelimit(t, "release", "-config", conf, "sam")
	if err != nil {
		t.Fatalf("ratelimit release: %v", err)
	}
	if !strings.Contains(out, "account sam released") {
		t.Fatalf("release said %q", out)
	}
	samSends(t, rg, "Budget notes", hamBody).exit(t, swaksOK)
}

func TestPasswordGuesserBlockedFromAUTH(t *testing.T) {
	needHarness(t)
	needSwaksTLS(t)
	t.Parallel()
	_, rg, _ := limitedPair(t, `
[auth_failures]
max = 2
window = "10m"
block = "1h"
`)
	guess := func(password string) transcript {
		return runSwaks(t, rg.Addr, "--tls", "--auth", "PLAIN", "--auth-user", "sam", "--auth-password", password,
			"--from", "sam@client.test", "--to", "alice@example.com",
			"--data", messageFile(t, "sam@client.test", "alice@example.com", "Budget notes", hamBody))
	}
	for _, pw := range []string{"guess1", "guess2"} {
		tr := guess(pw)
		tr.exit(t, swaksAuthFailed)
		tr.expect(t, "C: AUTH PLAIN", "S: 535 5.7.8 ")
	}
	// Now even the right password waits: the address is blocked, in a
	// new session, with a temporary reply.
	tr := guess("correct horse battery staple")
	tr.exit(t, swaksAuthFailed)
	tr.expect(t, "C: AUTH PLAIN", "S: 454 4.7.0 Too many failed logins from your address, try again later")
	if !strings.Contains(rg.log.String(), "AUTH blocked for the client address") {
		t.Errorf("no log line for the block:\n%s", rg.log)
	}
}
