package integration

import (
	"bytes"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every wait in these tests is a bounded poll: the condition is checked
// until it holds or the bound passes. Bounds are generous (a loaded CI
// machine, relayguard built with -race); nothing asserts on timing.
const (
	startTimeout   = 60 * time.Second // a daemon comes up and listens
	deliverTimeout = 60 * time.Second // a message reaches a Maildir
	stopTimeout    = 60 * time.Second // a daemon exits after SIGTERM
	pollInterval   = 20 * time.Millisecond
)

// waitFor polls cond until it returns true, failing the test with what when
// timeout passes first.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", timeout, what)
		}
		time.Sleep(pollInterval)
	}
}

var (
	portsMu sync.Mutex
	ports   = map[int]bool{}
)

// freePort returns a loopback TCP port nothing listens on, never the same
// twice in a run (tests run in parallel and each has its own daemons).
func freePort(t *testing.T) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !ports[port] {
			ports[port] = true
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// testDir makes a directory for one daemon under the run's work directory,
// readable by Exim's run-time user.
func testDir(t *testing.T, name string) string {
	t.Helper()
	// Short: Exim's daemon notifier socket lives under its spool directory,
	// and a Unix socket name has room for 107 bytes.
	clean := strings.NewReplacer("/", "-", " ", "_").Replace(strings.TrimPrefix(t.Name(), "Test"))
	if len(clean) > 24 {
		clean = clean[:24]
	}
	dir, err := os.MkdirTemp(workDir, clean+"-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// message is one delivered file of a Maildir.
type message struct {
	Path string
	Raw  string
	Msg  *mail.Message
}

// Header returns the first value of a header field, "" when absent.
func (m message) Header(name string) string { return m.Msg.Header.Get(name) }

// Headers returns every value of a header field, in order.
func (m message) Headers(name string) []string {
	return m.Msg.Header[textproto.CanonicalMIMEHeaderKey(name)]
}

// maildirMessages reads the messages in dir/new and dir/cur, oldest name
// first. A missing directory holds no messages.
func maildirMessages(t *testing.T, dir string) []message {
	t.Helper()
	var paths []string
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				paths = append(paths, filepath.Join(dir, sub, e.Name()))
			}
		}
	}
	sort.Strings(paths)
	var msgs []message
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v\n%s", p, err, raw)
		}
		msgs = append(msgs, message{Path: p, Raw: string(raw), Msg: m})
	}
	return msgs
}

// waitMaildir waits until dir holds n messages and returns them.
func waitMaildir(t *testing.T, dir string, n int) []message {
	t.Helper()
	var msgs []message
	began := time.Now()
	defer func() {
		t.Logf("%d message(s) in %s after %v", len(msgs), dir, time.Since(began).Round(time.Millisecond))
	}()
	waitFor(t, deliverTimeout, fmt.Sprintf("%d message(s) in %s", n, dir), func() bool {
		msgs = maildirMessages(t, dir)
		return len(msgs) >= n
	})
	if len(msgs) != n {
		t.Fatalf("%s holds %d messages, want %d", dir, len(msgs), n)
	}
	return msgs
}

// testMessage is an ordinary RFC 5322 message; Message-ID is unique, so a
// delivered copy can be matched to its test.
func testMessage(from, to, subject, body string) string {
	id := fmt.Sprintf("<%d.%d@client.test>", time.Now().UnixNano(), os.Getpid())
	return "From: Sender <" + from + ">\n" +
		"To: <" + to + ">\n" +
		"Subject: " + subject + "\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\n" +
		"Message-ID: " + id + "\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: text/plain; charset=utf-8\n" +
		"\n" + body
}

// hamBody reads like mail a person writes.
const hamBody = `Hi Alice,

thanks for the notes from Tuesday. I went through the budget sheet and
the numbers for the second quarter look right to me; the only open point
is the travel line, which Bob wanted to split by team.

Could we go over it on Thursday after the stand-up?

Cheers,
Sam
`

// gtube is the Generic Test for Unsolicited Bulk Email: any content filter
// scores a message holding it as certain spam (relayguard: 1000).
const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// writeFile writes content into dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	return p
}
