package dns

import "sync"

// flightGroup lets concurrent identical questions share one upstream
// exchange (the idea of golang.org/x/sync/singleflight, kept to the dozen
// lines we need so the module graph does not grow). A hundred messages from
// one spammer's IP arriving at once ask every DNSBL zone once, not a
// hundred times.
type flightGroup struct {
	mu    sync.Mutex
	calls map[string]*flight
}

// flight is one exchange in progress; done is closed when ans/err are set.
type flight struct {
	done chan struct{}
	ans  *answer
	err  error
}

// join returns the flight for key and whether the caller must run it
// (leader) or only wait on done.
func (g *flightGroup) join(key string) (f *flight, leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.calls[key]; ok {
		return f, false
	}
	if g.calls == nil {
		g.calls = make(map[string]*flight)
	}
	f = &flight{done: make(chan struct{})}
	g.calls[key] = f
	return f, true
}

// finish publishes the leader's result to every waiter and forgets key, so
// the next question after this one goes to the cache or upstream again.
func (g *flightGroup) finish(key string, f *flight, ans *answer, err error) {
	f.ans, f.err = ans, err
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	close(f.done)
}
