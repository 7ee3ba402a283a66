package integration

import (
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// TestSIGTERMFinishesMessageInDATA: SIGTERM is a graceful shutdown. A
// client in the middle of DATA finishes its message and hears 250 (the
// message is delivered), new connections are no longer served, and
// relayguard exits with status 0.
func TestSIGTERMFinishesMessageInDATA(t *testing.T) {
	needHarness(t)
	t.Parallel()
	ex, rg := inboundPair(t, nil)

	c := dialSMTP(t, rg.Addr)
	c.expect(t, 220)
	c.send(t, "EHLO client.test")
	c.expect(t, 250)
	c.send(t, "MAIL FROM:<sam@client.test>")
	c.expect(t, 250)
	c.send(t, "RCPT TO:<alice@example.com>")
	c.expect(t, 250)
	c.send(t, "DATA")
	c.expect(t, 354)
	msg := strings.ReplaceAll(testMessage("sam@client.test", "alice@example.com", "Budget notes", hamBody), "\n", "\r\n")
	half := len(msg) / 2
	c.write(t, msg[:half])

	rg.terminate()
	waitFor(t, startTimeout, "relayguard to log its shutdown", func() bool {
		return strings.Contains(rg.Log(), "shutting down")
	})
	waitFor(t, startTimeout, "relayguard to stop serving new connections", func() bool {
		n, err := net.DialTimeout("tcp", rg.Addr, time.Second)
		if err != nil {
			return true // refused: the listener is closed
		}
		defer n.Close()
		n.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := textproto.NewConn(n).ReadLine()
		return err != nil || strings.HasPrefix(line, "421")
	})

	c.write(t, msg[half:]+".\r\n")
	c.expect(t, 250)
	c.send(t, "QUIT")
	rg.stop() // waits for the exit and checks its status
	waitMaildir(t, ex.maildir("alice"), 1)
}
