package integration

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"relayguard/internal/store/redistest"
)

// TestSecondServeOnOneStoreFileRefused: two instances cannot share the
// embedded file; the second stops at once and says what to do instead of
// hanging on the lock.
func TestSecondServeOnOneStoreFileRefused(t *testing.T) {
	needHarness(t)
	shared := filepath.Join(testDir(t, "state"), "store")
	cfg := inboundConfig(t, "maildir:"+testDir(t, "maildir")).set("store", "dir", shared)
	startRelayguard(t, cfg)

	second := inboundConfig(t, "maildir:"+testDir(t, "maildir2")).set("store", "dir", shared)
	dir := testDir(t, "second")
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(second); err != nil {
		t.Fatal(err)
	}
	conf := writeFile(t, dir, "relayguard.toml", buf.String(), 0o644)
	out, err := exec.Command(relayguardBin, "serve", "-config", conf).CombinedOutput()
	if err == nil || !strings.Contains(string(out), filepath.Join(shared, "relayguard.db")+" is in use by another relayguard; use store.redis to share state between processes") {
		t.Errorf("second serve: %v\n%s", err, out)
	}
	// store stats, a one-shot, asks the running serve through its
	// control socket.
	out, err = exec.Command(relayguardBin, "store", "stats", "-config", conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "kind      file") || !strings.Contains(string(out), "learned   0 spam, 0 ham") {
		t.Errorf("store stats beside a running serve: %v\n%s", err, out)
	}
}

// TestServeStartsWhileRedisIsDown: a relay on store.redis starts with
// Redis stopped (mail must flow by store.on_error), warns once, and
// `store stats` reads the same Redis once it is back.
func TestServeStartsWhileRedisIsDown(t *testing.T) {
	needHarness(t)
	// redistest finds redis-server itself; lookPath here names it where
	// TestInstallManifestCoversTests looks.
	if lookPath("redis-server") == "" {
		missingTool(t, "redis-server not installed")
	}
	srv := redistest.Start(t)
	srv.Stop()
	cfg := inboundConfig(t, "maildir:"+testDir(t, "maildir")).set("store", "redis", srv.URL(0))
	p := startRelayguard(t, cfg)
	if n := strings.Count(p.log.String(), "state store not answering at start"); n != 1 {
		t.Errorf("%d warnings about the store at start, want 1:\n%s", n, p.log)
	}
	srv.Restart()
	out, err := exec.Command(relayguardBin, "store", "stats", "-config", filepath.Join(p.dir, "relayguard.toml")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "kind      redis") || !strings.Contains(string(out), "where     redis://"+srv.Addr+"/0") {
		t.Errorf("store stats: %v\n%s", err, out)
	}
}
