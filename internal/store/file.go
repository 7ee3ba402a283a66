package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"
)

// FileName is the embedded store's file under store.dir.
const FileName = "relayguard.db"

// Bucket names. A token's value is its spam and ham counts and the day
// (since the Unix epoch) it was last learned, fixed-width big-endian:
// 4+4+2 bytes. A counter is its value and expiry (Unix nanoseconds, 0:
// never), 8+8 bytes; a mark is its expiry, 8 bytes, then the value.
var (
	bucketTokens   = []byte("tokens")
	bucketTotals   = []byte("totals")
	bucketCounters = []byte("counters")
	bucketMarks    = []byte("marks")
	keySpam        = []byte("spam")
	keyHam         = []byte("ham")
)

// ErrInUse is wrapped by Open's error when another process holds the file.
var ErrInUse = errors.New("in use by another relayguard; use store.redis to share state between processes")

// FileOptions configure the embedded store.
type FileOptions struct {
	// ReadOnly opens an existing file for commands that only read; it
	// still waits for a writer's lock (bbolt locks the whole file).
	ReadOnly bool
	// LockTimeout bounds the wait for another process's lock (default 1s).
	LockTimeout time.Duration
	// SweepEvery is how often expired counters, marks and stale tokens
	// are removed (default 1h; negative: never, for tests).
	SweepEvery time.Duration
	// Now is the clock (nil: time.Now), for expiry tests.
	Now func() time.Time
}

// File is the embedded store: one bbolt file, every change one
// transaction, so a crash mid-write leaves the last committed state.
type File struct {
	db   *bolt.DB
	path string
	now  func() time.Time
	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
}

// OpenFile opens (creating it and its folder, 0700/0600, unless read-only)
// the store file under dir and starts its sweep.
func OpenFile(dir string, o FileOptions) (*File, error) {
	if dir == "" {
		return nil, errors.New("store: no store.dir")
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.SweepEvery == 0 {
		o.SweepEvery = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	path := filepath.Join(dir, FileName)
	if !o.ReadOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.LockTimeout, ReadOnly: o.ReadOnly})
	switch {
	case errors.Is(err, bolterr.ErrTimeout):
		return nil, fmt.Errorf("store: %s is %w", path, ErrInUse)
	case err != nil:
		return nil, fmt.Errorf("store: %w", err)
	}
	if !o.ReadOnly {
		err = db.Update(func(tx *bolt.Tx) error {
			for _, b := range [][]byte{bucketTokens, bucketTotals, bucketCounters, bucketMarks} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("store: %s: %w", path, err)
		}
	}
	// A lone change waits at most this long for company before it commits.
	db.MaxBatchDelay = 2 * time.Millisecond
	f := &File{db: db, path: path, now: o.Now, stop: make(chan struct{})}
	if !o.ReadOnly && o.SweepEvery > 0 {
		f.done.Add(1)
		go f.sweepLoop(o.SweepEvery)
	}
	return f, nil
}

// Path is the store's file.
func (f *File) Path() string { return f.path }

// view and update run fn in a transaction; a failure of the file (disk
// full, closed, read-only) means the store is unavailable, not that the
// caller erred.
func (f *File) view(op string, fn func(tx *bolt.Tx) error) error {
	if err := f.db.View(fn); err != nil {
		return fmt.Errorf("store %s %s: %w: %w", f.path, op, ErrUnavailable, err)
	}
	return nil
}

// update commits through bbolt's Batch: changes from concurrent sessions
// (a counter per message, learning from several goroutines) share one
// transaction and one fsync instead of queueing for one each. fn may run
// again if another change in its batch fails, so it only sets its
// results from what it reads in the transaction.
func (f *File) update(op string, fn func(tx *bolt.Tx) error) error {
	if err := f.db.Batch(fn); err != nil {
		return fmt.Errorf("store %s %s: %w: %w", f.path, op, ErrUnavailable, err)
	}
	return nil
}

// bucket returns b, or nil in a read-only file made before it existed.
func bucket(tx *bolt.Tx, name []byte) *bolt.Bucket { return tx.Bucket(name) }

func decodeToken(v []byte) (TokenCounts, uint16) {
	if len(v) < 10 {
		return TokenCounts{}, 0
	}
	return TokenCounts{Spam: binary.BigEndian.Uint32(v), Ham: binary.BigEndian.Uint32(v[4:])}, binary.BigEndian.Uint16(v[8:])
}

func encodeToken(c TokenCounts, day uint16) []byte {
	v := make([]byte, 10)
	binary.BigEndian.PutUint32(v, c.Spam)
	binary.BigEndian.PutUint32(v[4:], c.Ham)
	binary.BigEndian.PutUint16(v[8:], day)
	return v
}

// dayOf is the day since the epoch, which fits 16 bits until 2149.
func dayOf(t time.Time) uint16 { return uint16(t.Unix() / 86400) }

func (f *File) TokenCounts(_ context.Context, tokens []string) ([]TokenCounts, Totals, error) {
	out := make([]TokenCounts, len(tokens))
	var tot Totals
	err := f.view("token counts", func(tx *bolt.Tx) error {
		tot = readTotals(tx)
		b := bucket(tx, bucketTokens)
		if b == nil {
			return nil
		}
		// One cursor for every token (Bucket.Get makes one per call and
		// grows its stack each time), sought in key order so the walk
		// down the B+tree revisits pages the CPU cache still holds.
		order := make([]int, len(tokens))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(x, y int) int { return strings.Compare(tokens[x], tokens[y]) })
		c := b.Cursor()
		for _, i := range order {
			key := []byte(tokens[i])
			if k, v := c.Seek(key); bytes.Equal(k, key) {
				out[i], _ = decodeToken(v)
			}
		}
		return nil
	})
	return out, tot, err
}

