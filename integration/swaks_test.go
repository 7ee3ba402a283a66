package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// swaks exit codes (swaks --help, EXIT CODES) the tests expect.
const (
	swaksOK         = 0
	swaksRcptFailed = 24 // no RCPTs accepted
	swaksDotRefused = 26 // server did not accept mail following data
	swaksAuthFailed = 28 // error in AUTH transaction
)

// transcript is what swaks printed, normalised to one line per event:
//
//	C: RCPT TO:<a%b@example.com>   the client sent (in clear or over TLS)
//	S: 554 5.7.1 Relay access denied   the server answered
//	I: TLS started with cipher ...  swaks informs
//	E: Host did not advertise authentication   swaks complains
type transcript struct {
	Lines []string
	Raw   string
	Exit  int
}

// swaksPrefixes maps swaks' line markers to transcript markers.
var swaksPrefixes = []struct{ swaks, ours string }{
	{"<-  ", "S: "}, {"<** ", "S: "}, {"<~  ", "S: "}, {"<~* ", "S: "},
	{" -> ", "C: "}, {" ~> ", "C: "}, {"**> ", "C: "}, {"*~> ", "C: "},
	{"=== ", "I: "}, {"*** ", "E: "},
}

func parseSwaks(raw string) []string {
	var lines []string
	for _, line := range strings.Split(strings.TrimRight(raw, "\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		norm := "?: " + line
		for _, p := range swaksPrefixes {
			if rest, ok := strings.CutPrefix(line, p.swaks); ok {
				norm = p.ours + rest
				break
			}
		}
		lines = append(lines, norm)
	}
	return lines
}

// runSwaks runs swaks against server with args (--from, --to, ...), with a
// fixed HELO name and a bounded time, and returns its transcript.
func runSwaks(t *testing.T, server string, args ...string) transcript {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--server", server, "--helo", "client.test", "--timeout", "60"}, args...)
	cmd := exec.CommandContext(ctx, swaksBin, all...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	tr := transcript{Raw: string(out), Lines: parseSwaks(string(out))}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		t.Fatalf("swaks %s: no end after 90s\n%s", strings.Join(all, " "), out)
	case errors.As(err, &exit):
		tr.Exit = exit.ExitCode()
	default:
		t.Fatalf("swaks: %v", err)
	}
	t.Logf("swaks %s  (exit %d, %v)\n%s", strings.Join(args, " "), tr.Exit, took.Round(time.Millisecond), tr.Raw)
	return tr
}

// expect checks that the transcript holds lines starting with each of
// want, in this order (other lines may come between), like a chat script:
//
//	tr.expect(t, "C: RCPT TO:<a%b@example.com>", "S: 554 5.7.1 ")
func (tr transcript) expect(t *testing.T, want ...string) {
	t.Helper()
	i := 0
	for _, line := range tr.Lines {
		if i < len(want) && strings.HasPrefix(line, want[i]) {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("transcript lacks %q (after %q)\n%s", want[i], want[:i], tr)
	}
}

// lacks checks that no line starts with any of prefixes.
func (tr transcript) lacks(t *testing.T, prefixes ...string) {
	t.Helper()
	for _, line := range tr.Lines {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				t.Errorf("transcript has %q, did not want %q\n%s", line, p, tr)
			}
		}
	}
}

// exit checks swaks' exit code.
func (tr transcript) exit(t *testing.T, want int) {
	t.Helper()
	if tr.Exit != want {
		t.Errorf("swaks exit code %d, want %d\n%s", tr.Exit, want, tr)
	}
}

// dataReply is the server's reply to the end of DATA, the message's fate.
func (tr transcript) dataReply() []string {
	return tr.replyAfter(func(line string) bool { return line == "C: ." })
}

// replyAfter is the server's reply, one entry per line, to the last client
// line that is picked by isCommand.
func (tr transcript) replyAfter(isCommand func(string) bool) []string {
	for i := len(tr.Lines) - 1; i >= 0; i-- {
		if !isCommand(tr.Lines[i]) {
			continue
		}
		var reply []string
		for _, next := range tr.Lines[i+1:] {
			if strings.HasPrefix(next, "C: ") {
				break
			}
			if rest, ok := strings.CutPrefix(next, "S: "); ok {
				reply = append(reply, rest)
			}
		}
		return reply
	}
	return nil
}

func (tr transcript) String() string {
	return fmt.Sprintf("--- swaks transcript (exit %d)\n%s", tr.Exit, tr.Raw)
}

// smtpConn is a hand-driven SMTP client for what swaks cannot do (stop in
// the middle of DATA, send a command that was not advertised). Every line
// both ways goes to the test log, in swaks' notation.
type smtpConn struct {
	conn net.Conn
	tp   *textproto.Conn
}

func dialSMTP(t *testing.T, addr string) *smtpConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(90 * time.Second))
	return &smtpConn{conn: conn, tp: textproto.NewConn(conn)}
}

// send sends one command line.
func (c *smtpConn) send(t *testing.T, line string) {
	t.Helper()
	t.Logf(" -> %s", line)
	if err := c.tp.PrintfLine("%s", line); err != nil {
		t.Fatal(err)
	}
}

// write sends raw bytes (message data, CRLF line ends included).
func (c *smtpConn) write(t *testing.T, data string) {
	t.Helper()
	t.Logf(" -> (%d bytes of data)", len(data))
	if _, err := c.tp.W.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := c.tp.W.Flush(); err != nil {
		t.Fatal(err)
	}
}

// reply reads one (possibly multi-line) reply.
func (c *smtpConn) reply(t *testing.T) (code int, text string) {
	t.Helper()
	code, text, err := c.tp.ReadResponse(0)
	if err != nil {
		t.Fatalf("reading reply: %v", err)
	}
	t.Logf("<-  %d %s", code, strings.ReplaceAll(text, "\n", "\n<-  "))
	return code, text
}

// expect reads a reply and fails the test unless its code is want.
func (c *smtpConn) expect(t *testing.T, want int) string {
	t.Helper()
	code, text := c.reply(t)
	if code != want {
		t.Fatalf("reply %d %s, want %d", code, text, want)
	}
	return text
}
