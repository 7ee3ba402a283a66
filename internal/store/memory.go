package store

import (
	"context"
	"sync"
	"time"
)

// Memory is a Store in this process's memory: for tests, and for
// `relayguard check` runs that learn nothing. It is safe for concurrent use.
type Memory struct {
	mu        sync.Mutex
	now       func() time.Time
	tokens    map[string]TokenCounts
	spam, ham int64
	counters  map[string]expiring[int64]
	marks     map[string]expiring[string]

	histOnce sync.Once
	hist     *memHistory
}

type expiring[T any] struct {
	v   T
	exp time.Time // zero: never
}

func (e expiring[T]) live(now time.Time) bool { return e.exp.IsZero() || now.Before(e.exp) }

// NewMemory makes an empty in-memory store. now may be nil (time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, tokens: map[string]TokenCounts{},
		counters: map[string]expiring[int64]{}, marks: map[string]expiring[string]{}}
}

func (m *Memory) TokenCounts(_ context.Context, tokens []string) ([]TokenCounts, Totals, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]TokenCounts, len(tokens))
	for i, t := range tokens {
		out[i] = m.tokens[t]
	}
	return out, Totals{Spam: m.spam, Ham: m.ham}, nil
}

func (m *Memory) Learn(_ context.Context, spam bool, tokens []string, delta int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range tokens {
		c := m.tokens[t]
		if spam {
			c.Spam = addClamped(c.Spam, delta)
		} else {
			c.Ham = addClamped(c.Ham, delta)
		}
		if c == (TokenCounts{}) {
			delete(m.tokens, t)
		} else {
			m.tokens[t] = c
		}
	}
	if spam {
		m.spam = max(0, m.spam+int64(delta))
	} else {
		m.ham = max(0, m.ham+int64(delta))
	}
	return nil
}

// addClamped adds delta to a count, never below zero.
func addClamped(c uint32, delta int) uint32 {
	v := int64(c) + int64(delta)
	if v < 0 {
		return 0
	}
	return uint32(min(v, 1<<32-1))
}

func (m *Memory) Totals(context.Context) (int64, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.spam, m.ham, nil
}

func (m *Memory) Add(_ context.Context, key string, n int64, ttl time.Duration) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	c, ok := m.counters[key]
	if !ok || !c.live(now) {
		c = expiring[int64]{}
		if ttl > 0 {
			c.exp = now.Add(ttl)
		}
	}
	c.v += n
	m.counters[key] = c
	return c.v, nil
}

func (m *Memory) Counts(_ context.Context, keys []string) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make([]int64, len(keys))
	for i, k := range keys {
		if c, ok := m.counters[k]; ok && c.live(now) {
			out[i] = c.v
		}
	}
	return out, nil
}

func (m *Memory) SetMark(_ context.Context, key, value string, ttl time.Duration) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	prev, had := m.marks[key]
	had = had && prev.live(now)
	e := expiring[string]{v: value}
	if ttl > 0 {
		e.exp = now.Add(ttl)
	}
	m.marks[key] = e
	if !had {
		return "", false, nil
	}
	return prev.v, true, nil
}

func (m *Memory) Mark(_ context.Context, key string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.marks[key]
	if !ok || !e.live(m.now()) {
		return "", false, nil
	}
	return e.v, true, nil
}

func (m *Memory) DeleteMark(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.marks, key)
	return nil
}

func (m *Memory) Stats(context.Context) (Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	s := Stats{Kind: "memory", Tokens: int64(len(m.tokens)), LearnedSpam: m.spam, LearnedHam: m.ham}
	for _, c := range m.counters {
		if c.live(now) {
			s.Counters++
		}
	}
	for _, e := range m.marks {
		if e.live(now) {
			s.Marks++
		}
	}
	return s, nil
}

func (m *Memory) Close() error { return nil }