func (f *File) Learn(_ context.Context, spam bool, tokens []string, delta int) error {
	day := dayOf(f.now())
	return f.update("learn", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		for _, t := range tokens {
			if t == "" || len(t) > bolt.MaxKeySize {
				// bbolt refuses such keys, and one odd token must not
				// fail the whole message; no tokenizer makes one.
				continue
			}
			c, _ := decodeToken(b.Get([]byte(t)))
			if spam {
				c.Spam = addClamped(c.Spam, delta)
			} else {
				c.Ham = addClamped(c.Ham, delta)
			}
			var err error
			if c == (TokenCounts{}) {
				err = b.Delete([]byte(t))
			} else {
				err = b.Put([]byte(t), encodeToken(c, day))
			}
			if err != nil {
				return err
			}
		}
		key := keyHam
		if spam {
			key = keySpam
		}
		tb := tx.Bucket(bucketTotals)
		n := max(0, getInt64(tb.Get(key))+int64(delta))
		return tb.Put(key, putInt64(n))
	})
}

func getInt64(v []byte) int64 {
	if len(v) < 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func putInt64(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

func (f *File) Totals(context.Context) (spam, ham int64, err error) {
	var t Totals
	err = f.view("totals", func(tx *bolt.Tx) error {
		t = readTotals(tx)
		return nil
	})
	return t.Spam, t.Ham, err
}

func readTotals(tx *bolt.Tx) Totals {
	b := bucket(tx, bucketTotals)
	if b == nil {
		return Totals{}
	}
	return Totals{Spam: getInt64(b.Get(keySpam)), Ham: getInt64(b.Get(keyHam))}
}

// live reports whether an expiry (Unix nanoseconds, 0: never) is still
// ahead of now: expired entries read as missing before the sweep removes
// them.
func live(exp int64, now time.Time) bool { return exp == 0 || now.UnixNano() < exp }

func expiryAt(now time.Time, ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return now.Add(ttl).UnixNano()
}

func (f *File) Add(_ context.Context, key string, n int64, ttl time.Duration) (int64, error) {
	now := f.now()
	var v int64
	err := f.update("add", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		old := b.Get([]byte(key))
		exp := expiryAt(now, ttl)
		if len(old) == 16 && live(getInt64(old[8:]), now) {
			v, exp = getInt64(old), getInt64(old[8:])
		}
		v += n
		return b.Put([]byte(key), append(putInt64(v), putInt64(exp)...))
	})
	return v, err
}

func (f *File) Counts(_ context.Context, keys []string) ([]int64, error) {
	now := f.now()
	out := make([]int64, len(keys))
	err := f.view("counts", func(tx *bolt.Tx) error {
		b := bucket(tx, bucketCounters)
		if b == nil {
			return nil
		}
		for i, k := range keys {
			if v := b.Get([]byte(k)); len(v) == 16 && live(getInt64(v[8:]), now) {
				out[i] = getInt64(v)
			}
		}
		return nil
	})
	return out, err
}

func (f *File) SetMark(_ context.Context, key, value string, ttl time.Duration) (prev string, had bool, err error) {
	now := f.now()
	err = f.update("set mark", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMarks)
		if old := b.Get([]byte(key)); len(old) >= 8 && live(getInt64(old), now) {
			prev, had = string(old[8:]), true
		}
		return b.Put([]byte(key), append(putInt64(expiryAt(now, ttl)), value...))
	})
	return prev, had, err
}

