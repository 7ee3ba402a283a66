package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesRoot: root is refused unless the tests' escape is set;
// any other user passes.
func TestServeRefusesRoot(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == allowRootEnv {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name    string
		euid    int
		allow   string
		refused bool
	}{
		{"root", 0, "", true},
		{"root with the escape set to something else", 0, "yes", true},
		{"root with the tests' escape", 0, "1", false},
		{"an ordinary user", 1000, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := refuseRoot(tc.euid, env(tc.allow))
			if (msg != "") != tc.refused {
				t.Fatalf("refused = %q, want refused %v", msg, tc.refused)
			}
			if tc.refused && !strings.Contains(msg, "CAP_NET_BIND_SERVICE") {
				t.Errorf("the refusal does not say how to bind port 25: %q", msg)
			}
		})
	}
	if os.Geteuid() == 0 {
		t.Run("serve as root exits 77", func(t *testing.T) {
			t.Setenv(allowRootEnv, "")
			if code, _, errOut := runCmd("serve"); code != exitRoot || !strings.Contains(errOut, "refusing to run as root") {
				t.Errorf("serve as root: %d %q", code, errOut)
			}
		})
	}
}

// TestServeConfigErrorExits78: restarting cannot cure a broken
// configuration, so it exits with the code the unit's
// RestartPreventExitStatus names.
func TestServeConfigErrorExits78(t *testing.T) {
	t.Setenv(allowRootEnv, "1")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[scoring]\nreject = 3.0\n"), 0o644)
	badUsers := filepath.Join(dir, "users.toml")
	os.WriteFile(badUsers, []byte("[server]\nlisten = \"127.0.0.1:0\"\n[access]\nusers_file = \""+filepath.Join(dir, "missing")+"\"\n[store]\ndir = \""+dir+"\"\n"), 0o644)
	for _, tc := range []struct{ name, file string }{
		{"a bad key", bad},
		{"a file it names is missing", badUsers},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, errOut := runCmd("serve", "-config", tc.file); code != exitConfig {
				t.Errorf("serve: exit %d, want %d\n%s", code, exitConfig, errOut)
			}
		})
	}
	unit, err := os.ReadFile("../../dist/relayguard.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "RestartPreventExitStatus=77 78") {
		t.Errorf("dist/relayguard.service does not prevent restarts on exit 77 and 78")
	}
}
