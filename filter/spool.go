package filter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// spool holds one message while it is judged and relayed: in memory up to
// memLimit bytes, past that in a temp file, so memory does not grow with
// message size. Close removes the file on every path.
type spool struct {
	memLimit int64
	dir      string

	buf  *bytes.Buffer // from spoolBuffers while the message is in memory
	file *os.File
	size int64
}

// spoolBuffers keep the memory spool's buffers across messages, so that a
// message in memory does not grow a fresh buffer doubling by doubling.
// Only buffers up to maxPooledSpool go back: a pool of 1 MiB buffers left
// by a burst of big messages would hold memory the sessions no longer use.
var spoolBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledSpool = 64 << 10

func (s *spool) releaseBuffer() {
	if s.buf == nil {
		return
	}
	if s.buf.Cap() <= maxPooledSpool {
		s.buf.Reset()
		spoolBuffers.Put(s.buf)
	}
	s.buf = nil
}

func newSpool(memLimit int64, dir string) *spool {
	return &spool{memLimit: memLimit, dir: dir}
}

// fill reads the whole message from r.
func (s *spool) fill(r io.Reader) error {
	// Memory first; on overflow, what was read so far moves to the file.
	s.buf = spoolBuffers.Get().(*bytes.Buffer)
	n, err := io.Copy(s.buf, io.LimitReader(r, s.memLimit+1))
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
	s.releaseBuffer()
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
	if s.buf == nil {
		return 0, errSpoolClosed
	}
	// As bytes.Reader's ReadAt, without making a Reader for every call.
	b := s.buf.Bytes()
	if off < 0 {
		return 0, errors.New("spool: negative offset")
	}
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (s *spool) Size() int64 { return s.size }

// onDisk tells whether the message overflowed to a file.
func (s *spool) onDisk() bool { return s.file != nil }

var errSpoolClosed = errors.New("spool: read after close")

func (s *spool) Close() error {
	s.releaseBuffer()
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
