package store_test

import (
	"sync"
	"testing"
	"time"

	"relayguard/internal/store"
	"relayguard/internal/store/storetest"
)

func TestMemoryStore(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	storetest.Conformance(t, func(*testing.T) store.Store { return store.NewMemory(clock) },
		func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() })
}

func TestMemoryHistory(t *testing.T) {
	storetest.HistoryConformance(t, func(*testing.T) store.History { return store.NewMemory(nil) })
}
