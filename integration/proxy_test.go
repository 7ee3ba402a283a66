package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestProxyProtocolThroughHAProxy: relayguard behind a real HAProxy
// (send-proxy-v2) judges, logs and stamps the client HAProxy saw, not
// HAProxy; a PROXY header sent directly from an address outside
// server.proxy_protocol_from is refused.
func TestProxyProtocolThroughHAProxy(t *testing.T) {
	needHarness(t)
	haproxy := lookPath("haproxy")
	if haproxy == "" {
		missingTool(t, "haproxy is not installed")
	}
	t.Parallel()
	maildir := testDir(t, "maildir")
	// HAProxy connects from 127.0.0.4, the only balancer; clients (and
	// the harness's readiness probe) come from other loopback addresses.
	rg := startRelayguard(t, inboundConfig(t, "maildir:"+maildir).
		set("server", "proxy_protocol_from", []string{"127.0.0.4/32"}).
		set("log", "format", "json"))

	front := loopback(freePort(t))
	dir := testDir(t, "haproxy")
	conf := writeFile(t, dir, "haproxy.cfg", fmt.Sprintf(`global
    maxconn 100
defaults
    mode tcp
    timeout connect 10s
    timeout client 90s
    timeout server 90s
frontend smtp
    bind %s
    default_backend relayguard
backend relayguard
    server rg %s source 127.0.0.4 send-proxy-v2
`, front, rg.Addr), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, haproxy, "-db", "-f", conf)
	hlog := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = hlog, hlog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy log:\n%s", hlog)
		}
	})
	waitFor(t, startTimeout, "haproxy to pass connections to relayguard on "+front, func() bool { return smtpReady(front) })

	t.Run("the client behind HAProxy is the one judged", func(t *testing.T) {
		tr := runSwaks(t, front, "--local-interface", "127.0.0.2", "--from", "sam@client.test", "--to", "alice@example.com",
			"--data", testMessage("sam@client.test", "alice@example.com", "via haproxy", hamBody))
		tr.exit(t, swaksOK)
		got := waitMaildir(t, maildir, 1)[0]
		received := got.Headers("Received")
		if len(received) == 0 || !strings.Contains(received[0], "[127.0.0.2]") {
			t.Errorf("relayguard's Received %q, want the client's address 127.0.0.2", received)
		}
		waitFor(t, deliverTimeout, "the message's log line", func() bool {
			return strings.Contains(rg.Log(), `"msg":"message"`)
		})
		for _, line := range strings.Split(rg.Log(), "\n") {
			if strings.Contains(line, `"msg":"message"`) && !strings.Contains(line, `"ip":"127.0.0.2"`) {
				t.Errorf("log line names another address than the client's:\n%s", line)
			}
		}
	})

	t.Run("a PROXY header from outside proxy_protocol_from is refused", func(t *testing.T) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}, Timeout: 10 * time.Second}
		conn, err := d.Dial("tcp", rg.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(conn, "PROXY TCP4 192.0.2.1 127.0.0.1 40000 25\r\nEHLO forged.test\r\n")
		r := bufio.NewReader(conn)
		var replies []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			replies = append(replies, strings.TrimSpace(line))
		}
		if len(replies) != 2 || !strings.HasPrefix(replies[0], "220 ") || !strings.HasPrefix(replies[1], "554 5.7.1 ") {
			t.Errorf("replies %q, want the greeting, 554 5.7.1 and the connection closed", replies)
		}
		if n := len(maildirMessages(t, maildir)); n != 1 {
			t.Errorf("%d messages delivered, want only the first", n)
		}
	})

	t.Run("the balancer's address without a header is closed", func(t *testing.T) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}, Timeout: 10 * time.Second}
		conn, err := d.Dial("tcp", rg.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(conn, "EHLO inside.test\r\n")
		if got, err := io.ReadAll(conn); err != nil || len(got) != 0 {
			t.Errorf("read %q, %v; want the connection closed without a greeting", got, err)
		}
	})
}
