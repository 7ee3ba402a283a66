package store

import (
	"bytes"
	"context"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The history's buckets: entries keyed by time then ref (historyKey), so
// a cursor walks them newest first and pruning cuts from the front; and
// ref → entry key, for a lookup by ref. The entry count is kept in the
// totals bucket, so bounding the history never walks it.
var (
	bucketHistory     = []byte("history")
	bucketHistoryRefs = []byte("history_refs")
	keyHistoryCount   = []byte("history_n")
)

func (f *File) AddHistory(_ context.Context, entries []HistoryEntry, lim HistoryLimits) error {
	return f.update("history add", func(tx *bolt.Tx) error {
		hb, err := tx.CreateBucketIfNotExists(bucketHistory)
		if err != nil {
			return err
		}
		rb, err := tx.CreateBucketIfNotExists(bucketHistoryRefs)
		if err != nil {
			return err
		}
		tb := tx.Bucket(bucketTotals)
		n := getInt64(tb.Get(keyHistoryCount))
		for _, e := range entries {
			if e.Ref == "" || len(e.Ref) > 200 {
				continue // no session makes such a ref; never fail the batch for one
			}
			if old := rb.Get([]byte(e.Ref)); old != nil {
				if err := hb.Delete(slices.Clone(old)); err != nil {
					return err
				}
				n--
			}
			k := historyKey(e.Time, e.Ref)
			if err := hb.Put(k, e.Data); err != nil {
				return err
			}
			if err := rb.Put([]byte(e.Ref), k); err != nil {
				return err
			}
			n++
		}
		var cut []byte
		if lim.Age > 0 {
			if last, _ := hb.Cursor().Last(); last != nil {
				t, _ := historyKeyTime(last)
				cut = historyKey(t.Add(-lim.Age), "")
			}
		}
		c := hb.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.First() {
			old := (cut != nil && bytes.Compare(k, cut) < 0) || (lim.Max > 0 && n > int64(lim.Max))
			if !old {
				break
			}
			_, ref := historyKeyTime(k)
			if err := rb.Delete([]byte(ref)); err != nil {
				return err
			}
			if err := c.Delete(); err != nil {
				return err
			}
			n--
		}
		return tb.Put(keyHistoryCount, putInt64(max(n, 0)))
	})
}

func (f *File) HistoryEntry(_ context.Context, ref string) (HistoryEntry, bool, error) {
	var e HistoryEntry
	var ok bool
	err := f.view("history entry", func(tx *bolt.Tx) error {
		hb, rb := bucket(tx, bucketHistory), bucket(tx, bucketHistoryRefs)
		if hb == nil || rb == nil {
			return nil
		}
		k := rb.Get([]byte(ref))
		if k == nil {
			return nil
		}
		v := hb.Get(k)
		if v == nil {
			return nil
		}
		e.Time, e.Ref = historyKeyTime(k)
		e.Data, ok = slices.Clone(v), true
		return nil
	})
	return e, ok, err
}

// ScanHistory reads pages of entries, each in a transaction of its own,
// so a slow reader (a search through everything) never holds one open
// while mail is recorded.
func (f *File) ScanHistory(_ context.Context, after HistoryCursor, fn func(HistoryEntry) bool) error {
	const page = 256
	var from []byte
	if !after.Time.IsZero() {
		from = historyKey(after.Time, after.Ref)
	}
	for {
		var got []HistoryEntry
		err := f.view("history scan", func(tx *bolt.Tx) error {
			hb := bucket(tx, bucketHistory)
			if hb == nil {
				return nil
			}
			c := hb.Cursor()
			var k, v []byte
			if from == nil {
				k, v = c.Last()
			} else {
				// Seek lands on the first key at or after from; the
				// entries wanted are strictly before it.
				k, _ = c.Seek(from)
				if k == nil {
					k, v = c.Last()
				} else {
					k, v = c.Prev()
				}
				if k != nil && bytes.Compare(k, from) >= 0 {
					k, v = c.Prev()
				}
			}
			for ; k != nil && len(got) < page; k, v = c.Prev() {
				t, ref := historyKeyTime(k)
				got = append(got, HistoryEntry{Ref: ref, Time: t, Data: slices.Clone(v)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, e := range got {
			if !fn(e) {
				return nil
			}
		}
		if len(got) < page {
			return nil
		}
		last := got[len(got)-1]
		from = historyKey(last.Time, last.Ref)
	}
}
