package main

import (
	"os"
	"path/filepath"
	"relayguard/config"
	"strings"
	"testing"
)

// TestCheckFilesReportsWhatServeCannotUse: each file or directory a key
// names is checked the way serve uses it, and a problem names the key.
func TestCheckFilesReportsWhatServeCannotUse(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("not PEM\n"), 0o644)
	maildirWithFileTmp := filepath.Join(dir, "md")
	os.MkdirAll(maildirWithFileTmp, 0o755)
	os.WriteFile(filepath.Join(maildirWithFileTmp, "tmp"), nil, 0o644)
	for _, tc := range []struct {
		name string
		set  func(c *config.Config)
		want string // "" = no problem
	}{
		{"defaults", func(c *config.Config) { c.Store.Dir = dir }, ""},
		{"cert is not PEM", func(c *config.Config) { c.Server.TLSCert, c.Server.TLSKey = file, file }, "server.tls_cert: " + file + ": not a usable certificate"},
		{"cert is a directory", func(c *config.Config) { c.Server.TLSCert, c.Server.TLSKey = dir, file }, "server.tls_cert: " + dir + ": is a directory, want a file"},
		{"spool is a file", func(c *config.Config) { c.Server.SpoolDir = file }, "server.spool_dir: " + file + ": is not a directory"},
		{"spool exists", func(c *config.Config) { c.Server.SpoolDir = dir }, ""},
		{"users file missing", func(c *config.Config) { c.Access.UsersFile = dir + "/nope" }, "access.users_file: " + dir + "/nope: does not exist"},
		{"maildir made on start", func(c *config.Config) { c.Relay.Upstream = "maildir:" + dir + "/a/b" }, ""},
		{"maildir tmp is a file", func(c *config.Config) { c.Relay.Upstream = "maildir:" + maildirWithFileTmp }, "tmp is not a directory"},
		{"store made on start", func(c *config.Config) { c.Store.Dir = dir + "/state/rg" }, ""},
		{"store under a file", func(c *config.Config) { c.Store.Dir = file + "/rg" }, "store.dir: " + file + "/rg: " + file + " is not a directory"},
		{"rule file missing", func(c *config.Config) { c.Rules.Files = []string{dir + "/r.toml"} }, "rules.files: " + dir + "/r.toml: does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load("")
			if err != nil {
				t.Fatal(err)
			}
			tc.set(c)
			var got []string
			for _, p := range checkConfigFiles(c) {
				got = append(got, p.String())
			}
			all := strings.Join(got, "\n")
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("problems, want none:\n%s", all)
			case tc.want != "" && !strings.Contains(all, tc.want):
				t.Errorf("problems lack %q:\n%s", tc.want, all)
			}
		})
	}
}
