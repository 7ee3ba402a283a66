package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheckFindsEveryFileProblem: a config whose files serve could
// not open fails `config check`, with one plain line per problem, so an
// operator fixes them all in one go instead of one restart each.
func TestConfigCheckFindsEveryFileProblem(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "plain-file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	users := filepath.Join(dir, "users")
	os.WriteFile(users, []byte("alice:plaintext\n"), 0o600)
	badRules := filepath.Join(dir, "bad-rules.toml")
	os.WriteFile(badRules, []byte("[[rule]]\nname = \"X\"\nkind = \"body\"\nscore = 1\ndescription = \"d\"\npattern = '(?<=a)b'\n"), 0o644)
	cfg := filepath.Join(dir, "relayguard.toml")
	os.WriteFile(cfg, []byte(`[server]
tls_cert = "`+dir+`/missing-cert.pem"
tls_key = "`+dir+`/missing-key.pem"
spool_dir = "`+dir+`/no-spool"
[relay]
upstream = "maildir:`+notDir+`/inbox"
[access]
users_file = "`+users+`"
[rules]
files = ["`+badRules+`", "`+dir+`/missing-rules.toml"]
`), 0o644)

	code, out, errOut := runCmd("config", "check", cfg)
	if code != 1 {
		t.Errorf("exit %d, want 1; stdout %q", code, out)
	}
	for _, want := range []string{
		"server.tls_cert: " + dir + "/missing-cert.pem: does not exist",
		"server.tls_key: " + dir + "/missing-key.pem: does not exist",
		"server.spool_dir: " + dir + "/no-spool: does not exist",
		"relay.upstream: maildir:" + notDir + "/inbox: " + notDir + " is not a directory",
		"access.users_file: ",
		"not a bcrypt hash",
		"rules.files: " + badRules + ":6: rule X: lookbehind",
		"rules.files: " + dir + "/missing-rules.toml: does not exist",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if !strings.HasPrefix(line, "config "+cfg+": ") {
			t.Errorf("line does not name the config file first: %q", line)
		}
	}
}

// TestConfigCheckPassesUsableFiles: the same keys pointing at usable files
// pass (the test above fails for the files, not the keys).
func TestConfigCheckPassesUsableFiles(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeTestCert(t, dir)
	users := filepath.Join(dir, "users")
	line, err := usersFileLine("alice", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(users, []byte(line+"\n"), 0o600)
	ruleFile := filepath.Join(dir, "local.toml")
	os.WriteFile(ruleFile, []byte("[scores]\nURI_MANY = 0\n"), 0o644)
	cfg := filepath.Join(dir, "relayguard.toml")
	os.WriteFile(cfg, []byte(`[server]
tls_cert = "`+cert+`"
tls_key = "`+key+`"
spool_dir = "`+dir+`"
[relay]
upstream = "maildir:`+dir+`/new-maildir"
[access]
users_file = "`+users+`"
[rules]
files = ["`+ruleFile+`"]
`), 0o644)
	if code, out, errOut := runCmd("config", "check", cfg); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
}

// writeTestCert writes dev mode's self-signed certificate and key as PEM
// files in dir.
func writeTestCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	tc, err := selfSignedTLS("mx.test")
	if err != nil {
		t.Fatal(err)
	}
	c := tc.Certificates[0]
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	return cert, key
}
