package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// maxReplayBytes bounds one replayed message, and maxReplayTotal all of
// them: the folder is held in memory so reading files costs nothing
// during the run.
const (
	maxReplayBytes = 32 << 20
	maxReplayTotal = 512 << 20
)

// loadReplay reads the messages to replay: path is one message file, or a
// folder whose regular files (recursively, in name order) are messages.
// Each is sent as it is, header and body, with the envelope from the
// flags; line endings become CRLF on the wire (the DATA writer does it).
func loadReplay(path string) ([][]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var files []string
	if !st.IsDir() {
		files = []string{path}
	} else {
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && d.Name()[0] != '.' {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.Sort(files)
	}
	var msgs [][]byte
	total := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if len(b) == 0 || len(b) > maxReplayBytes {
			continue
		}
		if total += len(b); total > maxReplayTotal {
			return nil, fmt.Errorf("%s: more than %d MB of messages", path, maxReplayTotal>>20)
		}
		if !bytes.HasSuffix(b, []byte("\n")) {
			b = append(b, '\n')
		}
		msgs = append(msgs, b)
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%s: no messages", path)
	}
	return msgs, nil
}
