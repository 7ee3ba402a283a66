package filter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// spool holds one message while it is judged and relayed: in memory up to
// memLimit bytes, past that in a temp file, so memory does not grow with
// message size. Close removes the file on every path.
type spool struct {
	memLimit int64
	dir      string

	buf  bytes.Buffer
	file *os.File
	size int64
}

func newSpool(memLimit int64, dir string) *spool {
	return &spool{memLimit: memLimit, dir: dir}
}

// fill reads the whole message from r.
func (s *spool) fill(r io.Reader) error {
	// Memory first; on overflow, what was read so far moves to the file.
	n, err := io.Copy(&s.buf, io.LimitReader(r, s.memLimit+1))
	s.size = n
	if err != nil || n <= s.memLimit {
		return err
	}
	f, err := os.CreateTemp(s.dir, "relayguard-spool-*")
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.file = f
	// Unlink at once: the data lives until the file is closed, and a crash
	// leaves nothing behind in the spool directory.
	os.Remove(f.Name())
	if _, err := s.buf.WriteTo(f); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.buf = bytes.Buffer{}
	n, err = io.Copy(f, r)
	s.size += n
	if err != nil {
		return err
	}
	return nil
}

// ReadAt makes the spool an io.ReaderAt for the parsed message.
func (s *spool) ReadAt(p []byte, off int64) (int, error) {
	if s.file != nil {
		return s.file.ReadAt(p, off)
	}
	return bytes.NewReader(s.buf.Bytes()).ReadAt(p, off)
}

func (s *spool) Size() int64 { return s.size }

// onDisk tells whether the message overflowed to a file.
func (s *spool) onDisk() bool { return s.file != nil }

func (s *spool) Close() error {
	s.buf = bytes.Buffer{}
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	err := s.file.Close()
	s.file = nil
	if rmErr := os.Remove(name); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) && err == nil {
		err = rmErr
	}
	return err
}
