package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"

	"relayguard/config"
	"relayguard/internal/control"
	"relayguard/internal/store"
	"relayguard/rules/message"
	"relayguard/scoring/classifier"
)

// learnStore opens the state store the configuration names, read-only for
// --stats; tests replace it.
var learnStore = func(c *config.Config, readOnly bool) (store.Store, error) {
	return store.Open(store.OpenOptions{Dir: c.Store.Dir, Redis: c.Store.Redis, ReadOnly: readOnly, LockTimeout: oneShotLockWait})
}

// maxLearnBytes bounds one message read for learning: larger mail is not
// what spam looks like, and a runaway mbox must not exhaust memory.
const maxLearnBytes = 32 << 20

const learnUsage = `Usage: relayguard learn --spam|--ham [--forget] PATH...|-
       relayguard learn --stats

Teaches the classifier what this site's spam and ham look like. PATH is a
message file, a folder (read recursively), a Maildir folder (its cur/ and
new/), or an mbox file (split on "From " lines, >From unescaped); - is
one message on standard input (for a Dovecot IMAPSieve script).

Learning a message twice counts once (it is known by its Message-ID and a
hash of its body); learning it as the other class moves it; --forget
undoes a learn. The classifier speaks once classifier.min_learns of each
class are learned.

--stats prints how many messages are learned, the store's tokens, and what
autolearn learned and refused.

Exit status: 0 when every message was learned (or already was), 1 when a
path or message could not be read or the store failed, 2 for usage errors.

`

type learnFlags struct {
	spam, ham, forget, stats bool
	config                   string
}

// valid: --stats alone; otherwise paths and one of --spam or --ham, or
// --forget (with either, or neither: a message is forgotten whatever it
// was learned as).
func (f learnFlags) valid(paths int) bool {
	if f.stats {
		return !f.spam && !f.ham && !f.forget && paths == 0
	}
	if (f.spam && f.ham) || paths == 0 {
		return false
	}
	return f.forget || f.spam || f.ham
}

