package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The history in Redis is a sorted set of refs scored by time
// (microseconds since the epoch: exact in a float64 until the year 2255)
// and one string per entry holding its record, with a TTL of the age
// limit. One script adds a batch and trims both bounds, so every instance
// sharing the Redis sees one history bounded by one count. A stream with
// MAXLEN was the other candidate; it bounds count and (MINID) age as
// simply, but cannot find one entry by ref without a second index, which
// is what the console's detail page asks most. Every key carries the hash
// tag {h}: in a Cluster they share a slot, as a script's keys must.
const (
	keyHistoryIndex   = "rg:h:{h}:z"
	prefixHistoryData = "rg:h:{h}:r:"
)

// addHistoryScript: KEYS[1] the index; ARGV[1] age in ms (0: none),
// ARGV[2] max (0: none), then per entry score, ref, data. Values expire
// with the age limit; the index is trimmed by age from the newest score,
// then by count from the oldest.
var addHistoryScript = redis.NewScript(`
local idx, age, maxn = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local prefix = ARGV[3]
for i = 4, #ARGV, 3 do
  local score, ref, data = ARGV[i], ARGV[i+1], ARGV[i+2]
  if age > 0 then redis.call('SET', prefix .. ref, data, 'PX', age)
  else redis.call('SET', prefix .. ref, data) end
  redis.call('ZADD', idx, score, ref)
end
local function drop(refs)
  for _, r in ipairs(refs) do redis.call('DEL', prefix .. r) end
end
if age > 0 then
  local newest = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if newest[2] then
    local cut = tonumber(newest[2]) - age * 1000
    drop(redis.call('ZRANGEBYSCORE', idx, '-inf', '(' .. cut))
    redis.call('ZREMRANGEBYSCORE', idx, '-inf', '(' .. cut)
  end
end
if maxn > 0 then
  local excess = redis.call('ZCARD', idx) - maxn
  if excess > 0 then
    drop(redis.call('ZRANGE', idx, 0, excess - 1))
    redis.call('ZREMRANGEBYRANK', idx, 0, excess - 1)
  end
end
return 1
`)

func (r *RedisStore) AddHistory(ctx context.Context, entries []HistoryEntry, lim HistoryLimits) error {
	if len(entries) == 0 {
		return nil
	}
	args := []any{lim.Age.Milliseconds(), lim.Max, prefixHistoryData}
	for _, e := range entries {
		args = append(args, e.Time.UnixMicro(), e.Ref, e.Data)
	}
	ctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	if err := addHistoryScript.Run(ctx, r.c, []string{keyHistoryIndex}, args...).Err(); err != nil {
		return r.fail("history add", err)
	}
	return nil
}

func (r *RedisStore) HistoryEntry(ctx context.Context, ref string) (HistoryEntry, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	pipe := r.c.Pipeline()
	data := pipe.Get(ctx, prefixHistoryData+ref)
	score := pipe.ZScore(ctx, keyHistoryIndex, ref)
	_, err := pipe.Exec(ctx)
	if errors.Is(err, redis.Nil) {
		return HistoryEntry{}, false, nil
	}
	if err != nil {
		return HistoryEntry{}, false, r.fail("history entry", err)
	}
	return HistoryEntry{Ref: ref, Time: time.UnixMicro(int64(score.Val())), Data: []byte(data.Val())}, true, nil
}

func (r *RedisStore) ScanHistory(ctx context.Context, after HistoryCursor, fn func(HistoryEntry) bool) error {
	const page = 256
	maxScore := "+inf"
	if !after.Time.IsZero() {
		maxScore = strconv.FormatInt(after.Time.UnixMicro(), 10)
	}
	for {
		ictx, cancel := context.WithTimeout(ctx, redisTimeout)
		zs, err := r.c.ZRevRangeByScoreWithScores(ictx, keyHistoryIndex, &redis.ZRangeBy{Max: maxScore, Min: "-inf", Count: page + 64}).Result()
		if err != nil {
			cancel()
			return r.fail("history scan", err)
		}
		// Entries in the cursor's own microsecond come again: skip those
		// at or after it (Redis orders equal scores by ref, as we do).
		var refs []string
		var times []time.Time
		for _, z := range zs {
			ref, _ := z.Member.(string)
			c := HistoryCursor{Time: time.UnixMicro(int64(z.Score)), Ref: ref}
			if !after.Time.IsZero() && !c.before(HistoryCursor{Time: time.UnixMicro(after.Time.UnixMicro()), Ref: after.Ref}) {
				continue
			}
			refs, times = append(refs, ref), append(times, c.Time)
		}
		if len(refs) == 0 {
			cancel()
			return nil
		}
		keys := make([]string, len(refs))
		for i, ref := range refs {
			keys[i] = prefixHistoryData + ref
		}
		vals, err := r.c.MGet(ictx, keys...).Result()
		cancel()
		if err != nil {
			return r.fail("history scan", err)
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue // expired with the age limit; the index is trimmed at the next add
			}
			if !fn(HistoryEntry{Ref: refs[i], Time: times[i], Data: []byte(s)}) {
				return nil
			}
		}
		after = HistoryCursor{Time: times[len(times)-1], Ref: refs[len(refs)-1]}
		maxScore = strconv.FormatInt(after.Time.UnixMicro(), 10)
	}
}
