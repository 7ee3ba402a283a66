package history

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"relayguard/internal/metrics"
	"relayguard/internal/store"
)

// Options bound the history and its recorder.
type Options struct {
	Max int           // console.history_max: past it the oldest go
	Age time.Duration // console.history_age: older records go
	// Queue is how many records may wait for the store (default 4096);
	// past it records are dropped and counted, never waited for.
	Queue int
	Log   *slog.Logger
	// BatchWait is how long a record waits for others to be written
	// with (default batchWait; tests shorten it).
	BatchWait time.Duration
}

func (o Options) batchWait() time.Duration {
	if o.BatchWait > 0 {
		return o.BatchWait
	}
	return batchWait
}

// History records and searches judged messages on a store.
type History struct {
	st   store.History
	opts Options
	q    chan *Record
	done chan struct{}
	once sync.Once
	now  func() time.Time
}

// New starts a history on st; Close flushes what is queued and stops it.
func New(st store.History, o Options) *History {
	if o.Queue <= 0 {
		o.Queue = 4096
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	h := &History{st: st, opts: o, q: make(chan *Record, o.Queue), done: make(chan struct{}), now: time.Now}
	go h.run()
	return h
}

// Record queues r for the store without waiting: a full queue (the store
// slower than the mail) drops r and counts it, because a message must
// never wait on its history. It reports whether r was queued.
func (h *History) Record(r *Record) bool {
	select {
	case h.q <- r:
		return true
	default:
		metrics.HistoryRecords("dropped", 1)
		return false
	}
}

// Records are written in batches: the first record waits up to
// batchWait for others, up to maxBatch, and they go in one store change
// (one transaction and one fsync, or one Redis script). Measured on the
// embedded file, a commit per message cost the mail path about 170 µs of
// CPU per message (fsync and page writes); a commit per batchWait costs a
// tenth of that. A record shows in the console batchWait late at most.
const (
	maxBatch  = 512
	batchWait = 250 * time.Millisecond
)

func (h *History) run() {
	defer close(h.done)
	lim := store.HistoryLimits{Max: h.opts.Max, Age: h.opts.Age}
	failing := false
	for r := range h.q {
		batch := []*Record{r}
		timer := time.NewTimer(h.opts.batchWait())
	more:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-h.q:
				if !ok {
					break more // closing: write what came
				}
				batch = append(batch, r)
			case <-timer.C:
				break more
			}
		}
		timer.Stop()
		entries := make([]store.HistoryEntry, 0, len(batch))
		for _, r := range batch {
			data, err := encode(r)
			if err != nil {
				h.opts.Log.Warn("history: record not kept", "ref", r.Ref, "err", err)
				metrics.HistoryRecords("failed", 1)
				continue
			}
			entries = append(entries, store.HistoryEntry{Ref: r.Key(), Time: r.Time, Data: data})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := h.st.AddHistory(ctx, entries, lim)
		cancel()
		switch {
		case err != nil:
			metrics.HistoryRecords("failed", len(entries))
			if !failing {
				h.opts.Log.Warn("history: records lost while the state store fails (mail flows on)", "err", err)
			}
			failing = true
		default:
			metrics.HistoryRecords("recorded", len(entries))
			if failing {
				h.opts.Log.Info("history: state store back")
			}
			failing = false
		}
	}
}

// Close writes what is queued and stops the recorder. Record must not be
// called after Close.
func (h *History) Close() {
	h.once.Do(func() { close(h.q) })
	<-h.done
}

// Key is the record's key in the store: its ID (its Ref when it has none).
func (r *Record) Key() string {
	if r.ID != "" {
		return r.ID
	}
	return r.Ref
}

// Get returns the record of id, tokens and all; a record past the age
// limit that the store still holds is not returned.
func (h *History) Get(ctx context.Context, id string) (*Record, bool, error) {
	e, ok, err := h.st.HistoryEntry(ctx, id)
	if err != nil || !ok {
		return nil, false, err
	}
	if h.expired(e.Time) {
		return nil, false, nil
	}
	r, err := decode(e.Data)
	if err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// expired reports whether a record of t is past the age limit now (the
// file and memory stores drop old records only when new ones come).
func (h *History) expired(t time.Time) bool {
	return h.opts.Age > 0 && t.Before(h.now().Add(-h.opts.Age))
}
