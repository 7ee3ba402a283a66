package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keys. Every key starts "rg:" so a shared Redis can hold other
// data. Token keys are one hash per token, "rg:t:{NN}:<token>" with
// fields s and h: one key each so each token expires on its own (Redis
// before 7.4 has no per-field TTL). {NN} is a hash tag, one of
// tokenShards by the token's FNV hash: in a Cluster a message's tokens
// then fall in at most tokenShards slots, so Learn is one script per
// shard (a script's keys must share a slot) rather than one per token.
// The totals live in shard 00's slot, "rg:n:{00}", so the shard-00
// script updates them with its tokens.
const (
	tokenShards  = 16
	keyTotals    = "rg:n:{00}"
	prefixToken  = "rg:t:"
	prefixCount  = "rg:c:"
	prefixMark   = "rg:m:"
	redisTimeout = 250 * time.Millisecond
)

// learnScript adds ARGV[2] to field ARGV[1] of each key, never below
// zero, and gives each token key the TTL the expiry policy (expiry.go)
// gives its counts; a token back at zero is deleted. With ARGV[7] = 1 the
// first key is the totals hash, which does not expire.
var learnScript = redis.NewScript(`
local f, d = ARGV[1], tonumber(ARGV[2])
local oneoff, common = tonumber(ARGV[3]), tonumber(ARGV[4])
local sigmin, share = tonumber(ARGV[5]), tonumber(ARGV[6])
local first = 1
if ARGV[7] == '1' then
  if redis.call('HINCRBY', KEYS[1], f, d) < 0 then redis.call('HSET', KEYS[1], f, 0) end
  first = 2
end
for i = first, #KEYS do
  local k = KEYS[i]
  if redis.call('HINCRBY', k, f, d) < 0 then redis.call('HSET', k, f, 0) end
  local c = redis.call('HMGET', k, 's', 'h')
  local s, h = tonumber(c[1] or '0'), tonumber(c[2] or '0')
  local t = s + h
  if t <= 0 then redis.call('DEL', k)
  elseif t <= 1 then redis.call('EXPIRE', k, oneoff)
  elseif t >= sigmin and math.max(s, h) >= share * t then redis.call('PERSIST', k)
  else redis.call('EXPIRE', k, common) end
end
return 1
`)

// addScript is INCRBY that sets the TTL only when it creates the counter
// (EXPIRE NX needs Redis 7; this works on any Redis with scripting).
var addScript = redis.NewScript(`
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v
`)

// RedisStore is the store every instance shares.
type RedisStore struct {
	c       redis.UniversalClient
	where   string
	cluster bool
}

// quiet drops go-redis's own log lines: it prints one per failed dial,
// to stderr, outside relayguard's log format; every failure reaches the
// caller as an error instead, and callers log an outage once.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var silenceOnce sync.Once

// OpenRedis makes a client for the Redis a store.redis URL names (see
// ParseRedisURL). It does not wait for Redis: a relay must start, and
// pass mail by its outage policy, while Redis is down, and connects when
// Redis comes back. Ping says whether it answers now.
func OpenRedis(rawURL string) (*RedisStore, error) {
	opts, where, err := ParseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	silenceOnce.Do(func() { redis.SetLogger(quiet{}) })
	c := redis.NewUniversalClient(opts)
	_, cluster := c.(*redis.ClusterClient)
	return &RedisStore{c: c, where: where, cluster: cluster}, nil
}

// Ping reports whether Redis answers.
func (r *RedisStore) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return r.fail("ping", err)
	}
	return nil
}

// Where is the Redis address, without the password.
func (r *RedisStore) Where() string { return r.where }

