package limit

import (
	"context"
	"net/netip"
	"strconv"
	"time"
)

// AUTH failures: password guessing is how accounts get stolen. One
// session is closed after 3 failures (the front door's own limit); a
// guesser that reconnects is caught here, across sessions and instances,
// by a counter per client IP (IPv6 by /64) and a block mark.

func authBlockKey(ipk string) string { return "authblock:" + ipk }

// AuthBlocked tells whether AUTH from ip is blocked. A store it cannot
// reach blocks nothing, whatever store.on_error says: the per-session
// limit still stands, and refusing every customer's login for an outage
// would stop all submission.
func (l *Limiter) AuthBlocked(ctx context.Context, ip netip.Addr) bool {
	k := IPKey(ip)
	if l == nil || l.opts.Auth.Failures <= 0 || k == "" {
		return false
	}
	_, ok, err := l.st.Mark(ctx, authBlockKey(k))
	if err != nil {
		l.outcome(nil, err)
		return false
	}
	return ok
}

// AuthFailed counts one failed AUTH from ip and blocks it once the
// failures within the window reach the policy's number; it tells whether
// it is now blocked.
func (l *Limiter) AuthFailed(ctx context.Context, ip netip.Addr) bool {
	a := l.opts.Auth
	k := IPKey(ip)
	if l == nil || a.Failures <= 0 || k == "" {
		return false
	}
	now := l.opts.Now()
	cur, prev := bucketKeys("authfail:"+k, a.Window, now)
	if _, err := l.st.Add(ctx, cur, 1, 2*a.Window); err != nil {
		l.outcome(nil, err)
		return false
	}
	vals, err := l.st.Counts(ctx, []string{cur, prev})
	if err != nil {
		l.outcome(nil, err)
		return false
	}
	n := estimate(vals[0], vals[1], a.Window, now)
	if n < float64(a.Failures) {
		return false
	}
	until := now.Add(a.Block).UTC().Format(time.RFC3339)
	_, had, err := l.st.SetMark(ctx, authBlockKey(k), strconv.FormatFloat(n, 'f', 0, 64)+" failures, until "+until, a.Block)
	if err != nil {
		l.outcome(nil, err)
		return false
	}
	if !had {
		l.opts.Log.Warn("AUTH blocked for the client address: repeated failures", "ip", k,
			"failures", int64(n), "window", a.Window, "until", until)
	}
	return true
}
