//go:build unix

package cputime

import "testing"

// TestProcessGrowsWithWork: busy work shows as CPU time.
func TestProcessGrowsWithWork(t *testing.T) {
	before := Process()
	x := 0
	for i := 0; i < 50_000_000; i++ {
		x += i ^ x
	}
	if after := Process(); after <= before {
		t.Fatalf("CPU time %v after busy work, %v before (x=%d)", after, before, x)
	}
}
