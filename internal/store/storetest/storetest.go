// Package storetest holds the behaviour every store.Store must have, for
// each implementation's tests.
package storetest

import (
	"context"
	"testing"
	"time"

	"relayguard/internal/store"
)

// Conformance runs the behaviour every Store must have against a fresh
// store from open; every implementation's tests call it, so the memory,
// file and Redis stores cannot drift apart. advance moves the store's
// clock (or waits) by d, for expiry; it may be nil to skip expiry checks.
func Conformance(t *testing.T, open func(t *testing.T) store.Store, advance func(d time.Duration)) {
	ctx := context.Background()
	t.Run("tokens", func(t *testing.T) {
		s := open(t)
		if err := s.Learn(ctx, true, []string{"a", "b"}, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.Learn(ctx, false, []string{"b"}, 1); err != nil {
			t.Fatal(err)
		}
		got, tot, err := s.TokenCounts(ctx, []string{"a", "b", "c"})
		if err != nil {
			t.Fatal(err)
		}
		if tot != (store.Totals{Spam: 1, Ham: 1}) {
			t.Errorf("totals read with the tokens: %+v, want 1 spam 1 ham", tot)
		}
		want := []store.TokenCounts{{Spam: 1}, {Spam: 1, Ham: 1}, {}}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("token %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		if sp, hm, err := s.Totals(ctx); err != nil || sp != 1 || hm != 1 {
			t.Errorf("totals %d %d %v, want 1 1", sp, hm, err)
		}
		// Forgetting undoes, and never goes below zero.
		if err := s.Learn(ctx, true, []string{"a", "b"}, -1); err != nil {
			t.Fatal(err)
		}
		if err := s.Learn(ctx, true, []string{"a"}, -1); err != nil {
			t.Fatal(err)
		}
		got, tot, _ = s.TokenCounts(ctx, []string{"a", "b"})
		if got[0] != (store.TokenCounts{}) || got[1] != (store.TokenCounts{Ham: 1}) {
			t.Errorf("after forget: %+v", got)
		}
		if tot != (store.Totals{Ham: 1}) {
			t.Errorf("totals read with the tokens after forget: %+v, want 1 ham", tot)
		}
		// No tokens still reads the totals (a message with no words).
		if _, tot, err := s.TokenCounts(ctx, nil); err != nil || tot != (store.Totals{Ham: 1}) {
			t.Errorf("totals with no tokens: %+v %v, want 1 ham", tot, err)
		}
		if sp, _, _ := s.Totals(ctx); sp != 0 {
			t.Errorf("spam total %d after forgetting more than was learned, want 0", sp)
		}
	})
	t.Run("counters", func(t *testing.T) {
		s := open(t)
		for i := 1; i <= 3; i++ {
			if v, err := s.Add(ctx, "k", 2, time.Hour); err != nil || v != int64(2*i) {
				t.Fatalf("add %d: %d %v", i, v, err)
			}
		}
		got, err := s.Counts(ctx, []string{"k", "missing"})
		if err != nil || got[0] != 6 || got[1] != 0 {
			t.Errorf("counts %v %v, want [6 0]", got, err)
		}
		if advance != nil {
			s.Add(ctx, "short", 1, 2*time.Second)
			advance(3 * time.Second)
			if got, _ := s.Counts(ctx, []string{"short", "k"}); got[0] != 0 || got[1] != 6 {
				t.Errorf("after expiry: %v, want [0 6]", got)
			}
		}
	})
	t.Run("marks", func(t *testing.T) {
		s := open(t)
		if _, had, err := s.SetMark(ctx, "m", "spam", 0); err != nil || had {
			t.Fatalf("first set: had=%v err=%v", had, err)
		}
		if prev, had, _ := s.SetMark(ctx, "m", "ham", 0); !had || prev != "spam" {
			t.Errorf("second set: prev %q had %v, want spam true", prev, had)
		}
		if v, ok, _ := s.Mark(ctx, "m"); !ok || v != "ham" {
			t.Errorf("mark %q %v", v, ok)
		}
		if err := s.DeleteMark(ctx, "m"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Mark(ctx, "m"); ok {
			t.Error("deleted mark still there")
		}
		if err := s.DeleteMark(ctx, "never"); err != nil {
			t.Errorf("deleting a missing mark: %v", err)
		}
		if advance != nil {
			s.SetMark(ctx, "t", "x", 2*time.Second)
			advance(3 * time.Second)
			if _, ok, _ := s.Mark(ctx, "t"); ok {
				t.Error("mark outlived its ttl")
			}
		}
	})
	t.Run("stats", func(t *testing.T) {
		s := open(t)
		s.Learn(ctx, true, []string{"a", "b"}, 1)
		s.Add(ctx, "k", 1, time.Hour)
		s.SetMark(ctx, "m", "v", 0)
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Tokens != 2 || st.Counters != 1 || st.Marks != 1 || st.LearnedSpam != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}
