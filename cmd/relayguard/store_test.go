package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"relayguard/config"
	"relayguard/internal/store"
	"relayguard/internal/store/redistest"
)

// storeConfig writes a configuration whose [store] has dir or redis.
func storeConfig(t *testing.T, key, value string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "relayguard.toml")
	if err := os.WriteFile(p, fmt.Appendf(nil, "[store]\n%s = %q\n", key, value), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// learnSome learns two spam messages and one ham, one counter and one
// mark into st, and closes it.
func learnSome(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	defer st.Close()
	for _, m := range []struct {
		spam bool
		toks []string
	}{{true, []string{"cheap", "pills"}}, {true, []string{"cheap"}}, {false, []string{"meeting"}}} {
		if err := st.Learn(ctx, m.spam, m.toks, 1); err != nil {
			t.Fatal(err)
		}
	}
	st.Add(ctx, "user:alice", 1, time.Hour)
	st.SetMark(ctx, "hold:bob", "held", time.Hour)
}

func TestStoreStatsReportsWhatIsKept(t *testing.T) {
	dir := t.TempDir()
	f, err := store.OpenFile(dir, store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	learnSome(t, f)
	srv := redistest.Start(t)
	r, err := store.OpenRedis(srv.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	learnSome(t, r)

	for _, tc := range []struct {
		name, key, value string
		want             []string
	}{
		{"file", "dir", dir, []string{"kind file", "where " + filepath.Join(dir, "relayguard.db"), "tokens 3", "counters 1", "marks 1", "learned 2 spam, 1 ham"}},
		{"redis, password not shown", "redis", "redis://:hunter2@" + srv.Addr + "/0", []string{"kind redis", "where redis://" + srv.Addr + "/0", "tokens 3", "counters 1", "marks 1", "learned 2 spam, 1 ham"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd("store", "stats", "-config", storeConfig(t, tc.key, tc.value))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			got := strings.Join(strings.Fields(out), " ")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("stats do not say %q:\n%s", w, out)
				}
			}
			if strings.Contains(out+errOut, "hunter2") {
				t.Errorf("stats show the password:\n%s%s", out, errOut)
			}
		})
	}
}

// TestOneShotsWhileServeHoldsTheFile: with the file held by a process that
// does not answer on the control socket, `store stats` says so, and
// `check` judges without the store, warning once, instead of hanging or
// failing.
func TestOneShotsWhileServeHoldsTheFile(t *testing.T) {
	dir := t.TempDir()
	held, err := store.OpenFile(dir, store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	cfg := storeConfig(t, "dir", dir)

	code, out, errOut := runCmd("store", "stats", "-config", cfg)
	if code != 1 || !strings.Contains(errOut, "is locked, and no relayguard answers on") {
		t.Errorf("store stats: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCmd("check", "--local", "-config", cfg, "testdata/ham.eml")
	if code != 0 || !strings.Contains(out, "ham.eml") || strings.Count(errOut, "judging without the state store") != 1 {
		t.Errorf("check: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestCheckWithoutAStoreYet: check on a machine where nothing was learned
// (no store file) says nothing about the store.
func TestCheckWithoutAStoreYet(t *testing.T) {
	cfg := storeConfig(t, "dir", filepath.Join(t.TempDir(), "never-made"))
	code, _, errOut := runCmd("check", "--local", "-config", cfg, "testdata/ham.eml")
	if code != 0 || strings.Contains(errOut, "store") {
		t.Errorf("check: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "never-made")); err == nil {
		t.Error("check created the store folder; a one-shot must not write")
	}
}

// TestCommandsReachTheServeThatHoldsTheFile: while serve holds the
// embedded store, learn, store stats and ratelimit are carried out by it
// through the control socket, so training works while the proxy runs.
func TestCommandsReachTheServeThatHoldsTheFile(t *testing.T) {
	dir := t.TempDir()
	held, err := store.OpenFile(dir, store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	cfgPath := storeConfig(t, "dir", dir)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	log := newLogger("text", "error", io.Discard)
	ctl, err := startControl(cfg, &services{store: held, log: log, stopMon: func() {}}, log)
	if err != nil || ctl == nil {
		t.Fatalf("control socket: %v %v", ctl, err)
	}
	defer ctl.Close()

	code, out, errOut := runCmd("learn", "--spam", "-config", cfgPath, "testdata/gtube.eml")
	if code != 0 || !strings.Contains(out, "learned 1 messages as spam") {
		t.Fatalf("learn: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ = runCmd("learn", "--spam", "-config", cfgPath, "testdata/gtube.eml"); code != 0 || !strings.Contains(out, "1 already were") {
		t.Errorf("learning it again: exit %d\n%s", code, out)
	}
	// The running process's store has it: the learner did not write
	// another copy of the file.
	if sp, _, err := held.Totals(context.Background()); err != nil || sp != 1 {
		t.Errorf("serve's store holds %d spam (%v), want 1", sp, err)
	}
	if code, out, errOut = runCmd("learn", "--stats", "-config", cfgPath); code != 0 || !strings.Contains(out, "learned:   1 spam, 0 ham") {
		t.Errorf("learn --stats: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut = runCmd("store", "stats", "-config", cfgPath); code != 0 || !strings.Contains(out, "learned   1 spam, 0 ham") {
		t.Errorf("store stats: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut = runCmd("ratelimit", "release", "-config", cfgPath, "alice"); code != 0 || !strings.Contains(out, "account alice was not held") {
		t.Errorf("ratelimit release: exit %d\n%s\n%s", code, out, errOut)
	}
}
