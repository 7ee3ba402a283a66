package limit

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// Usage is one counter of a key in one window, for `relayguard ratelimit
// show`.
type Usage struct {
	Key      string // "user:alice"
	What     string // "messages" or "recipients"
	Window   string // "hour"
	Current  int64  // the current bucket
	Previous int64  // the previous bucket
	Estimate float64
	Limit    int64
}

// ParseKey reads "user:alice", "sender:bob@example.com", "ip:192.0.2.7"
// or "original_ip:2001:db8::1" into a subject.
func ParseKey(s string) (Key, Subject, error) {
	k, v, ok := strings.Cut(s, ":")
	if !ok || v == "" {
		return "", Subject{}, fmt.Errorf("key %q: want user:NAME, sender:ADDRESS, ip:ADDRESS or original_ip:ADDRESS", s)
	}
	var sub Subject
	switch Key(k) {
	case KeyUser:
		sub.User = v
	case KeySender:
		sub.Sender = v
	case KeyIP, KeyOriginalIP:
		ip, err := netip.ParseAddr(v)
		if err != nil {
			return "", Subject{}, fmt.Errorf("key %q: %w", s, err)
		}
		if Key(k) == KeyIP {
			sub.IP = ip
		} else {
			sub.OriginalIP = ip
		}
	default:
		return "", Subject{}, fmt.Errorf("key %q: unknown kind %q (user, sender, ip, original_ip)", s, k)
	}
	return Key(k), sub, nil
}

// Show returns the counters of key (see ParseKey) across the windows its
// rules configure, and the hold on a user.
func (l *Limiter) Show(ctx context.Context, key string) (usage []Usage, hold string, err error) {
	k, sub, err := ParseKey(key)
	if err != nil {
		return nil, "", err
	}
	now := l.opts.Now()
	cs := append(l.counters(sub, "messages", k), l.counters(sub, "recipients", k)...)
	keys := make([]string, 0, 2*len(cs))
	for _, c := range cs {
		cur, prev := bucketKeys(c.prefix(), c.rule.Window, now)
		keys = append(keys, cur, prev)
	}
	if len(keys) > 0 {
		vals, err := l.st.Counts(ctx, keys)
		if err != nil {
			return nil, "", fmt.Errorf("ratelimit show %s: %w", key, err)
		}
		for i, c := range cs {
			usage = append(usage, Usage{Key: c.name(), What: c.what, Window: Human(c.rule.Window),
				Current: vals[2*i], Previous: vals[2*i+1],
				Estimate: estimate(vals[2*i], vals[2*i+1], c.rule.Window, now), Limit: c.limit})
		}
	}
	if k == KeyUser {
		if v, ok, err := l.st.Mark(ctx, holdKey(sub.User)); err != nil {
			return usage, "", fmt.Errorf("ratelimit show %s: %w", key, err)
		} else if ok {
			hold = v
		}
	}
	return usage, hold, nil
}
