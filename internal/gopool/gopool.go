// Package gopool runs short functions on goroutines that are kept for
// the next one, instead of a new goroutine each time.
//
// The engine starts a dozen checks per message, each on its own
// goroutine. A new goroutine starts on a small stack, and the content
// scan (MIME walk, HTML tokenizer) grows it by copying, again for every
// message: in a profile of serve on MIME mail, runtime.morestack took
// about 4% of relayguard's CPU. A goroutine that ran one check and waits
// for the next keeps its grown stack.
//
// Go never queues: when no kept goroutine is idle it starts a new one,
// exactly as the go statement would, so a slow check never delays
// another. Goroutines idle for longer than Idle end, so a burst leaves
// nothing behind. (Pools such as ants bound the number of goroutines and
// then block or fail; the engine must not wait for a slot, so this is
// the thirty lines it needs rather than a dependency.)
package gopool

import "time"

// Idle is how long a kept goroutine waits for work before it ends.
const Idle = 10 * time.Second

// Pool hands functions to its idle goroutines.
type Pool struct{ work chan func() }

// New returns an empty pool; its goroutines start as work comes.
func New() *Pool { return &Pool{work: make(chan func())} }

// Go runs f on an idle goroutine of the pool, or on a new one.
func (p *Pool) Go(f func()) {
	select {
	case p.work <- f:
	default:
		go p.keep(f)
	}
}

// keep runs f, then further functions handed to Go, until idle for Idle.
func (p *Pool) keep(f func()) {
	t := time.NewTimer(Idle)
	defer t.Stop()
	for {
		f()
		f = nil // let what f held go while waiting
		t.Reset(Idle)
		select {
		case f = <-p.work:
		case <-t.C:
			return
		}
	}
}
