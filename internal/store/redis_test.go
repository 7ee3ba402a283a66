package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"relayguard/internal/store"
	"relayguard/internal/store/redistest"
	"relayguard/internal/store/storetest"
)

// openRedis opens a store on a fresh database of srv.
func openRedis(t *testing.T, srv *redistest.Server) *store.RedisStore {
	t.Helper()
	ctx := context.Background()
	r, err := store.OpenRedis(srv.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	if err := c.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRedisStore(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Conformance(t, func(t *testing.T) store.Store { return openRedis(t, srv) },
		func(d time.Duration) { time.Sleep(d) }) // Redis keeps its own clock
}

// TestRedisTokenTTLFollowsExpiryPolicy: a token seen once expires soon, a
// common one later, a significant one never; learning refreshes it.
func TestRedisTokenTTLFollowsExpiryPolicy(t *testing.T) {
	srv := redistest.Start(t)
	r := openRedis(t, srv)
	ctx := context.Background()
	for range 20 {
		r.Learn(ctx, true, []string{"significant"}, 1)
	}
	for range 3 {
		r.Learn(ctx, true, []string{"common"}, 1)
		r.Learn(ctx, false, []string{"common"}, 1)
	}
	r.Learn(ctx, true, []string{"oneoff"}, 1)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	keys := map[string]string{}
	it := c.Scan(ctx, 0, "rg:t:*", 100).Iterator()
	for it.Next(ctx) {
		k := it.Val()
		keys[k[strings.LastIndex(k, ":")+1:]] = k
	}
	for _, tc := range []struct {
		token string
		want  time.Duration // -1: no expiry
	}{
		{"oneoff", store.OneOffTTL},
		{"common", store.CommonTTL},
		{"significant", -1},
	} {
		ttl, err := c.TTL(ctx, keys[tc.token]).Result()
		if err != nil {
			t.Fatal(err)
		}
		if tc.want < 0 && ttl != -1 || tc.want > 0 && (ttl > tc.want || ttl < tc.want-time.Minute) {
			t.Errorf("%s: TTL %v, want %v", tc.token, ttl, tc.want)
		}
	}
	// Forgetting the one message of a one-off token removes its key.
	r.Learn(ctx, true, []string{"oneoff"}, -1)
	if n, _ := c.Exists(ctx, keys["oneoff"]).Result(); n != 0 {
		t.Error("a token forgotten to zero still has a key")
	}
}

// TestRedisDownFailsFastAndRecovers: with Redis stopped every operation
// fails with ErrUnavailable at once (a dead Redis must not stall the
// SMTP session), and the same store works again once Redis is back.
func TestRedisDownFailsFastAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	r := openRedis(t, srv)
	ctx := context.Background()
	if err := r.Learn(ctx, true, []string{"a"}, 1); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	ops := map[string]func() error{
		"token counts": func() error { _, _, err := r.TokenCounts(ctx, []string{"a"}); return err },
		"learn":        func() error { return r.Learn(ctx, true, []string{"a"}, 1) },
		"totals":       func() error { _, _, err := r.Totals(ctx); return err },
		"add":          func() error { _, err := r.Add(ctx, "k", 1, time.Hour); return err },
		"counts":       func() error { _, err := r.Counts(ctx, []string{"k"}); return err },
		"set mark":     func() error { _, _, err := r.SetMark(ctx, "m", "v", 0); return err },
		"mark":         func() error { _, _, err := r.Mark(ctx, "m"); return err },
		"delete mark":  func() error { return r.DeleteMark(ctx, "m") },
		"stats":        func() error { _, err := r.Stats(ctx); return err },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with Redis down: %v, want ErrUnavailable", name, err)
		}
	}
	srv.Restart() // empty: it saves nothing
	for name, op := range ops {
		if err := op(); err != nil {
			t.Errorf("%s after Redis came back: %v", name, err)
		}
	}
}

