package store

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// The verdict history (the console's) is kept apart from Store: a store
// that has none (a one-shot command's) still satisfies Store, and the
// history's callers ask for it with a type assertion.

// HistoryEntry is one judged message, stored as its encoded record: the
// store orders and bounds entries, it does not read them.
type HistoryEntry struct {
	Ref  string
	Time time.Time
	Data []byte
}

// HistoryLimits bound the history: past Max entries the oldest go, and an
// entry older than Age (counted back from the newest entry added) goes.
// Zero means no bound of that kind.
type HistoryLimits struct {
	Max int
	Age time.Duration
}

// HistoryCursor is where a page of history ends: the next page starts
// with the entry just older than it. The zero cursor starts at the newest.
type HistoryCursor struct {
	Time time.Time
	Ref  string
}

// History keeps judged messages, newest first.
type History interface {
	// AddHistory stores entries (in any order) and then drops what the
	// limits exclude, in one change.
	AddHistory(ctx context.Context, entries []HistoryEntry, lim HistoryLimits) error
	// HistoryEntry returns the entry of ref.
	HistoryEntry(ctx context.Context, ref string) (HistoryEntry, bool, error)
	// ScanHistory calls fn with entries older than after (all, for the
	// zero cursor), newest first, until fn returns false or none are left.
	ScanHistory(ctx context.Context, after HistoryCursor, fn func(HistoryEntry) bool) error
}

// before reports whether a is older than b in the history's order: by
// time, then by ref (two messages judged in the same instant).
func (a HistoryCursor) before(b HistoryCursor) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	return a.Ref < b.Ref
}

func cursorOf(e HistoryEntry) HistoryCursor { return HistoryCursor{Time: e.Time, Ref: e.Ref} }

// memHistory is Memory's history: a slice kept oldest first.
type memHistory struct {
	mu      sync.Mutex
	entries []HistoryEntry
}

func (m *Memory) history() *memHistory {
	m.histOnce.Do(func() { m.hist = &memHistory{} })
	return m.hist
}

func (m *Memory) AddHistory(_ context.Context, entries []HistoryEntry, lim HistoryLimits) error {
	h := m.history()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range entries {
		e.Data = slices.Clone(e.Data)
		h.entries = slices.DeleteFunc(h.entries, func(o HistoryEntry) bool { return o.Ref == e.Ref })
		i, _ := slices.BinarySearchFunc(h.entries, e, func(a, b HistoryEntry) int {
			if cursorOf(a).before(cursorOf(b)) {
				return -1
			}
			return 1
		})
		h.entries = slices.Insert(h.entries, i, e)
	}
	if n := len(h.entries); n > 0 && lim.Age > 0 {
		cut := h.entries[n-1].Time.Add(-lim.Age)
		i := 0
		for i < n && h.entries[i].Time.Before(cut) {
			i++
		}
		h.entries = h.entries[i:]
	}
	if lim.Max > 0 && len(h.entries) > lim.Max {
		h.entries = slices.Clone(h.entries[len(h.entries)-lim.Max:])
	}
	return nil
}

func (m *Memory) HistoryEntry(_ context.Context, ref string) (HistoryEntry, bool, error) {
	h := m.history()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.entries {
		if e.Ref == ref {
			return e, true, nil
		}
	}
	return HistoryEntry{}, false, nil
}

func (m *Memory) ScanHistory(_ context.Context, after HistoryCursor, fn func(HistoryEntry) bool) error {
	h := m.history()
	h.mu.Lock()
	entries := slices.Clone(h.entries) // fn may be slow; never under the lock
	h.mu.Unlock()
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if !after.Time.IsZero() && !cursorOf(e).before(after) {
			continue
		}
		if !fn(e) {
			return nil
		}
	}
	return nil
}

// historyKey is an entry's key in the file: the time, big-endian Unix
// nanoseconds so keys sort by time, then the ref.
func historyKey(t time.Time, ref string) []byte {
	k := make([]byte, 8, 8+len(ref))
	n := uint64(t.UnixNano())
	for i := 7; i >= 0; i-- {
		k[i] = byte(n)
		n >>= 8
	}
	return append(k, ref...)
}

func historyKeyTime(k []byte) (time.Time, string) {
	if len(k) < 8 {
		return time.Time{}, ""
	}
	var n uint64
	for _, b := range k[:8] {
		n = n<<8 | uint64(b)
	}
	return time.Unix(0, int64(n)), strings.Clone(string(k[8:]))
}