// ParseRedisURL reads a store.redis URL. Supported:
//
//	redis://[[user]:password@]host:port[/db]     one Redis (rediss:// for TLS)
//	redis-sentinel://[[user]:password@]host:port[,host:port...]/master[/db]
//	                                              Sentinel; the password is the master's
//	redis-cluster://[[user]:password@]host:port[,host:port...]
//	                                              Cluster (seed nodes; db is always 0)
//
// where is the address without the password, for logs and Stats.
// Timeouts are short (250ms to dial, read and write, one dial attempt,
// no retries) so a
// dead Redis costs a message milliseconds, not seconds.
func ParseRedisURL(raw string) (opts *redis.UniversalOptions, where string, err error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, "", fmt.Errorf("store.redis: want redis://host:port/db, redis-sentinel://... or redis-cluster://..., got no scheme")
	}
	var user, pass string
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, pass, _ = strings.Cut(rest[:at], ":")
		rest = rest[at+1:]
	}
	hosts, path, _ := strings.Cut(rest, "/")
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	var addrs []string
	for _, h := range strings.Split(hosts, ",") {
		if _, _, err := net.SplitHostPort(h); err != nil {
			return nil, "", fmt.Errorf("store.redis: want host:port, got %q", h)
		}
		addrs = append(addrs, h)
	}
	opts = &redis.UniversalOptions{
		Addrs: addrs, Username: user, Password: pass,
		DialTimeout: redisTimeout, ReadTimeout: redisTimeout, WriteTimeout: redisTimeout,
		PoolTimeout: redisTimeout, MaxRetries: -1,
		// go-redis dials up to 5 times 100ms apart by default: a down
		// Redis would cost every message half a second.
		DialerRetries: 1, DialerRetryTimeout: time.Millisecond,
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	db := func(s string) error {
		if s == "" {
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("store.redis: database %q is not a number", s)
		}
		opts.DB = n
		return nil
	}
	switch scheme {
	case "redis", "rediss":
		if len(addrs) != 1 || len(parts) > 1 {
			return nil, "", fmt.Errorf("store.redis: %s:// takes one host:port and a database number; use redis-sentinel:// or redis-cluster:// for several hosts", scheme)
		}
		if err := db(parts[0]); err != nil {
			return nil, "", err
		}
		if scheme == "rediss" {
			host, _, _ := net.SplitHostPort(addrs[0])
			opts.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		where = fmt.Sprintf("%s://%s/%d", scheme, addrs[0], opts.DB)
	case "redis-sentinel":
		if parts[0] == "" || len(parts) > 2 {
			return nil, "", errors.New("store.redis: redis-sentinel:// wants /master-name[/db] after the sentinels")
		}
		opts.MasterName = parts[0]
		if len(parts) == 2 {
			if err := db(parts[1]); err != nil {
				return nil, "", err
			}
		}
		where = fmt.Sprintf("sentinel %s master %s db %d", hosts, opts.MasterName, opts.DB)
	case "redis-cluster":
		if parts[0] != "" {
			return nil, "", errors.New("store.redis: redis-cluster:// has no database (a Cluster has only db 0)")
		}
		opts.IsClusterMode = true
		where = "cluster " + hosts
	default:
		return nil, "", fmt.Errorf("store.redis: unknown scheme %q (want redis, rediss, redis-sentinel or redis-cluster)", scheme)
	}
	return opts, where, nil
}

// fail wraps a Redis error: every failure to talk to Redis means the
// store is unavailable to this message (down, failing over, loading,
// out of memory), and callers apply their outage policy.
func (r *RedisStore) fail(op string, err error) error {
	return fmt.Errorf("redis %s %s: %w: %w", r.where, op, ErrUnavailable, err)
}

// tokenShard is the hash-tag shard of a token.
func tokenShard(t string) int {
	h := fnv.New32a()
	h.Write([]byte(t))
	return int(h.Sum32() % tokenShards)
}

func tokenKey(t string) string {
	return fmt.Sprintf("%s{%02x}:%s", prefixToken, tokenShard(t), t)
}

// TokenCounts reads the totals and every token in one pipelined round
// trip (in a Cluster, one per node, in parallel).
func (r *RedisStore) TokenCounts(ctx context.Context, tokens []string) ([]TokenCounts, Totals, error) {
	out := make([]TokenCounts, len(tokens))
	cmds := make([]*redis.SliceCmd, len(tokens))
	var totals *redis.SliceCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		totals = p.HMGet(ctx, keyTotals, "s", "h")
		for i, t := range tokens {
			cmds[i] = p.HMGet(ctx, tokenKey(t), "s", "h")
		}
		return nil
	})
	if err != nil {
		return nil, Totals{}, r.fail("token counts", err)
	}
	for i, c := range cmds {
		v := c.Val()
		out[i] = TokenCounts{Spam: countOf(v, 0), Ham: countOf(v, 1)}
	}
	t := totals.Val()
	return out, Totals{Spam: int64(countOf(t, 0)), Ham: int64(countOf(t, 1))}, nil
}

