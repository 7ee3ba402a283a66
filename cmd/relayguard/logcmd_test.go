package main

import (
	"bytes"
	"compress/gzip"
	"log/slog"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"relayguard/filter"
	"relayguard/internal/access"
	"relayguard/scoring"
)

// lockedBuffer is a log the server writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// realLog runs the real front door with the JSON logger of log.format =
// "json", sends a ham message and a GTUBE one through it, and returns the
// log and the reference the GTUBE sender was told. Built from the real
// logger, not written by hand, so a change of the log line's shape fails
// these tests.
func realLog(t *testing.T) (log, rejectRef string) {
	t.Helper()
	engine, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second, Checks: []scoring.Check{scoring.GTUBE{}}})
	if err != nil {
		t.Fatal(err)
	}
	up, err := filter.NewMaildirUpstream(t.TempDir(), "relayguard.test")
	if err != nil {
		t.Fatal(err)
	}
	var buf lockedBuffer
	policy := &filter.Policy{Access: access.New(access.Options{LocalDomains: []string{"example.com"}})}
	srv := filter.NewServer(filter.Options{
		Hostname: "relayguard.test", MaxMessageBytes: 1 << 20, MaxRecipients: 10,
		MaxConnections: 10, MaxConnectionsPerIP: 10, MaxLineLength: 2000, MaxHeaderBytes: 65536,
		IdleTimeout: 10 * time.Second, DataTimeout: 10 * time.Second, RelayTimeout: 10 * time.Second,
		SpoolMemoryBytes: 1 << 20,
	}, policy, nil, engine, up, newLogger("json", "info", &buf))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Shutdown(t.Context())
	send := func(from string, to []string, body string) error {
		msg := "From: <" + from + ">\r\nTo: <" + to[0] + ">\r\nSubject: hello\r\nDate: " + time.Now().Format(time.RFC1123Z) +
			"\r\nMessage-ID: <" + from + ">\r\n\r\n" + body + "\r\n"
		return smtp.SendMail(l.Addr().String(), nil, from, to, []byte(msg))
	}
	if err := send("alice@example.org", []string{"bob@example.com"}, "Lunch on Thursday?"); err != nil {
		t.Fatalf("ham: %v", err)
	}
	err = send("spam@bulk.mail.example.net", []string{"carol@example.com", "dave@example.com"}, "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X")
	m := regexp.MustCompile(`Reference ([A-Z0-9]{12})`).FindStringSubmatch(errString(err))
	if m == nil {
		t.Fatalf("GTUBE: %v, want a 554 naming a reference", err)
	}
	// The log line is written before the reply; the ham's before its 250.
	if n := strings.Count(buf.String(), `"msg":"message"`); n != 2 {
		t.Fatalf("%d message lines, want 2:\n%s", n, buf.String())
	}
	return buf.String(), m[1]
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestLogFindsVerdicts: every filter picks the verdicts it names out of a
// real log, and prints why.
func TestLogFindsVerdicts(t *testing.T) {
	log, ref := realLog(t)
	path := filepath.Join(t.TempDir(), "relayguard.json")
	os.WriteFile(path, []byte("not json\n"+log), 0o644)
	today := time.Now().Format(time.DateOnly)
	tomorrow := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	for _, tc := range []struct {
		name  string
		args  []string
		exit  int
		want  []string // in the output
		count int      // blocks printed
	}{
		{"by reference", []string{"--ref", ref}, 0, []string{"ref " + ref, "reject", "GTUBE 1000.0  message contains the GTUBE anti-spam test string", "<spam@bulk.mail.example.net>", "<carol@example.com>, <dave@example.com>", "554 5.7.1"}, 1},
		{"reference in lower case", []string{"--ref", strings.ToLower(ref)}, 0, []string{"ref " + ref}, 1},
		{"sender domain covers subdomains", []string{"--from", "example.net"}, 0, []string{"GTUBE"}, 1},
		{"sender address", []string{"--from", "Alice@Example.org"}, 0, []string{"<alice@example.org>", "accept"}, 1},
		{"any recipient", []string{"--to", "dave@example.com"}, 0, []string{"GTUBE"}, 1},
		{"recipient domain", []string{"--to", "example.com"}, 0, nil, 2},
		{"action", []string{"--action", "reject", "--from", "example.net", "--to", "carol@example.com"}, 0, []string{"GTUBE"}, 1},
		{"client IP", []string{"--ip", "127.0.0.1"}, 0, []string{"client   127.0.0.1"}, 2},
		{"client network", []string{"--ip", "127.0.0.0/8", "--action", "accept"}, 0, nil, 1},
		{"another network", []string{"--ip", "192.0.2.0/24"}, 1, nil, 0},
		{"today, whole day", []string{"--since", today, "--until", today}, 0, nil, 2},
		{"since tomorrow", []string{"--since", tomorrow}, 1, nil, 0},
		{"no such reference", []string{"--ref", "AAAAAAAAAAAA"}, 1, nil, 0},
		{"a bad date", []string{"--since", "Tuesday"}, 2, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(append(append([]string{"log"}, tc.args...), path)...)
			if code != tc.exit {
				t.Fatalf("exit %d, want %d; stderr %q\n%s", code, tc.exit, errOut, out)
			}
			if n := strings.Count(out, "  ref "); n != tc.count {
				t.Errorf("%d verdicts shown, want %d:\n%s", n, tc.count, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestLogReadsStdinAndGzip: a pipe (journalctl -o cat | relayguard log)
// and a logrotate'd .gz read the same as a plain file.
func TestLogReadsStdinAndGzip(t *testing.T) {
	log, ref := realLog(t)
	var o, e bytes.Buffer
	if code := runLog([]string{"--ref", ref}, strings.NewReader(log), &o, &e); code != 0 || !strings.Contains(o.String(), "GTUBE") {
		t.Errorf("stdin: exit %d %q\n%s", code, e.String(), o.String())
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(log))
	zw.Close()
	path := filepath.Join(t.TempDir(), "relayguard.json.1.gz")
	os.WriteFile(path, gz.Bytes(), 0o644)
	if code, out, errOut := runCmd("log", "--ref", ref, path); code != 0 || !strings.Contains(out, "GTUBE") {
		t.Errorf("gzip: exit %d %q\n%s", code, errOut, out)
	}
	// A text-format log holds no JSON lines: say so rather than nothing.
	o.Reset()
	e.Reset()
	text := slog.New(slog.NewTextHandler(&o, nil))
	text.Info("message", "session", ref)
	if code := runLog(nil, strings.NewReader(o.String()), &bytes.Buffer{}, &e); code != 1 || !strings.Contains(e.String(), `log.format "json"`) {
		t.Errorf("text log: exit %d %q", code, e.String())
	}
}
