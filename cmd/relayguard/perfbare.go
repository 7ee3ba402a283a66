//go:build perfbare

package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"relayguard/scoring"
)

// A relayguard built with -tags perfbare runs only the checks named in
// RELAYGUARD_PERF_CHECKS (comma-separated; unset or empty: none), so that
// scripts/perf.sh (PERF_BARE=1) can measure what the SMTP proxy costs
// without its checks, and what a chosen check adds to it. It relays mail
// without judging it: a benchmark build, never one to deploy, and it says
// so on standard error every time it builds an engine.
func init() { trimChecks = keepNamedChecks }

func keepNamedChecks(checks []scoring.Check) []scoring.Check {
	names := strings.Split(os.Getenv("RELAYGUARD_PERF_CHECKS"), ",")
	var kept []scoring.Check
	var ran []string
	for _, ch := range checks {
		if slices.Contains(names, ch.Name()) {
			kept = append(kept, ch)
			ran = append(ran, ch.Name())
		}
	}
	fmt.Fprintf(os.Stderr, "relayguard: a perfbare build, for benchmarks only: %d of %d checks run %v\n", len(kept), len(checks), ran)
	return kept
}
