package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"relayguard/config"
	"relayguard/filter"
	"relayguard/rules"
)

// fileProblem is one file or directory a configuration names that serve
// could not use.
type fileProblem struct {
	Key  string // the configuration key that names it, e.g. "server.tls_cert"
	Path string
	Msg  string // plain words: "does not exist", "cannot be read: permission denied"
}

func (p fileProblem) String() string {
	if p.Path == "" {
		return p.Key + ": " + p.Msg
	}
	return p.Key + ": " + p.Path + ": " + p.Msg
}

// checkConfigFiles opens every file and directory c names the way serve will,
// and returns every problem found, in the order of the configuration file,
// nil when all are usable. Load checks the values; this checks what they
// point at, which only the machine that runs serve can tell.
func checkConfigFiles(c *config.Config) []fileProblem {
	var ps []fileProblem
	add := func(key, path, msg string) { ps = append(ps, fileProblem{key, path, msg}) }

	s := &c.Server
	if s.TLSCert != "" {
		certOK := checkReadable(add, "server.tls_cert", s.TLSCert)
		keyOK := checkReadable(add, "server.tls_key", s.TLSKey)
		if certOK && keyOK {
			if _, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey); err != nil {
				add("server.tls_cert", s.TLSCert, "not a usable certificate with server.tls_key "+s.TLSKey+": "+err.Error())
			}
		}
	}
	spool, spoolKey := s.SpoolDir, "server.spool_dir"
	if spool == "" {
		spool, spoolKey = os.TempDir(), "server.spool_dir (empty: the system temp directory)"
	}
	checkWritableDir(add, spoolKey, spool)

	if dir, ok := strings.CutPrefix(c.Relay.Upstream, "maildir:"); ok {
		checkMaildir(add, dir)
	}
	if c.Store.Redis == "" {
		checkStoreDir(add, c.Store.Dir)
	}

	if f := c.Access.UsersFile; f != "" && checkReadable(add, "access.users_file", f) {
		if _, err := filter.LoadUsers(f); err != nil {
			add("access.users_file", "", err.Error())
		}
	}

	var readable []string
	for _, f := range c.Rules.Files {
		if checkReadable(add, "rules.files", f) {
			readable = append(readable, f)
		}
	}
	// Lint reports every problem (Load stops at the first); warnings,
	// such as a meta rule naming a sender-check symbol this package does
	// not know, are `rules lint`'s to show.
	for _, p := range rules.Lint(readable, rules.Options{MaxScanBytes: c.Rules.MaxScanBytes}) {
		if !p.Warning {
			add("rules.files", "", p.String())
		}
	}
	return ps
}

// checkReadable reports whether path is a regular file (after symlinks)
// this process can open, adding a problem when not.
func checkReadable(add func(key, path, msg string), key, path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		add(key, path, plainFileError(err))
		return false
	}
	if st.IsDir() {
		add(key, path, "is a directory, want a file")
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		add(key, path, plainFileError(err))
		return false
	}
	f.Close()
	return true
}

// checkWritableDir reports whether dir is a directory this process can
// create files in, by creating (and removing) one: permission bits alone
// do not tell for root, ACLs or a read-only mount.
func checkWritableDir(add func(key, path, msg string), key, dir string) bool {
	st, err := os.Stat(dir)
	if err != nil {
		add(key, dir, plainFileError(err))
		return false
	}
	if !st.IsDir() {
		add(key, dir, "is not a directory")
		return false
	}
	f, err := os.CreateTemp(dir, ".relayguard-config-check-*")
	if err != nil {
		add(key, dir, "cannot create files in it: "+plainFileError(err))
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// nearestDir walks up from dir to the nearest folder that exists (serve
// creates the rest on first use). problem is set when a part of the path
// is a file or cannot be looked at.
func nearestDir(dir string) (p, problem string) {
	p = filepath.Clean(dir)
	for {
		st, err := os.Stat(p)
		if err == nil {
			if !st.IsDir() {
				return p, p + " is not a directory"
			}
			return p, ""
		}
		// ENOTDIR: a part of the path is a file; the walk up finds it.
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return p, plainFileError(err)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return p, ""
		}
		p = parent
	}
}

// checkMaildir checks that the maildir upstream can be made and written.
func checkMaildir(add func(key, path, msg string), dir string) {
	const key = "relay.upstream"
	p, problem := nearestDir(dir)
	if problem != "" {
		add(key, "maildir:"+dir, problem)
		return
	}
	if p == filepath.Clean(dir) {
		for _, sub := range []string{"tmp", "new", "cur"} {
			if st, err := os.Stat(filepath.Join(p, sub)); err == nil && !st.IsDir() {
				add(key, "maildir:"+dir, filepath.Join(p, sub)+" is not a directory")
				return
			}
		}
		// Messages are written in tmp/ first (the Maildir protocol).
		if st, err := os.Stat(filepath.Join(p, "tmp")); err == nil && st.IsDir() {
			p = filepath.Join(p, "tmp")
		}
	}
	checkWritableDir(add, key, p)
}

// checkStoreDir checks that the embedded store's folder can be made and
// written (serve creates it and the file on first use).
func checkStoreDir(add func(key, path, msg string), dir string) {
	const key = "store.dir"
	p, problem := nearestDir(dir)
	if problem != "" {
		add(key, dir, problem)
		return
	}
	checkWritableDir(add, key, p)
}

// plainFileError turns an error from the os package into plain words,
// without repeating the path (the caller names it already): for config
// check's problem lines and for any command that reports a file.
func plainFileError(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("cannot %s it: %v", pe.Op, pe.Err)
	}
	return err.Error()
}
