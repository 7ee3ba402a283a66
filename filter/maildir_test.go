package filter

import (
	"bufio"
	"bytes"
	"context"
	"io"
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

// TestSpoolReusedBufferHoldsOnlyItsMessage: memory spools share buffers
// across messages; a message must read back as itself, never with the
// tail of a longer one before it, and a closed spool reads nothing.
func TestSpoolReusedBufferHoldsOnlyItsMessage(t *testing.T) {
	long := strings.Repeat("L", 5000)
	short := "short message\r\n"
	first := newSpool(1<<20, t.TempDir())
	if err := first.fill(strings.NewReader(long)); err != nil {
		t.Fatal(err)
	}
	first.Close()
	if n, err := first.ReadAt(make([]byte, 10), 0); n != 0 || err == nil {
		t.Errorf("closed spool read %d bytes, err %v", n, err)
	}
	sp := newSpool(1<<20, t.TempDir())
	defer sp.Close()
	if err := sp.fill(strings.NewReader(short)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		off     int64
		size    int
		want    string
		wantEOF bool
	}{
		{0, len(short), short, false},
		{0, 100, short, true},
		{6, 7, "message", false},
		{int64(len(short)), 10, "", true},
		{4000, 10, "", true},
	} {
		buf := make([]byte, tc.size)
		n, err := sp.ReadAt(buf, tc.off)
		if string(buf[:n]) != tc.want || (err == io.EOF) != tc.wantEOF {
			t.Errorf("ReadAt(%d bytes at %d) = %q, %v; want %q, EOF %v", tc.size, tc.off, buf[:n], err, tc.want, tc.wantEOF)
		}
	}
}
