package store

import "time"

// OpenOptions say which store to open: the [store] section, and how.
type OpenOptions struct {
	Dir   string // store.dir: the embedded file's folder
	Redis string // store.redis: when set, Redis, and Dir is not used
	// ReadOnly opens the file read-only (commands that only read); Redis
	// is opened as usual (reading needs no lock there).
	ReadOnly bool
	// LockTimeout bounds the wait for another process's lock on the file
	// (default 1s).
	LockTimeout time.Duration
}

// Open opens the store the configuration names: Redis when store.redis is
// set (not waiting for it to answer), else the embedded file under
// store.dir. The caller closes it.
func Open(o OpenOptions) (Store, error) {
	if o.Redis != "" {
		return OpenRedis(o.Redis)
	}
	return OpenFile(o.Dir, FileOptions{ReadOnly: o.ReadOnly, LockTimeout: o.LockTimeout})
}
