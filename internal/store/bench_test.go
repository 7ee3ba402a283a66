package store_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"relayguard/internal/store"
	"relayguard/internal/store/redistest"
)

// synthetic makes messages of n tokens drawn Zipf-like from a vocabulary
// (a few common words, a long tail of rare ones, as real mail has), plus
// one token unique to the message (an id, a tracking link).
type synthetic struct {
	z *rand.Zipf
	i int
}

func newSynthetic(seed uint64) *synthetic {
	r := rand.New(rand.NewPCG(seed, 1))
	return &synthetic{z: rand.NewZipf(r, 1.1, 2, 2_000_000)}
}

func (s *synthetic) message(n int) []string {
	s.i++
	toks := make([]string, 0, n)
	toks = append(toks, "id"+strconv.Itoa(s.i))
	for len(toks) < n {
		toks = append(toks, "w"+strconv.FormatUint(s.z.Uint64(), 36))
	}
	return toks
}

func benchStores(b *testing.B, run func(b *testing.B, s store.Store)) {
	b.Run("file", func(b *testing.B) {
		f, err := store.OpenFile(b.TempDir(), store.FileOptions{SweepEvery: -1})
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		run(b, f)
	})
	b.Run("redis", func(b *testing.B) {
		srv := redistest.Start(b)
		r, err := store.OpenRedis(srv.URL(0))
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		run(b, r)
	})
}

// BenchmarkTokenCounts300: the classifier's read per message, on a store
// that has learned 2,000 messages.
func BenchmarkTokenCounts300(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := context.Background()
		gen := newSynthetic(1)
		for i := range 2000 {
			if err := s.Learn(ctx, i%2 == 0, gen.message(300), 1); err != nil {
				b.Fatal(err)
			}
		}
		msgs := make([][]string, 64)
		for i := range msgs {
			msgs[i] = gen.message(300)
		}
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if _, _, err := s.TokenCounts(ctx, msgs[i%len(msgs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLearn300: learning one message of 300 tokens.
func BenchmarkLearn300(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := context.Background()
		gen := newSynthetic(2)
		for i := 0; b.Loop(); i++ {
			if err := s.Learn(ctx, i%2 == 0, gen.message(300), 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStoreSize10k learns 10,000 synthetic messages of 300 tokens
// and reports the store's size and distinct tokens (the figure operators
// size store.dir or Redis memory by). One iteration is the whole run.
func BenchmarkStoreSize10k(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := context.Background()
		var st store.Stats
		for b.Loop() {
			gen := newSynthetic(3)
			for i := range 10_000 {
				if err := s.Learn(ctx, i%2 == 0, gen.message(300), 1); err != nil {
					b.Fatal(err)
				}
			}
			var err error
			if st, err = s.Stats(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(st.Bytes)/(1<<20), "MiB")
		b.ReportMetric(float64(st.Tokens), "tokens")
	})
}

// BenchmarkAddParallel: rate-limit counters from concurrent sessions, the
// write on every message's path.
func BenchmarkAddParallel(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := context.Background()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, err := s.Add(ctx, "user:u"+strconv.Itoa(i%100)+":1h", 1, time.Hour); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkLearnParallel: learning from several goroutines, as a bulk
// `relayguard learn` may.
func BenchmarkLearnParallel(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := context.Background()
		b.SetParallelism(4)
		var seed atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			gen := newSynthetic(10 + seed.Add(1))
			for pb.Next() {
				if err := s.Learn(ctx, true, gen.message(300), 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
