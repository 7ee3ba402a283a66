//go:build unix

// Package cputime reads the CPU time this process has used, for
// benchmarks and the load generator: on a machine shared with other work,
// wall time per message swings with the load, CPU time much less.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time (user and system, GC workers included) this
// process has used so far; 0 when it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
