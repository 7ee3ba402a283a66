package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"relayguard/config"
	"relayguard/internal/control"
	"relayguard/internal/limit"
)

const ratelimitUsage = `Usage: relayguard ratelimit show [-config FILE] KEY
       relayguard ratelimit release [-config FILE] USER

show prints the counters of KEY (user:alice, sender:bob@example.com,
ip:192.0.2.7, original_ip:2001:db8::1) in every window its [[ratelimit]]
blocks configure: the current and previous bucket, the sliding estimate
and the limit; for a user, also whether the account is held.

release lifts the hold on an account (see [hold]) at once, on every
instance that shares the store, and restarts its spam count.

Both read the store the configuration names (store.dir or store.redis).
`

// runRatelimit is `relayguard ratelimit show|release`.
func runRatelimit(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "show" && args[0] != "release") {
		fmt.Fprint(stderr, ratelimitUsage)
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("ratelimit "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration `file` (its [store], [[ratelimit]] and [hold])")
	fs.Usage = func() { fmt.Fprint(stderr, ratelimitUsage); fs.PrintDefaults() }
	rest, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 2
	}
	if len(rest) != 1 {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	log := newLogger("text", "error", stderr)
	svc, err := newServices(cfg, log, false)
	if code, ok := viaServe(cfg, err, control.Request{Op: "ratelimit", Args: map[string]string{"sub": sub, "key": rest[0]}}, stdout, stderr); ok {
		return code
	}
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	defer svc.close()
	lim := limiterOf(cfg, svc.store, log)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return ratelimitDo(ctx, lim, sub, rest[0], stdout, stderr)
}

// ratelimitDo is `ratelimit show|release KEY`, here or in the running serve.
func ratelimitDo(ctx context.Context, lim *limit.Limiter, sub, key string, stdout, stderr io.Writer) int {
	if sub == "release" {
		had, err := lim.Release(ctx, key)
		if err != nil {
			fmt.Fprintln(stderr, "relayguard:", err)
			return 1
		}
		if !had {
			fmt.Fprintf(stdout, "account %s was not held\n", key)
			return 0
		}
		fmt.Fprintf(stdout, "account %s released\n", key)
		return 0
	}
	usage, hold, err := lim.Show(ctx, key)
	if err != nil {
		fmt.Fprintln(stderr, "relayguard:", err)
		return 1
	}
	printUsage(stdout, key, usage, hold)
	return 0
}

func printUsage(w io.Writer, key string, usage []limit.Usage, hold string) {
	if len(usage) == 0 {
		fmt.Fprintf(w, "%s: no [[ratelimit]] block counts this key\n", key)
	} else {
		fmt.Fprintf(w, "%-28s %-10s %-12s %9s %9s %9s %7s\n", "KEY", "COUNTS", "WINDOW", "CURRENT", "PREVIOUS", "ESTIMATE", "LIMIT")
		for _, u := range usage {
			fmt.Fprintf(w, "%-28s %-10s %-12s %9d %9d %9.1f %7d\n", u.Key, u.What, u.Window, u.Current, u.Previous, u.Estimate, u.Limit)
		}
	}
	if hold != "" {
		fmt.Fprintf(w, "held: %s\n", hold)
	}
}