func runLearn(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var f learnFlags
	fl := flag.NewFlagSet("learn", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.BoolVar(&f.spam, "spam", false, "the messages are spam")
	fl.BoolVar(&f.ham, "ham", false, "the messages are ham (wanted mail)")
	fl.BoolVar(&f.forget, "forget", false, "undo the learning of the messages")
	fl.BoolVar(&f.stats, "stats", false, "print what the classifier has learned")
	fl.StringVar(&f.config, "config", "", "configuration `file` (its [store] and [classifier]); default: embedded")
	fl.Usage = func() {
		fmt.Fprint(stderr, learnUsage)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if !f.valid(fl.NArg()) {
		fl.Usage()
		return 2
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	st, err := learnStore(cfg, f.stats)
	if errors.Is(err, store.ErrInUse) {
		return learnViaServe(cfg, f, fl.Args(), stdin, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "relayguard learn: state store:", err)
		return 1
	}
	defer st.Close()
	cl, err := classifier.New(classifier.Options{Store: st, MinLearns: cfg.Classifier.MinLearns})
	if err != nil {
		fmt.Fprintln(stderr, "relayguard learn:", err)
		return 1
	}
	ctx := context.Background()
	if f.stats {
		return learnStats(ctx, cl, st, cfg, stdout, stderr)
	}
	return learnPaths(fl.Args(), stdin, stdout, stderr, f, func(raw []byte) (string, error) {
		return learnOne(ctx, cl, message.ParseMessage(bytes.NewReader(raw), int64(len(raw))), f)
	})
}

// learners is how many messages are learned at once. The embedded store
// commits concurrent changes in one transaction and one fsync (bbolt's
// Batch), so four learners learn a folder about 2.5 times as fast as one
// (README, "State store"); Redis overlaps the round trips.
const learners = 4

// learnPaths learns every message of paths with learn (here, or in the
// running serve), counts what was done and prints the tally. learn must be
// safe for concurrent use.
func learnPaths(paths []string, stdin io.Reader, stdout, stderr io.Writer, f learnFlags, learn func(raw []byte) (string, error)) int {
	type job struct {
		name string
		raw  []byte
	}
	var (
		tally  learnTally
		failed bool
		mu     sync.Mutex // tally, failed and stderr
		wg     sync.WaitGroup
	)
	jobs := make(chan job)
	for range learners {
		wg.Go(func() {
			for j := range jobs {
				out, err := learn(j.raw)
				mu.Lock()
				if err != nil {
					fmt.Fprintf(stderr, "relayguard learn: %s: %v\n", j.name, err)
					failed = true
				} else {
					tally.count(out)
				}
				mu.Unlock()
			}
		})
	}
	for _, path := range paths {
		err := eachMessage(path, stdin, func(name string, raw []byte) { jobs <- job{name, raw} })
		if err != nil {
			mu.Lock()
			fmt.Fprintln(stderr, "relayguard learn:", err)
			failed = true
			mu.Unlock()
		}
	}
	close(jobs)
	wg.Wait()
	tally.print(stdout, f)
	if failed {
		return 1
	}
	return 0
}

type learnTally struct{ learned, already, moved, forgotten, unknown int }

// What learnOne says it did.
const (
	outLearned   = "learned"
	outAlready   = "already"
	outMoved     = "moved"
	outForgotten = "forgotten"
	outUnknown   = "unknown"
)

// learnOne learns or forgets one message, here or in the running serve
// (the control socket's "learn"), and says what it did.
func learnOne(ctx context.Context, cl *classifier.Classifier, m *message.Message, f learnFlags) (string, error) {
	if f.forget {
		prev, err := cl.Forget(ctx, m, nil)
		switch {
		case err != nil:
			return "", err
		case prev == "":
			return outUnknown, nil
		}
		return outForgotten, nil
	}
	out, err := cl.Learn(ctx, m, nil, f.spam)
	if err != nil {
		return "", err
	}
	switch out {
	case classifier.AlreadyLearned:
		return outAlready, nil
	case classifier.Moved:
		return outMoved, nil
	}
	return outLearned, nil
}

func (t *learnTally) count(out string) {
	switch out {
	case outLearned:
		t.learned++
	case outAlready:
		t.already++
	case outMoved:
		t.moved++
	case outForgotten:
		t.forgotten++
	case outUnknown:
		t.unknown++
	}
}

// learnViaServe sends the messages to the running serve, which holds the
// embedded store, one request each.
func learnViaServe(cfg *config.Config, f learnFlags, paths []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if f.stats {
		out, err := askServe(cfg, control.Request{Op: "learn-stats"})
		io.WriteString(stdout, out)
		if err != nil {
			fmt.Fprintln(stderr, "relayguard learn:", err)
			return 1
		}
		return 0
	}
	mode := "ham"
	if f.spam {
		mode = "spam"
	}
	forget := strconv.FormatBool(f.forget)
	return learnPaths(paths, stdin, stdout, stderr, f, func(raw []byte) (string, error) {
		return askServe(cfg, control.Request{Op: "learn", Body: raw, Args: map[string]string{"mode": mode, "forget": forget}})
	})
}

func (t *learnTally) print(w io.Writer, f learnFlags) {
	if f.forget {
		fmt.Fprintf(w, "forgot %d messages (%d were not learned)\n", t.forgotten, t.unknown)
		return
	}
	class := "ham"
	if f.spam {
		class = "spam"
	}
	fmt.Fprintf(w, "learned %d messages as %s (%d already were, %d moved from the other class)\n", t.learned, class, t.already, t.moved)
}

func learnStats(ctx context.Context, cl *classifier.Classifier, st store.Store, cfg *config.Config, stdout, stderr io.Writer) int {
	tokens := int64(-1)
	if ss, err := st.Stats(ctx); err == nil {
		tokens = ss.Tokens
	}
	s, err := cl.StatsOf(ctx, tokens)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard learn:", err)
		return 1
	}
	ready := "ready"
	if min(s.LearnedSpam, s.LearnedHam) < cfg.Classifier.MinLearns {
		ready = fmt.Sprintf("silent until %d of each are learned", cfg.Classifier.MinLearns)
	}
	fmt.Fprintf(stdout, "learned:   %d spam, %d ham (%s)\n", s.LearnedSpam, s.LearnedHam, ready)
	if s.Tokens >= 0 {
		fmt.Fprintf(stdout, "tokens:    %d\n", s.Tokens)
	}
	fmt.Fprintf(stdout, "autolearn: %d spam, %d ham learned; refused %d of our customers' messages, %d already learned (autolearn is %s)\n",
		s.AutoSpam, s.AutoHam, s.SkippedOurs, s.SkippedKnown, onOff(cfg.Classifier.Autolearn))
	return 0
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// eachMessage calls fn with every message under path: "-" (standard
// input), a Maildir (cur/ and new/), a folder (recursively), an mbox file
// or a message file.
func eachMessage(path string, stdin io.Reader, fn func(name string, raw []byte)) error {
	if path == "-" {
		raw, err := readCapped(stdin)
		if err != nil {
			return fmt.Errorf("standard input: %w", err)
		}
		fn("-", raw)
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return eachInFile(path, fn)
	}
	if isMaildir(path) {
		for _, sub := range []string{"cur", "new"} {
			entries, err := os.ReadDir(filepath.Join(path, sub))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			for _, e := range entries {
				if e.Type().IsRegular() {
					if err := eachInFile(filepath.Join(path, sub, e.Name()), fn); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// A Maildir's tmp/ holds messages still being delivered.
		if d.IsDir() && d.Name() == "tmp" && isMaildir(filepath.Dir(p)) {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, p := range files {
		if err := eachInFile(p, fn); err != nil {
			return err
		}
	}
	return nil
}

func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// eachInFile reads a message file, or each message of an mbox file.
func eachInFile(path string, fn func(name string, raw []byte)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	raw, err := readCapped(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if !bytes.HasPrefix(raw, []byte("From ")) {
		fn(path, raw)
		return nil
	}
	for i, m := range splitMbox(raw) {
		fn(fmt.Sprintf("%s#%d", path, i+1), m)
	}
	return nil
}

func readCapped(r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxLearnBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxLearnBytes {
		return nil, fmt.Errorf("larger than %d MiB: not learned", maxLearnBytes>>20)
	}
	return raw, nil
}

// splitMbox splits an mbox into its messages: each begins at a line
// starting "From " (the separator, dropped), and a quoted ">From " (any
// number of '>', mboxrd) loses one '>'. Lines end as they were written.
func splitMbox(raw []byte) [][]byte {
	var out [][]byte
	var cur []byte
	started := false
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), maxLearnBytes+1)
	sc.Split(scanLinesKeepEnd)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte("From ")) {
			if started {
				out = append(out, cur)
			}
			cur, started = nil, true
			continue
		}
		if q := bytes.TrimLeft(line, ">"); len(q) < len(line) && bytes.HasPrefix(q, []byte("From ")) {
			line = line[1:]
		}
		cur = append(cur, line...)
	}
	if started {
		out = append(out, cur)
	}
	return out
}

// scanLinesKeepEnd is bufio.ScanLines that keeps the line ending.
func scanLinesKeepEnd(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i+1], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
