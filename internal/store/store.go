// Package store is the state relayguard keeps between messages:
// classifier token counts, rate-limit counters, and marks (learned-message
// ids, held accounts, blocked addresses). One interface, three
// implementations: an in-memory one (tests, and a store that outlives
// nothing), the embedded bbolt file under store.dir (the default: nothing
// to install), and Redis (store.redis: every instance shares it).
//
// Every operation takes a context and may fail; a failure that means the
// store cannot be reached wraps ErrUnavailable, so callers can apply their
// outage policy (the classifier abstains, limiters follow store.on_error)
// without knowing which store it is.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrUnavailable is wrapped by errors that mean the store cannot be
// reached now (Redis down, the file not writable): mail must still flow.
var ErrUnavailable = errors.New("state store unavailable")

// Store is the whole state.
type Store interface {
	Tokens
	Counters
	Marks
	// Stats reports size and key counts (relayguard store stats).
	Stats(ctx context.Context) (Stats, error)
	Close() error
}

// TokenCounts is how many learned spam and ham messages carried a token.
type TokenCounts struct{ Spam, Ham uint32 }

// Totals are how many spam and ham messages are learned.
type Totals struct{ Spam, Ham int64 }

// Tokens holds the classifier's counts.
type Tokens interface {
	// TokenCounts returns the counts of each token, in order, and the
	// learned totals, read together in one round trip (a trained
	// classifier needs both for every message); a token never learned
	// counts zero.
	TokenCounts(ctx context.Context, tokens []string) ([]TokenCounts, Totals, error)
	// Learn adds delta (+1 to learn a message, -1 to forget one) to the
	// spam or ham count of every token and to that class's message total,
	// as one atomic change: a crash or a concurrent learner never leaves
	// half a message counted. Counts never go below zero.
	Learn(ctx context.Context, spam bool, tokens []string, delta int) error
	// Totals returns how many spam and ham messages are learned.
	Totals(ctx context.Context) (spam, ham int64, err error)
}

// Counters are integer counters that expire: the rate limits' windows.
type Counters interface {
	// Add adds n to the counter key and returns its new value. A counter
	// that did not exist starts at 0 and expires ttl after it was
	// created (adding does not extend it), so a fixed window is a key
	// named for its start.
	Add(ctx context.Context, key string, n int64, ttl time.Duration) (int64, error)
	// Counts returns the values of keys (0 for a missing or expired
	// key), in order, in one round trip.
	Counts(ctx context.Context, keys []string) ([]int64, error)
}

// Marks are short string values that expire: a learned message's class,
// a hold on an account, a block on an address.
type Marks interface {
	// SetMark sets key to value for ttl (0: no expiry) and returns the
	// value it had ("" and false when none), atomically.
	SetMark(ctx context.Context, key, value string, ttl time.Duration) (prev string, had bool, err error)
	// Mark returns key's value.
	Mark(ctx context.Context, key string) (value string, ok bool, err error)
	// DeleteMark removes key; removing a missing key is not an error.
	DeleteMark(ctx context.Context, key string) error
}

// Stats describes what a store holds.
type Stats struct {
	Kind     string // "memory", "file", "redis"
	Where    string // the file or the Redis address (no password)
	Tokens   int64  // distinct classifier tokens
	Counters int64  // live counters
	Marks    int64  // live marks
	Bytes    int64  // size on disk or in memory, when known (0: unknown)
	// LearnedSpam and LearnedHam are the classifier's message totals.
	LearnedSpam, LearnedHam int64
}
