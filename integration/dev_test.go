package integration

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestDevModeSmoke is the README's first five minutes: `relayguard dev`,
// then swaks at it. Mail lands in a Maildir under -dir; GTUBE is refused.
func TestDevModeSmoke(t *testing.T) {
	needHarness(t)
	t.Parallel()
	dir := testDir(t, "dev")
	addr := loopback(freePort(t))
	runRelayguard(t, dir, addr, []string{"dev", "-listen", addr, "-dir", dir}, "")

	t.Run("ham", func(t *testing.T) {
		tr := runSwaks(t, addr, "--to", "a@example.com")
		tr.exit(t, swaksOK)
		tr.expect(t, "C: RCPT TO:<a@example.com>", "S: 250", "C: .", "S: 250")
		waitFor(t, deliverTimeout, "a message file in a Maildir under "+dir, func() bool {
			return len(devMessages(dir)) == 1
		})
	})
	t.Run("GTUBE", func(t *testing.T) {
		tr := runSwaks(t, addr, "--to", "a@example.com", "--body", gtube)
		tr.exit(t, swaksDotRefused)
		checkRejectReply(t, tr.dataReply(), "GTUBE")
		if n := len(devMessages(dir)); n != 1 {
			t.Errorf("%d messages in the Maildir, want only the ham", n)
		}
	})
	t.Run("STARTTLS with the self-signed certificate", func(t *testing.T) {
		needSwaksTLS(t)
		tr := runSwaks(t, addr, "--tls", "--to", "a@example.com")
		tr.exit(t, swaksOK)
		tr.expect(t, "C: STARTTLS", "S: 220", "I: TLS started with cipher ", "C: .", "S: 250")
	})
}

// devMessages lists the files in any Maildir new/ or cur/ under dir.
func devMessages(dir string) []string {
	var files []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if sub := filepath.Base(filepath.Dir(path)); sub == "new" || sub == "cur" {
			files = append(files, path)
		}
		return nil
	})
	return files
}

func TestVersionAndDefaultConfig(t *testing.T) {
	needHarness(t)
	t.Parallel()
	out, err := runRelayguardCommand(t, "version")
	if err != nil || strings.TrimSpace(out) == "" {
		t.Errorf("relayguard version: %v, output %q", err, out)
	}
	out, err = runRelayguardCommand(t, "config", "default")
	if err != nil {
		t.Fatalf("relayguard config default: %v\n%s", err, out)
	}
	var cfg rgConfig
	if _, err := toml.Decode(out, &cfg); err != nil {
		t.Fatalf("relayguard config default is not TOML: %v\n%s", err, out)
	}
	// The keys the testdata configurations (and so docs/exim.md) use exist.
	for _, name := range []string{"relayguard-inbound.toml", "relayguard-outbound.toml"} {
		for section, keys := range loadConfig(t, name) {
			for key := range keys {
				if _, ok := cfg[section][key]; !ok {
					t.Errorf("%s sets [%s] %s, which relayguard config default lacks", name, section, key)
				}
			}
		}
	}
}
