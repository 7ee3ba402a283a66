package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"relayguard/internal/store"
)

// HistoryConformance runs the behaviour every store.History must have:
// newest first, paging by cursor without gaps or repeats, lookup by ref,
// and both bounds (count: the oldest go; age: counted from the newest).
func HistoryConformance(t *testing.T, open func(t *testing.T) store.History) {
	ctx := context.Background()
	base := time.Unix(1_800_000_000, 0)
	entry := func(i int) store.HistoryEntry {
		return store.HistoryEntry{Ref: fmt.Sprintf("REF%03d", i), Time: base.Add(time.Duration(i) * time.Second),
			Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}
	}
	scan := func(t *testing.T, h store.History, after store.HistoryCursor, limit int) []string {
		t.Helper()
		var refs []string
		err := h.ScanHistory(ctx, after, func(e store.HistoryEntry) bool {
			refs = append(refs, e.Ref)
			return len(refs) < limit
		})
		if err != nil {
			t.Fatal(err)
		}
		return refs
	}
	t.Run("newest first, paged, by ref", func(t *testing.T) {
		h := open(t)
		var batch []store.HistoryEntry
		for i := range 600 { // more than a store's internal page
			batch = append(batch, entry(i))
		}
		// Two messages in the same instant are both kept and ordered.
		twin := entry(599)
		twin.Ref = "REF599b"
		batch = append(batch, twin)
		if err := h.AddHistory(ctx, batch, store.HistoryLimits{}); err != nil {
			t.Fatal(err)
		}
		first := scan(t, h, store.HistoryCursor{}, 3)
		if fmt.Sprint(first) != "[REF599b REF599 REF598]" {
			t.Errorf("first page %v, want [REF599b REF599 REF598]", first)
		}
		all := scan(t, h, store.HistoryCursor{}, 1<<30)
		if len(all) != 601 || all[600] != "REF000" {
			t.Fatalf("whole scan: %d entries ending %v, want 601 ending REF000", len(all), all[len(all)-1:])
		}
		// Paging from each page's last entry reads everything once.
		var paged []string
		var cur store.HistoryCursor
		for {
			var page []store.HistoryEntry
			h.ScanHistory(ctx, cur, func(e store.HistoryEntry) bool { page = append(page, e); return len(page) < 50 })
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				paged = append(paged, e.Ref)
			}
			last := page[len(page)-1]
			cur = store.HistoryCursor{Time: last.Time, Ref: last.Ref}
		}
		if fmt.Sprint(paged) != fmt.Sprint(all) {
			t.Errorf("paging read %d entries, the whole scan %d; they differ", len(paged), len(all))
		}
		e, ok, err := h.HistoryEntry(ctx, "REF123")
		if err != nil || !ok || string(e.Data) != `{"n":123}` || !e.Time.Equal(base.Add(123*time.Second)) {
			t.Errorf("entry REF123: %+v %v %v", e, ok, err)
		}
		if _, ok, err := h.HistoryEntry(ctx, "NOSUCH"); ok || err != nil {
			t.Errorf("missing ref found: %v %v", ok, err)
		}
	})
	t.Run("past max the oldest go", func(t *testing.T) {
		h := open(t)
		lim := store.HistoryLimits{Max: 5}
		for i := range 12 {
			if err := h.AddHistory(ctx, []store.HistoryEntry{entry(i)}, lim); err != nil {
				t.Fatal(err)
			}
		}
		if got := scan(t, h, store.HistoryCursor{}, 100); fmt.Sprint(got) != "[REF011 REF010 REF009 REF008 REF007]" {
			t.Errorf("kept %v, want the newest five", got)
		}
		if _, ok, _ := h.HistoryEntry(ctx, "REF006"); ok {
			t.Error("a dropped entry is still found by ref")
		}
		// A batch larger than max keeps its newest.
		var batch []store.HistoryEntry
		for i := 20; i < 30; i++ {
			batch = append(batch, entry(i))
		}
		h.AddHistory(ctx, batch, lim)
		if got := scan(t, h, store.HistoryCursor{}, 100); fmt.Sprint(got) != "[REF029 REF028 REF027 REF026 REF025]" {
			t.Errorf("after a large batch kept %v", got)
		}
	})
	t.Run("older than age go", func(t *testing.T) {
		h := open(t)
		lim := store.HistoryLimits{Age: 10 * time.Second}
		for _, i := range []int{0, 5, 9} {
			h.AddHistory(ctx, []store.HistoryEntry{entry(i)}, lim)
		}
		if got := scan(t, h, store.HistoryCursor{}, 100); len(got) != 3 {
			t.Fatalf("within the age: %v, want all three", got)
		}
		h.AddHistory(ctx, []store.HistoryEntry{entry(14)}, lim) // 0 is now 14s older than the newest
		if got := scan(t, h, store.HistoryCursor{}, 100); fmt.Sprint(got) != "[REF014 REF009 REF005]" {
			t.Errorf("after age: %v, want [REF014 REF009 REF005]", got)
		}
	})
	t.Run("same ref again replaces", func(t *testing.T) {
		h := open(t)
		h.AddHistory(ctx, []store.HistoryEntry{entry(1)}, store.HistoryLimits{})
		e := entry(2)
		e.Ref = "REF001"
		h.AddHistory(ctx, []store.HistoryEntry{e}, store.HistoryLimits{})
		got := scan(t, h, store.HistoryCursor{}, 100)
		if len(got) != 1 {
			t.Errorf("same ref twice: %v, want one entry", got)
		}
	})
}
