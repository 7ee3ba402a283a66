package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"relayguard/filter"
)

// stdinFrom is a file holding text, standing in for a non-terminal stdin.
func stdinFrom(t *testing.T, text string) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestPasswdLineLoadsAndVerifies: what passwd prints, appended to a users
// file, is read by the proxy's own loader and accepts that password only.
func TestPasswdLineLoadsAndVerifies(t *testing.T) {
	for _, tc := range []struct{ name, stdin, password string }{
		{"newline", "s3cret pass\n", "s3cret pass"},
		{"crlf", "s3cret\r\n", "s3cret"},
		{"no newline", "s3cret", "s3cret"},
		{"only the first line", "first\nsecond\n", "first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runPasswd([]string{"alice"}, stdinFrom(t, tc.stdin), &out, &errOut)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			line := out.String()
			if !strings.HasPrefix(line, "alice:$2a$") || strings.Count(line, "\n") != 1 {
				t.Fatalf("printed %q, want one alice:$2a$... line", line)
			}
			p := filepath.Join(t.TempDir(), "users")
			if err := os.WriteFile(p, []byte("# users\n"+line), 0o600); err != nil {
				t.Fatal(err)
			}
			users, err := filter.LoadUsers(p)
			if err != nil {
				t.Fatalf("LoadUsers: %v", err)
			}
			if err := users.Verify("alice", tc.password); err != nil {
				t.Errorf("the password does not verify: %v", err)
			}
			if err := users.Verify("alice", tc.password+"x"); err == nil {
				t.Error("another password verifies")
			}
		})
	}
}

// TestPasswdRefuses: what would make a line LoadUsers misreads, or a
// password nobody can use, is refused with plain words and no output.
func TestPasswdRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  string
	}{
		{"no user", nil, "x\n", 2, "Usage: relayguard passwd USER"},
		{"colon in the name", []string{"a:b"}, "x\n", 2, "colon"},
		{"comment name", []string{"#a"}, "x\n", 2, "comment"},
		{"empty stdin", []string{"alice"}, "", 1, "no password on standard input"},
		{"empty password", []string{"alice"}, "\n", 1, "the password is empty"},
		{"too long for bcrypt", []string{"alice"}, strings.Repeat("p", 73) + "\n", 1, "at most 72"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runPasswd(tc.args, stdinFrom(t, tc.stdin), &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) || out.Len() != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out.String(), errOut.String(), tc.code, tc.want)
			}
		})
	}
}

// TestPasswdAsksTwice: on a terminal the two entries must match.
func TestPasswdAsksTwice(t *testing.T) {
	answers := func(a ...string) func(string) ([]byte, error) {
		return func(string) ([]byte, error) {
			if len(a) == 0 {
				return nil, errors.New("no more input")
			}
			s := a[0]
			a = a[1:]
			return []byte(s), nil
		}
	}
	if p, err := askTwice(answers("pw", "pw")); err != nil || string(p) != "pw" {
		t.Errorf("matching: %q, %v", p, err)
	}
	if _, err := askTwice(answers("pw", "pW")); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("differing: %v, want an error saying they differ", err)
	}
	if _, err := askTwice(answers("pw")); err == nil {
		t.Error("end of input on the second read: no error")
	}
}
