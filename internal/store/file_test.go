package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"relayguard/internal/store"
	"relayguard/internal/store/storetest"
)

// clock is a settable clock for expiry tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1_800_000_000, 0)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func openFile(t *testing.T, dir string, o store.FileOptions) *store.File {
	t.Helper()
	if o.SweepEvery == 0 {
		o.SweepEvery = -1
	}
	f, err := store.OpenFile(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestFileStore(t *testing.T) {
	c := newClock()
	storetest.Conformance(t, func(t *testing.T) store.Store {
		return openFile(t, t.TempDir(), store.FileOptions{Now: c.Now})
	}, c.Advance)
}

// TestFileStoreKeepsStateAcrossReopen: what was learned, counted and
// marked is there after a restart.
func TestFileStoreKeepsStateAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, err := store.OpenFile(dir, store.FileOptions{SweepEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	f.Learn(ctx, true, []string{"cheap", "pills"}, 1)
	f.Add(ctx, "user:alice:1h", 3, time.Hour)
	f.SetMark(ctx, "hold:alice", "spam burst", time.Hour)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g := openFile(t, dir, store.FileOptions{})
	got, _, _ := g.TokenCounts(ctx, []string{"cheap"})
	n, _ := g.Counts(ctx, []string{"user:alice:1h"})
	v, ok, _ := g.Mark(ctx, "hold:alice")
	if got[0].Spam != 1 || n[0] != 3 || !ok || v != "spam burst" {
		t.Errorf("after reopen: tokens %+v counter %v mark %q %v", got, n, v, ok)
	}
}

// TestFileCreatedPrivate: the folder and the file are the service's alone
// (tokens reveal words of customers' mail).
func TestFileCreatedPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "relayguard")
	openFile(t, dir, store.FileOptions{})
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, store.FileName): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm() &^ 0o022; got&^want != 0 {
			t.Errorf("%s: mode %v, want at most %v", path, fi.Mode().Perm(), want)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v readable by others", path, fi.Mode().Perm())
		}
	}
}

// TestFileInUseByAnotherProcess: a second opener (check while serve runs)
// gets a plain error naming the file and what to do, not a hang. bbolt's
// flock is per open file description, so a second open in this process
// stands in for a second process.
func TestFileInUseByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	openFile(t, dir, store.FileOptions{})
	for _, ro := range []bool{false, true} {
		_, err := store.OpenFile(dir, store.FileOptions{ReadOnly: ro, LockTimeout: 50 * time.Millisecond})
		if !errors.Is(err, store.ErrInUse) {
			t.Fatalf("read-only=%v: second open: %v, want ErrInUse", ro, err)
		}
		for _, want := range []string{filepath.Join(dir, store.FileName), "in use by another relayguard", "store.redis"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	}
}

// TestFileReadOnlyReadsAndRefusesWrites: a read-only open sees what was
// learned and cannot change it.
func TestFileReadOnlyReadsAndRefusesWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, _ := store.OpenFile(dir, store.FileOptions{SweepEvery: -1})
	f.Learn(ctx, false, []string{"meeting"}, 1)
	f.Close()
	r := openFile(t, dir, store.FileOptions{ReadOnly: true})
	if got, _, err := r.TokenCounts(ctx, []string{"meeting"}); err != nil || got[0].Ham != 1 {
		t.Errorf("read-only counts %+v %v", got, err)
	}
	if err := r.Learn(ctx, true, []string{"x"}, 1); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("learn on a read-only store: %v, want ErrUnavailable", err)
	}
	if _, err := store.OpenFile(t.TempDir(), store.FileOptions{ReadOnly: true}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only open of a missing file: %v, want not-exist", err)
	}
}

