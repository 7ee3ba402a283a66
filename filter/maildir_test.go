package filter

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestMaildirDeliversWholeMessagesWithLF(t *testing.T) {
	dir := t.TempDir()
	m, err := NewMaildirUpstream(dir, "host")
	if err != nil {
		t.Fatal(err)
	}
	conn, _ := m.Open(context.Background())
	conn.Mail("a@example.org", nil)
	conn.Rcpt("b@example.org")
	// One byte at a time: a CR and its LF arrive in different writes.
	body := iotest.OneByteReader(strings.NewReader("Subject: x\r\n\r\nline\r\nbare\rcr\r\n"))
	if _, err := conn.Data([]byte("X-Added: 1\r\n"), body); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "new", "*"))
	if len(files) != 1 {
		t.Fatalf("files in new/: %v", files)
	}
	got, _ := os.ReadFile(files[0])
	if want := "X-Added: 1\nSubject: x\n\nline\nbare\rcr\n"; string(got) != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("left in tmp/: %v", tmp)
	}
}

func TestLFWriterKeepsTrailingCR(t *testing.T) {
	var b bytes.Buffer
	w := &lfWriter{w: bufio.NewWriter(&b)}
	w.Write([]byte("a\r"))
	w.Flush()
	if b.String() != "a\r" {
		t.Errorf("got %q", b.String())
	}
}

func TestSpoolKeepsSmallInMemoryAndBigOnDisk(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 10, 1024, 1025, 100_000} {
		sp := newSpool(1024, dir)
		data := strings.Repeat("z", size)
		if err := sp.fill(strings.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if sp.Size() != int64(size) || sp.onDisk() != (size > 1024) {
			t.Errorf("size %d: Size()=%d onDisk=%v", size, sp.Size(), sp.onDisk())
		}
		buf := make([]byte, size)
		if n, _ := sp.ReadAt(buf, 0); n != size || string(buf) != data {
			t.Errorf("size %d: read back %d bytes", size, n)
		}
		// The file is unlinked at once: nothing is visible in the spool
		// directory even while the message is held.
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("size %d: spool directory shows %v", size, entries)
		}
		if err := sp.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
}
