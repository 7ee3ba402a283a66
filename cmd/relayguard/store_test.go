package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestOneShotsWhileServeHoldsTheFile: with the file held (as a running
// serve holds it), `store stats` says who holds it and shows the size,
// and `check` judges without the store, warning once, instead of hanging
// or failing.
func TestOneShotsWhileServeHoldsTheFile(t *testing.T) {
	dir := t.TempDir()
	held, err := store.OpenFile(dir, store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	cfg := storeConfig(t, "dir", dir)

	code, out, errOut := runCmd("store", "stats", "-config", cfg)
	if code != 1 || !strings.Contains(out, "size") || !strings.Contains(errOut, "in use by another relayguard; use store.redis") {
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