// TestFileSweepFollowsExpiryPolicy: the sweep drops expired counters and
// marks, one-off tokens unseen for OneOffTTL and common ones unseen for
// CommonTTL, and keeps significant tokens however old.
func TestFileSweepFollowsExpiryPolicy(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	f := openFile(t, t.TempDir(), store.FileOptions{Now: c.Now})
	learn := func(spam bool, tok string, n int) {
		for range n {
			if err := f.Learn(ctx, spam, []string{tok}, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	learn(true, "oneoff", 1)
	learn(true, "common", 3)
	learn(false, "common", 3)
	learn(true, "significant", 20)
	learn(false, "significant", 1)
	f.Add(ctx, "counter", 1, time.Hour)
	f.Add(ctx, "forever", 1, 0)
	f.SetMark(ctx, "mark", "v", time.Hour)
	f.SetMark(ctx, "kept", "v", 0)

	tokens := []string{"oneoff", "common", "significant"}
	present := func() []bool {
		got, _, err := f.TokenCounts(ctx, tokens)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]bool, len(got))
		for i, g := range got {
			out[i] = g != (store.TokenCounts{})
		}
		return out
	}
	steps := []struct {
		advance time.Duration
		want    []bool
		pruned  int
	}{
		{store.OneOffTTL - 48*time.Hour, []bool{true, true, true}, 0},
		{72 * time.Hour, []bool{false, true, true}, 1},
		{store.CommonTTL, []bool{false, false, true}, 1},
		{10 * store.CommonTTL, []bool{false, false, true}, 0},
	}
	for i, s := range steps {
		c.Advance(s.advance)
		pruned, err := f.Sweep()
		if err != nil {
			t.Fatal(err)
		}
		if got := present(); fmt.Sprint(got) != fmt.Sprint(s.want) || pruned != s.pruned {
			t.Errorf("step %d: present %v pruned %d, want %v %d", i, got, pruned, s.want, s.pruned)
		}
	}
	st, _ := f.Stats(ctx)
	if st.Counters != 1 || st.Marks != 1 || st.Tokens != 1 || st.LearnedSpam != 24 {
		t.Errorf("after sweeps: %+v, want the unexpiring counter and mark, one token, totals kept", st)
	}
}

// TestFileSweepManyEntries: the sweep's batches cover every entry (the
// cursor is re-found after each batch and each delete).
func TestFileSweepManyEntries(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	f := openFile(t, t.TempDir(), store.FileOptions{Now: c.Now})
	toks := make([]string, 25_000)
	for i := range toks {
		toks[i] = "t" + strconv.Itoa(i)
	}
	if err := f.Learn(ctx, true, toks, 1); err != nil {
		t.Fatal(err)
	}
	c.Advance(store.OneOffTTL + 24*time.Hour)
	if n, err := f.Sweep(); err != nil || n != len(toks) {
		t.Errorf("swept %d %v, want %d", n, err, len(toks))
	}
	if st, _ := f.Stats(ctx); st.Tokens != 0 {
		t.Errorf("%d tokens left", st.Tokens)
	}
}

const crashEnv = "RELAYGUARD_STORE_CRASH_DIR"

// TestFileSurvivesKillMidLearn: a process killed with SIGKILL while it
// learns leaves a file that opens, with totals that match the tokens:
// every message counted whole or not at all.
func TestFileSurvivesKillMidLearn(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		learnForever(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileSurvivesKillMidLearn$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once it has committed a few hundred messages: it is then
	// inside a learn transaction nearly all the time.
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "learned 300" {
	}
	cmd.Process.Kill()
	cmd.Wait()

	ctx := context.Background()
	f := openFile(t, dir, store.FileOptions{})
	spam, _, err := f.Totals(ctx)
	if err != nil || spam < 300 {
		t.Fatalf("totals %d %v, want at least the 300 reported", spam, err)
	}
	probe := []string{"every"}
	for i := range spam + 5 {
		probe = append(probe, "msg"+strconv.FormatInt(i, 10))
	}
	got, _, err := f.TokenCounts(ctx, probe)
	if err != nil {
		t.Fatal(err)
	}
	if int64(got[0].Spam) != spam {
		t.Errorf("token in every message counted %d times, total %d", got[0].Spam, spam)
	}
	for i, g := range got[1:] {
		if learned := int64(i) < spam; (g.Spam == 1) != learned {
			t.Errorf("message %d: token count %d, but %d messages are learned", i, g.Spam, spam)
		}
	}
}

// learnForever is the child of TestFileSurvivesKillMidLearn: it learns
// messages of 300 tokens until killed, saying how many are committed.
func learnForever(dir string) {
	f, err := store.OpenFile(dir, store.FileOptions{SweepEvery: -1})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	ctx := context.Background()
	for i := 0; ; i++ {
		toks := []string{"every", "msg" + strconv.Itoa(i)}
		for j := range 300 {
			toks = append(toks, "w"+strconv.Itoa((i*7+j)%5000))
		}
		if err := f.Learn(ctx, true, toks, 1); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Printf("learned %d\n", i+1)
	}
}

func TestFileHistory(t *testing.T) {
	storetest.HistoryConformance(t, func(t *testing.T) store.History {
		return openFile(t, t.TempDir(), store.FileOptions{})
	})
}
