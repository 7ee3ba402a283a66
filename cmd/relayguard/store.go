package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"time"

	"relayguard/config"
	"relayguard/internal/control"
	"relayguard/internal/store"
)

// oneShotLockWait is how long a one-shot command waits for the store
// file's lock before judging without it: a running serve holds the lock
// for as long as it runs, so waiting longer gains nothing.
const oneShotLockWait = 300 * time.Millisecond

// openStore opens the store of c. serve (oneShot false) opens it for
// writing and fails to start when it cannot: a second serve on the same
// file is told to use store.redis. A one-shot command (check, config
// check) opens the file read-only, and when it cannot (no file yet,
// serve holds it, no permission) judges with an empty in-memory store,
// saying so unless there is simply nothing learned yet.
func openStore(c *config.Config, log *slog.Logger, oneShot bool) (store.Store, error) {
	o := store.OpenOptions{Dir: c.Store.Dir, Redis: c.Store.Redis, ReadOnly: oneShot}
	if oneShot {
		o.LockTimeout = oneShotLockWait
	}
	st, err := store.Open(o)
	switch {
	case err == nil:
	case !oneShot:
		return nil, err
	case errors.Is(err, fs.ErrNotExist):
		return store.NewMemory(nil), nil
	default:
		// At ERROR: one-shot commands log only errors, and a verdict
		// without what was learned is one the user must know about.
		log.Error("judging without the state store (nothing learned is used)", "err", err)
		return store.NewMemory(nil), nil
	}
	if r, ok := st.(*store.RedisStore); ok && !oneShot {
		// Start anyway: mail flows by store.on_error until Redis answers.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := r.Ping(ctx); err != nil {
			log.Warn("state store not answering at start; mail flows by store.on_error until it does", "err", err)
		}
	}
	return st, nil
}

func runStore(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("store", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := fl.String("config", "", "configuration `file` (its [store] section); default: embedded")
	fl.Usage = func() {
		fmt.Fprint(stderr, `Usage: relayguard store stats [-config FILE]

Shows what the state store holds: its kind (file or redis), where it is,
its size, how many classifier tokens, rate-limit counters and marks it
has, and how many spam and ham messages were learned. The file store is
locked by a running serve; its size is shown, the counts are not (use
store.redis to share state between processes).

`)
		fl.PrintDefaults()
	}
	if len(args) == 0 || args[0] != "stats" {
		fl.Usage()
		return 2
	}
	if err := fl.Parse(args[1:]); err != nil {
		return 2
	}
	if fl.NArg() != 0 {
		fl.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	return storeStats(cfg, stdout, stderr)
}

// storeStats is `store stats`.
func storeStats(cfg *config.Config, stdout, stderr io.Writer) int {
	st, err := store.Open(store.OpenOptions{Dir: cfg.Store.Dir, Redis: cfg.Store.Redis, ReadOnly: true, LockTimeout: oneShotLockWait})
	if code, ok := viaServe(cfg, err, control.Request{Op: "store-stats"}, stdout, stderr); ok {
		return code
	}
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return printStoreStats(ctx, st, stdout, stderr)
}

// printStoreStats prints what st holds, here or in the running serve.
func printStoreStats(ctx context.Context, st store.Store, stdout, stderr io.Writer) int {
	s, err := st.Stats(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	size := humanBytes(s.Bytes)
	if s.Kind == "redis" {
		size += " (the whole Redis server's used_memory)"
	}
	fmt.Fprintf(stdout, "kind      %s\nwhere     %s\nsize      %s\ntokens    %d\ncounters  %d\nmarks     %d\nlearned   %d spam, %d ham\n",
		s.Kind, s.Where, size, s.Tokens, s.Counters, s.Marks, s.LearnedSpam, s.LearnedHam)
	return 0
}

// humanBytes is n in B, KiB, MiB or GiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), ""
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v, suffix = v/unit, s
		if v < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s (%d bytes)", v, suffix, n)
}