func countOf(v []any, i int) uint32 {
	if i >= len(v) {
		return 0
	}
	s, _ := v[i].(string)
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// Learn is one script over every token and the totals: atomic on one
// Redis or Sentinel. In a Cluster it is one script per hash-tag shard,
// sent in one pipeline: each shard changes atomically, but a crash of a
// node mid-pipeline can leave some shards of one message counted and
// others not (the totals, in shard 00, may then differ from the tokens
// by that message).
func (r *RedisStore) Learn(ctx context.Context, spam bool, tokens []string, delta int) error {
	field := "h"
	if spam {
		field = "s"
	}
	args := []any{field, delta, int(OneOffTTL / time.Second), int(CommonTTL / time.Second), SignificantMin, SignificantShare, "1"}
	var err error
	if !r.cluster {
		keys := make([]string, 0, len(tokens)+1)
		keys = append(keys, keyTotals)
		for _, t := range tokens {
			keys = append(keys, tokenKey(t))
		}
		err = learnScript.Run(ctx, r.c, keys, args...).Err()
	} else {
		shards := make([][]string, tokenShards)
		shards[0] = []string{keyTotals}
		for _, t := range tokens {
			s := tokenShard(t)
			shards[s] = append(shards[s], tokenKey(t))
		}
		// Make sure every node knows the script, then send the shards'
		// EVALSHA in one pipeline.
		if err = learnScript.Load(ctx, r.c).Err(); err == nil {
			_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, keys := range shards {
					if len(keys) == 0 {
						continue
					}
					a := append([]any(nil), args...)
					if i != 0 {
						a[6] = "0"
					}
					learnScript.EvalSha(ctx, p, keys, a...)
				}
				return nil
			})
		}
	}
	if err != nil {
		return r.fail("learn", err)
	}
	return nil
}

func (r *RedisStore) Totals(ctx context.Context) (spam, ham int64, err error) {
	v, err := r.c.HMGet(ctx, keyTotals, "s", "h").Result()
	if err != nil {
		return 0, 0, r.fail("totals", err)
	}
	return int64(countOf(v, 0)), int64(countOf(v, 1)), nil
}

func (r *RedisStore) Add(ctx context.Context, key string, n int64, ttl time.Duration) (int64, error) {
	v, err := addScript.Run(ctx, r.c, []string{prefixCount + key}, n, ttl.Milliseconds()).Int64()
	if err != nil {
		return 0, r.fail("add", err)
	}
	return v, nil
}

// Counts reads every counter in one pipeline (not MGET: in a Cluster the
// keys are in different slots).
func (r *RedisStore) Counts(ctx context.Context, keys []string) ([]int64, error) {
	out := make([]int64, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, prefixCount+k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, r.fail("counts", err)
	}
	for i, c := range cmds {
		out[i], _ = c.Int64() // redis.Nil: missing or expired, 0
	}
	return out, nil
}

func (r *RedisStore) SetMark(ctx context.Context, key, value string, ttl time.Duration) (string, bool, error) {
	prev, err := r.c.SetArgs(ctx, prefixMark+key, value, redis.SetArgs{Get: true, TTL: ttl}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "", false, nil
	case err != nil:
		return "", false, r.fail("set mark", err)
	}
	return prev, true, nil
}

func (r *RedisStore) Mark(ctx context.Context, key string) (string, bool, error) {
	v, err := r.c.Get(ctx, prefixMark+key).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "", false, nil
	case err != nil:
		return "", false, r.fail("mark", err)
	}
	return v, true, nil
}

func (r *RedisStore) DeleteMark(ctx context.Context, key string) error {
	if err := r.c.Del(ctx, prefixMark+key).Err(); err != nil {
		return r.fail("delete mark", err)
	}
	return nil
}

// Stats counts keys by SCAN (on every master of a Cluster): a command
// for an operator, not for the message path. Bytes is Redis's
// used_memory, the whole server's.
func (r *RedisStore) Stats(ctx context.Context) (Stats, error) {
	s := Stats{Kind: "redis", Where: r.where}
	var err error
	if s.LearnedSpam, s.LearnedHam, err = r.Totals(ctx); err != nil {
		return s, err
	}
	count := func(c redis.UniversalClient, prefix string) (int64, error) {
		var n int64
		it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for it.Next(ctx) {
			n++
		}
		return n, it.Err()
	}
	tally := func(ctx context.Context, c redis.UniversalClient) error {
		for _, x := range []struct {
			prefix string
			n      *int64
		}{{prefixToken, &s.Tokens}, {prefixCount, &s.Counters}, {prefixMark, &s.Marks}} {
			n, err := count(c, x.prefix)
			if err != nil {
				return err
			}
			*x.n += n
		}
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return err
		}
		s.Bytes += usedMemory(info)
		return nil
	}
	if cc, ok := r.c.(*redis.ClusterClient); ok {
		// Masters are tallied one at a time: tally adds to s.
		var (
			mu      sync.Mutex
			masters []*redis.Client
		)
		err = cc.ForEachMaster(ctx, func(_ context.Context, m *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			masters = append(masters, m)
			return nil
		})
		for _, m := range masters {
			if err == nil {
				err = tally(ctx, m)
			}
		}
	} else {
		err = tally(ctx, r.c)
	}
	if err != nil {
		return s, r.fail("stats", err)
	}
	return s, nil
}

func usedMemory(info string) int64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

func (r *RedisStore) Close() error { return r.c.Close() }