func TestParseRedisURL(t *testing.T) {
	for _, tc := range []struct {
		url, where, err string
		master          string
		db              int
		addrs           int
		cluster         bool
	}{
		{url: "redis://127.0.0.1:6379/0", where: "redis://127.0.0.1:6379/0", addrs: 1},
		{url: "redis://:s3cret@10.0.0.5:6379/3", where: "redis://10.0.0.5:6379/3", db: 3, addrs: 1},
		{url: "redis://127.0.0.1:6379", where: "redis://127.0.0.1:6379/0", addrs: 1},
		{url: "rediss://user:pw@redis.example:6380/1", where: "rediss://redis.example:6380/1", db: 1, addrs: 1},
		{url: "redis-sentinel://:pw@s1:26379,s2:26379/mymaster/2", where: "sentinel s1:26379,s2:26379 master mymaster db 2", master: "mymaster", db: 2, addrs: 2},
		{url: "redis-sentinel://s1:26379/mymaster", where: "sentinel s1:26379 master mymaster db 0", master: "mymaster", addrs: 1},
		{url: "redis-cluster://:pw@n1:7000,n2:7000", where: "cluster n1:7000,n2:7000", addrs: 2, cluster: true},
		{url: "127.0.0.1:6379", err: "no scheme"},
		{url: "redis://127.0.0.1/0", err: "want host:port"},
		{url: "redis://a:1,b:2/0", err: "one host:port"},
		{url: "redis://a:1/x", err: "not a number"},
		{url: "redis-sentinel://s1:26379", err: "master-name"},
		{url: "redis-cluster://n1:7000/1", err: "no database"},
		{url: "http://a:1/0", err: "unknown scheme"},
	} {
		o, where, err := store.ParseRedisURL(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if where != tc.where || o.MasterName != tc.master || o.DB != tc.db || len(o.Addrs) != tc.addrs || o.IsClusterMode != tc.cluster {
			t.Errorf("%s: where %q master %q db %d addrs %v cluster %v", tc.url, where, o.MasterName, o.DB, o.Addrs, o.IsClusterMode)
		}
		if strings.Contains(where, "pw") || strings.Contains(where, "s3cret") {
			t.Errorf("%s: where %q shows the password", tc.url, where)
		}
	}
}

// FuzzParseRedisURL: no URL makes the parser panic, and where never
// depends on the password: a URL and the same URL without its user
// information describe the same place.
func FuzzParseRedisURL(f *testing.F) {
	for _, s := range []string{"redis://:pw@h:1/0", "redis-sentinel://a:1,b:2/m/1", "redis-cluster://x:1", "rediss://u:p@h:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, where, err := store.ParseRedisURL(s)
		scheme, rest, ok := strings.Cut(s, "://")
		if err != nil || !ok {
			return
		}
		at := strings.LastIndex(rest, "@")
		if at < 0 {
			return
		}
		_, bare, err := store.ParseRedisURL(scheme + "://" + rest[at+1:])
		if err != nil || bare != where {
			t.Errorf("%q: where %q, but without user information %q (%v)", s, where, bare, err)
		}
	})
}

// openRedisCluster opens the cluster with nothing in it.
func openRedisCluster(t *testing.T, srv *redistest.Server) *store.RedisStore {
	t.Helper()
	r, err := store.OpenRedis(srv.ClusterURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRedisClusterStore: the same behaviour on a Redis Cluster, where
// Learn runs one script per hash-tag shard and Stats scans every master.
func TestRedisClusterStore(t *testing.T) {
	srv := redistest.StartCluster(t)
	ctx := context.Background()
	storetest.Conformance(t, func(t *testing.T) store.Store { return openRedisCluster(t, srv) }, nil) // expiry is Redis's own, tested on one server
	// A message whose tokens span every shard is counted in each, and
	// the totals with them.
	r := openRedisCluster(t, srv)
	toks := make([]string, 200)
	for i := range toks {
		toks[i] = "tok" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
	}
	if err := r.Learn(ctx, true, toks, 1); err != nil {
		t.Fatal(err)
	}
	got, _, err := r.TokenCounts(ctx, toks)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		if g.Spam != 1 {
			t.Errorf("token %q: %+v after one learn", toks[i], g)
		}
	}
	if st, err := r.Stats(ctx); err != nil || st.LearnedSpam != 1 || st.Tokens != int64(len(toks)) {
		t.Errorf("stats %+v %v", st, err)
	}
}

func TestRedisHistory(t *testing.T) {
	srv := redistest.Start(t)
	storetest.HistoryConformance(t, func(t *testing.T) store.History { return openRedis(t, srv) })
}

func TestRedisClusterHistory(t *testing.T) {
	srv := redistest.StartCluster(t)
	storetest.HistoryConformance(t, func(t *testing.T) store.History { return openRedisCluster(t, srv) })
}
