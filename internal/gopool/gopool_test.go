package gopool

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
)

// TestGoRunsEveryFunction: many functions at once, each run exactly once,
// none waiting for another (they block on each other until all started).
func TestGoRunsEveryFunction(t *testing.T) {
	const n = 200
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	release := make(chan struct{})
	ran := make([]int, n)
	p := New()
	for i := 0; i < n; i++ {
		p.Go(func() {
			defer done.Done()
			ran[i]++
			started.Done()
			<-release // all n must be running at once: Go never queues
		})
	}
	started.Wait()
	close(release)
	done.Wait()
	for i, c := range ran {
		if c != 1 {
			t.Fatalf("function %d ran %d times", i, c)
		}
	}
}

// TestGoReusesAnIdleGoroutine: sequential work runs on a kept goroutine
// (the same goroutine ID each time), not on a new one per call.
func TestGoReusesAnIdleGoroutine(t *testing.T) {
	p := New()
	ids := map[string]bool{}
	for i := 0; i < 100; i++ {
		got := make(chan string)
		p.Go(func() { got <- goroutineID() })
		ids[<-got] = true
		runtime.Gosched() // let the goroutine go back to waiting
	}
	// A new goroutine per call gives 100 IDs; reuse gives one, or a few
	// when a call comes before the last one's goroutine is back waiting.
	if len(ids) > 10 {
		t.Fatalf("100 sequential calls ran on %d goroutines", len(ids))
	}
}

// goroutineID reads the running goroutine's ID from its stack trace's
// first line, "goroutine 123 [running]:".
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := bytes.Fields(buf)
	if len(f) < 2 {
		return ""
	}
	return string(f[1])
}
