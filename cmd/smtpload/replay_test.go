package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -replay sends real messages as they are, round-robin over a folder
// (recursively, in name order), with the envelope from the flags and LF
// line endings sent as CRLF.
func TestReplaySendsTheFilesAsTheyAre(t *testing.T) {
	dir := t.TempDir()
	a := "From: a@example.org\nSubject: one\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\n.dot first\n--b--\n"
	b := "From: b@example.org\r\nSubject: two\r\n\r\nbody\r\n"
	os.MkdirAll(filepath.Join(dir, "cur"), 0o755)
	os.WriteFile(filepath.Join(dir, "1.eml"), []byte(a), 0o644)
	os.WriteFile(filepath.Join(dir, "cur", "2.eml"), []byte(b), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("not a message"), 0o644)

	s := &sink{}
	var out, errOut bytes.Buffer
	if code := mainWithArgs([]string{"-addr", s.start(t), "-n", "4", "-c", "1", "-to", "rcpt@example.net", "-replay", dir, "-json"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	got := s.received()
	if len(got) != 4 {
		t.Fatalf("%d messages received, want 4", len(got))
	}
	want := []string{strings.ReplaceAll(a, "\n", "\r\n"), b}
	for i, m := range got {
		if string(m.data) != want[i%2] {
			t.Errorf("message %d:\n%q\nwant\n%q", i, m.data, want[i%2])
		}
		if m.from != "loadgen@example.com" || m.to != "rcpt@example.net" {
			t.Errorf("message %d envelope %s -> %s, want the flags'", i, m.from, m.to)
		}
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Replayed != 2 || rep.BodySize != (len(a)+len(b))/2 {
		t.Errorf("report replayed %d body_size %d (%v), want 2 and the average size", rep.Replayed, rep.BodySize, err)
	}
}

func TestReplayRefusesWhatItCannotSend(t *testing.T) {
	empty := t.TempDir()
	var out, errOut bytes.Buffer
	for name, args := range map[string][]string{
		"missing":      {"-replay", filepath.Join(empty, "nope")},
		"empty folder": {"-replay", empty},
		"with -gtube":  {"-replay", "testdata/mime-5k.eml", "-gtube", "0.5"},
	} {
		if code := mainWithArgs(args, &out, &errOut); code != 2 {
			t.Errorf("%s: exit %d, want 2", name, code)
		}
	}
}

// Replayed spam refused by a filter is the filter at work: with
// -rejects-expected a 5xx is no failure, without it, it is.
func TestRejectsExpected(t *testing.T) {
	s := &sink{rejectGTUBE: true}
	addr := s.start(t)
	spam := filepath.Join(t.TempDir(), "spam.eml")
	os.WriteFile(spam, []byte("Subject: spam\n\n"+gtube+"\n"), 0o644)
	var out, errOut bytes.Buffer
	if code := mainWithArgs([]string{"-addr", addr, "-n", "2", "-c", "1", "-replay", spam}, &out, &errOut); code != 1 {
		t.Errorf("5xx without -rejects-expected: exit %d, want 1", code)
	}
	if code := mainWithArgs([]string{"-addr", addr, "-n", "2", "-c", "1", "-replay", spam, "-rejects-expected"}, &out, &errOut); code != 0 {
		t.Errorf("5xx with -rejects-expected: exit %d, want 0", code)
	}
}
