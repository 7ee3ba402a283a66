package integration

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"relayguard/internal/store/redistest"
)

// sharedPair is two relayguard instances, as behind a load balancer, on
// one real Redis, relaying to one maildir, with the limits in extra (TOML
// appended: rgConfig holds no [[array]] tables).
func sharedPair(t *testing.T, redisURL, extra string) (a, b *relayguardProc, conf, delivered string) {
	t.Helper()
	upstream, delivered := maildirUpstream(t)
	var procs [2]*relayguardProc
	for i := range procs {
		cfg := inboundConfig(t, upstream).
			set("store", "redis", redisURL).
			set("store", "on_error", "accept").
			set("classifier", "min_learns", 3)
		dir := testDir(t, fmt.Sprintf("instance%d", i))
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
			t.Fatal(err)
		}
		buf.WriteString("\n" + extra + "\n")
		conf = writeFile(t, dir, "relayguard.toml", buf.String(), 0o644)
		addr, _ := cfg["server"]["listen"].(string)
		procs[i] = runRelayguard(t, dir, addr, []string{"serve", "-config", conf}, "relayguard.toml:\n"+buf.String())
	}
	return procs[0], procs[1], conf, delivered
}

// sendAs sends one message from sender to a local recipient.
func sendAs(t *testing.T, rg *relayguardProc, sender, subject, body string) transcript {
	t.Helper()
	return runSwaks(t, rg.Addr, "--from", sender, "--to", "alice@example.com",
		"--data", messageFile(t, sender, "alice@example.com", subject, body))
}

// TestTwoInstancesShareOneRedis: what one instance learns or counts, the
// other sees; with Redis gone mail flows (store.on_error = "accept"), and
// the limits work again once Redis is back.
func TestTwoInstancesShareOneRedis(t *testing.T) {
	needHarness(t)
	if lookPath("redis-server") == "" {
		missingTool(t, "redis-server not installed")
	}
	srv := redistest.Start(t)
	a, b, conf, delivered := sharedPair(t, srv.URL(0), `
[[ratelimit]]
key = "sender"
window = "hour"
messages = 2
`)

	t.Run("a limit holds across both", func(t *testing.T) {
		sendAs(t, a, "pat@sender.test", "one", hamBody).exit(t, swaksOK)
		sendAs(t, b, "pat@sender.test", "two", hamBody).exit(t, swaksOK)
		tr := sendAs(t, a, "pat@sender.test", "three", hamBody)
		tr.exit(t, swaksMailFailed)
		tr.expect(t, "C: MAIL FROM:<pat@sender.test>", "S: 451 4.7.1 sender pat@sender.test sent 2 messages in the last hour, the limit is 2")
		if tr := sendAs(t, b, "pat@sender.test", "four", hamBody); tr.Exit != swaksMailFailed {
			t.Errorf("the other instance let the sender over the shared limit:\n%s", tr)
		}
	})

	t.Run("learning once is seen by both", func(t *testing.T) {
		dir := testDir(t, "learn")
		for i := range 3 {
			writeFile(t, dir, fmt.Sprintf("spam%d.eml", i), testMessage("deals@offers.test", "alice@example.com",
				"Exclusive crypto wallet bonus", fmt.Sprintf("Claim your exclusive wallet bonus %d now, limited offer, unlock rewards today.\n", i)), 0o644)
			writeFile(t, dir, fmt.Sprintf("ham%d.eml", i), testMessage("colleague@work.test", "alice@example.com",
				"Minutes of the meeting", fmt.Sprintf("Hi Alice, the minutes of meeting %d are attached to the wiki page.\n", i)), 0o644)
		}
		for _, class := range []string{"spam", "ham"} {
			out, err := exec.Command(relayguardBin, "learn", "--"+class, "-config", conf, filepath.Join(dir, class+"0.eml"),
				filepath.Join(dir, class+"1.eml"), filepath.Join(dir, class+"2.eml")).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "learned 3 messages as "+class) {
				t.Fatalf("learn --%s: %v\n%s", class, err, out)
			}
		}
		for i, rg := range []*relayguardProc{a, b} {
			subject := fmt.Sprintf("Exclusive crypto wallet bonus via %d", i)
			sendAs(t, rg, fmt.Sprintf("deals%d@offers.test", i), subject, "Claim your exclusive wallet bonus now, limited offer, unlock rewards today.\n").exit(t, swaksOK)
			got := waitSubject(t, delivered, subject)
			tests := strings.Join(spamTests(t, got), ",")
			if !strings.Contains(tests, "BAYES_9") {
				t.Errorf("instance %d: X-Spam-Status %q, want a BAYES_9x band from what was learned", i, got.Header("X-Spam-Status"))
			}
		}
	})

	t.Run("Redis gone: mail flows, limits back with Redis", func(t *testing.T) {
		srv.Stop()
		for i := range 3 { // over the limit of 2, but the store cannot count
			sendAs(t, a, "kim@sender.test", fmt.Sprintf("outage %d", i), hamBody).exit(t, swaksOK)
		}
		srv.Restart()
		sendAs(t, a, "lee@sender.test", "back 1", hamBody).exit(t, swaksOK)
		sendAs(t, b, "lee@sender.test", "back 2", hamBody).exit(t, swaksOK)
		if tr := sendAs(t, a, "lee@sender.test", "back 3", hamBody); tr.Exit != swaksMailFailed {
			t.Errorf("after Redis came back the limit did not hold:\n%s", tr)
		}
		if n := strings.Count(a.log.String(), "level=ERROR"); n == 0 || n > 3 {
			t.Errorf("%d ERROR lines for one outage, want it said once (per part that uses the store):\n%s", n, a.log)
		}
	})
}

// waitSubject waits for the delivered message with subject.
func waitSubject(t *testing.T, dir, subject string) message {
	t.Helper()
	var got message
	waitFor(t, deliverTimeout, "a message with subject "+subject, func() bool {
		for _, m := range maildirMessages(t, dir) {
			if m.Header("Subject") == subject {
				got = m
				return true
			}
		}
		return false
	})
	return got
}