func (f *File) Mark(_ context.Context, key string) (value string, ok bool, err error) {
	now := f.now()
	err = f.view("mark", func(tx *bolt.Tx) error {
		b := bucket(tx, bucketMarks)
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(key)); len(v) >= 8 && live(getInt64(v), now) {
			value, ok = string(v[8:]), true
		}
		return nil
	})
	return value, ok, err
}

func (f *File) DeleteMark(_ context.Context, key string) error {
	return f.update("delete mark", func(tx *bolt.Tx) error { return tx.Bucket(bucketMarks).Delete([]byte(key)) })
}

func (f *File) Stats(context.Context) (Stats, error) {
	now := f.now()
	s := Stats{Kind: "file", Where: f.path}
	err := f.view("stats", func(tx *bolt.Tx) error {
		s.Bytes = tx.Size()
		if b := bucket(tx, bucketTokens); b != nil {
			s.Tokens = int64(b.Stats().KeyN)
		}
		if b := bucket(tx, bucketTotals); b != nil {
			s.LearnedSpam, s.LearnedHam = getInt64(b.Get(keySpam)), getInt64(b.Get(keyHam))
		}
		if b := bucket(tx, bucketCounters); b != nil {
			b.ForEach(func(_, v []byte) error {
				if len(v) == 16 && live(getInt64(v[8:]), now) {
					s.Counters++
				}
				return nil
			})
		}
		if b := bucket(tx, bucketMarks); b != nil {
			b.ForEach(func(_, v []byte) error {
				if len(v) >= 8 && live(getInt64(v), now) {
					s.Marks++
				}
				return nil
			})
		}
		return nil
	})
	return s, err
}

// Sweep removes expired counters and marks and the tokens the expiry
// policy (expiry.go) lets go, and reports how many tokens went. It runs
// in batches of short transactions so learning is never held up long.
func (f *File) Sweep() (pruned int, err error) {
	now := f.now()
	today := dayOf(now)
	expired := func(name []byte, dead func(v []byte) bool) error {
		return f.sweepBucket(name, dead)
	}
	if err := expired(bucketCounters, func(v []byte) bool { return len(v) != 16 || !live(getInt64(v[8:]), now) }); err != nil {
		return 0, err
	}
	if err := expired(bucketMarks, func(v []byte) bool { return len(v) < 8 || !live(getInt64(v), now) }); err != nil {
		return 0, err
	}
	err = expired(bucketTokens, func(v []byte) bool {
		c, day := decodeToken(v)
		ttl := tokenTTL(c)
		if ttl == 0 {
			return false
		}
		if time.Duration(today-min(day, today))*24*time.Hour >= ttl {
			pruned++
			return true
		}
		return false
	})
	return pruned, err
}

// sweepBucket deletes the entries of a bucket dead says are dead, up to
// sweepBatch per transaction.
func (f *File) sweepBucket(name []byte, dead func(v []byte) bool) error {
	const sweepBatch = 10_000
	var from []byte
	for {
		var next []byte
		// Update, not Batch: the sweep counts what it prunes, and runs alone.
		err := f.db.Update(func(tx *bolt.Tx) error {
			c := tx.Bucket(name).Cursor()
			k, v := c.First()
			if from != nil {
				k, v = c.Seek(from)
			}
			for n := 0; k != nil; n++ {
				if n == sweepBatch {
					next = append([]byte(nil), k...)
					return nil
				}
				if dead(v) {
					at := append([]byte(nil), k...)
					if err := c.Delete(); err != nil {
						return err
					}
					// Delete leaves the cursor where Next would skip an
					// entry; Seek finds the one after the deleted key.
					k, v = c.Seek(at)
					continue
				}
				k, v = c.Next()
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store %s sweep: %w: %w", f.path, ErrUnavailable, err)
		}
		if next == nil {
			return nil
		}
		from = next
	}
}

func (f *File) sweepLoop(every time.Duration) {
	defer f.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			f.Sweep() // a failed sweep is retried next tick; reads stay correct (lazy expiry)
		}
	}
}

// Close stops the sweep and closes the file.
func (f *File) Close() error {
	f.once.Do(func() { close(f.stop) })
	f.done.Wait()
	return f.db.Close()
}
