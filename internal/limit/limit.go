// Package limit holds the volume limits of the front door: messages and
// recipients per authenticated user, envelope sender, client IP and
// original IP behind a trusted relay; the hold on an account whose mail
// suddenly scores as spam; and the block on an IP that keeps failing AUTH.
// Its state lives in the store (counters and marks), so several instances
// on one Redis share it and `relayguard ratelimit` reads and changes it.
//
// Windows are the sliding-window approximation over two fixed buckets
// (Cloudflare's and rspamd's): the estimate is the current bucket plus the
// previous one weighted by how much of it still lies inside the window.
// A fixed window alone lets a client send twice the limit across a bucket
// boundary; an exact sliding log costs one store entry per message. Two
// counters per key and window cost one round trip for every key at once.
package limit

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"relayguard/internal/store"
)

// State is what the limiter needs of the store.
type State interface {
	store.Counters
	store.Marks
}

// Key names what a rule counts by.
type Key string

const (
	KeyUser       Key = "user"        // the SMTP AUTH identity
	KeySender     Key = "sender"      // the envelope sender (MAIL FROM)
	KeyIP         Key = "ip"          // the client IP (IPv4 /32, IPv6 /64)
	KeyOriginalIP Key = "original_ip" // the hop behind a trusted relay
)

// Keys are the keys a rule may name, in the order they are checked.
var Keys = []Key{KeyUser, KeySender, KeyIP, KeyOriginalIP}

// Limits are a rule's bounds; 0 is no bound.
type Limits struct{ Messages, Recipients int64 }

// Rule is one [[ratelimit]] block.
type Rule struct {
	Key    Key
	Window time.Duration
	Limits
	// Overrides replace Limits for one value of the key: a user name; a
	// sender address or its domain; an IP or a prefix ("192.0.2.0/24").
	Overrides map[string]Limits
}

// HoldPolicy is the [hold] section: SpamMessages (0: off) messages of one
// authenticated user at or above add_header within Window hold the account
// for Duration.
type HoldPolicy struct {
	SpamMessages     int64
	Window, Duration time.Duration
}

// AuthPolicy is the [auth_failures] section: Failures (0: off) failed AUTH
// attempts from one IP within Window block AUTH from it for Block.
type AuthPolicy struct {
	Failures      int64
	Window, Block time.Duration
}

// Options configure a Limiter.
type Options struct {
	Rules []Rule
	Hold  HoldPolicy
	Auth  AuthPolicy
	// FailClosed is store.on_error = "tempfail": while the store cannot
	// be reached, mail waits (451 4.3.0) rather than passing unlimited.
	FailClosed bool
	Now        func() time.Time // nil: time.Now
	Log        *slog.Logger
}

// Limiter applies the limits. It is safe for concurrent use and outlives
// a reload (its counters are in the store, not in it).
type Limiter struct {
	st   State
	opts Options
	down atomic.Bool // the store failed and has not answered since
}

// New makes a limiter on st.
func New(st State, opts Options) *Limiter {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Limiter{st: st, opts: opts}
}

// Active tells whether any limit is configured: with none the front door
// asks the store nothing.
func (l *Limiter) Active() bool {
	return l != nil && (len(l.opts.Rules) > 0 || l.opts.Hold.SpamMessages > 0 || l.opts.Auth.Failures > 0)
}

// Subject is what one message is counted by; empty fields are not counted
// (no AUTH, the null sender of a bounce, no hop behind a relay yet).
type Subject struct {
	User, Sender   string
	IP, OriginalIP netip.Addr
}

// value is the subject's value for key, normalised, "" when unknown.
func (s Subject) value(k Key) string {
	switch k {
	case KeyUser:
		return s.User
	case KeySender:
		return strings.ToLower(s.Sender)
	case KeyIP:
		return IPKey(s.IP)
	case KeyOriginalIP:
		return IPKey(s.OriginalIP)
	}
	return ""
}

// IPKey is how an address is counted: an IPv4 address alone, an IPv6
// address by its /64, the smallest network a site hands one customer
// (RFC 6177), so a host cannot step around a limit by changing its
// interface identifier.
func IPKey(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}

// Kind tells why mail must wait.
type Kind int

const (
	Over        Kind = iota // a volume limit is reached
	Held                    // the account is held
	Unavailable             // the store cannot be reached and on_error is tempfail
)

// Refusal is why a message must wait. Text is the plain sentence for the
// client; Key ("user:alice") and Detail are for the log.
type Refusal struct {
	Kind   Kind
	Key    string
	Text   string
	Detail string
}

func (r *Refusal) Error() string { return r.Text }

// counter is one rule's count of one thing for one subject.
type counter struct {
	rule  *Rule
	what  string // "messages" or "recipients"
	value string // the subject's value for the rule's key
	limit int64
}

func (c counter) name() string { return string(c.rule.Key) + ":" + c.value }

// bucketKeys are the store keys of c's current and previous bucket.
func bucketKeys(prefix string, window time.Duration, now time.Time) (cur, prev string) {
	w := int64(window / time.Second)
	if w < 1 {
		w = 1
	}
	b := now.Unix() / w
	p := prefix + ":" + strconv.FormatInt(w, 10) + ":"
	return p + strconv.FormatInt(b, 10), p + strconv.FormatInt(b-1, 10)
}

// estimate is the sliding-window count: the current bucket, plus the
// previous one weighted by the part of it still inside the window.
func estimate(cur, prev int64, window time.Duration, now time.Time) float64 {
	w := int64(window / time.Second)
	if w < 1 {
		w = 1
	}
	into := float64(now.Unix()%w) / float64(w)
	return float64(cur) + float64(prev)*(1-into)
}

func (c counter) prefix() string {
	return "rl:" + string(c.rule.Key) + ":" + c.value + ":" + c.what
}

// counters lists the counters of what ("messages", "recipients") for the
// subject under the rules of keys.
func (l *Limiter) counters(s Subject, what string, keys ...Key) []counter {
	var out []counter
	for i := range l.opts.Rules {
		r := &l.opts.Rules[i]
		v := s.value(r.Key)
		if v == "" || !hasKey(keys, r.Key) {
			continue
		}
		lim := r.limitsFor(v)
		n := lim.Messages
		if what == "recipients" {
			n = lim.Recipients
		}
		if n > 0 {
			out = append(out, counter{rule: r, what: what, value: v, limit: n})
		}
	}
	return out
}

func hasKey(keys []Key, k Key) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// limitsFor applies the overrides: an exact value first, then a sender's
// domain, then the longest prefix holding an IP.
func (r *Rule) limitsFor(v string) Limits {
	if o, ok := r.Overrides[v]; ok {
		return o
	}
	switch r.Key {
	case KeySender:
		if at := strings.LastIndexByte(v, '@'); at >= 0 {
			if o, ok := r.Overrides[v[at+1:]]; ok {
				return o
			}
		}
	case KeyIP, KeyOriginalIP:
		ip, err := netip.ParsePrefix(v)
		addr := ip.Addr()
		if err != nil {
			if addr, err = netip.ParseAddr(v); err != nil {
				return r.Limits
			}
		}
		best, found := -1, Limits{}
		for k, o := range r.Overrides {
			p, err := netip.ParsePrefix(k)
			if err == nil && p.Contains(addr) && p.Bits() > best {
				best, found = p.Bits(), o
			}
		}
		if best >= 0 {
			return found
		}
	}
	return r.Limits
}

// over reads the counters in one round trip and returns the first that
// adding more would take past its limit.
func (l *Limiter) over(ctx context.Context, cs []counter, more int64) (*Refusal, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	now := l.opts.Now()
	keys := make([]string, 0, 2*len(cs))
	for _, c := range cs {
		cur, prev := bucketKeys(c.prefix(), c.rule.Window, now)
		keys = append(keys, cur, prev)
	}
	vals, err := l.st.Counts(ctx, keys)
	if err != nil {
		return nil, err
	}
	l.answered()
	for i, c := range cs {
		est := estimate(vals[2*i], vals[2*i+1], c.rule.Window, now)
		if est+float64(more) > float64(c.limit) {
			sent := int64(math.Ceil(est))
			return &Refusal{Kind: Over, Key: c.name(),
				Text: fmt.Sprintf("%s %s sent %d %s in the last %s, the limit is %d; try again later",
					c.rule.Key.noun(), c.value, sent, c.what, Human(c.rule.Window), c.limit),
				Detail: fmt.Sprintf("%s %s: %.1f in %s, limit %d", c.name(), c.what, est, c.rule.Window, c.limit)}, nil
		}
	}
	return nil, nil
}

func (k Key) noun() string {
	switch k {
	case KeyIP:
		return "address"
	case KeyOriginalIP:
		return "original address"
	}
	return string(k)
}

// Human says a window in words: "hour", "10 minutes", "1h30m0s".
func Human(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		if d%u.d == 0 {
			n := d / u.d
			if n == 1 {
				return u.name
			}
			return fmt.Sprintf("%d %ss", n, u.name)
		}
	}
	return d.String()
}

// CheckMail is asked at MAIL: is the account held, and may the keys known
// now (user, sender, client IP) send one more message?
func (l *Limiter) CheckMail(ctx context.Context, s Subject) *Refusal {
	if !l.Active() {
		return nil
	}
	if r, err := l.held(ctx, s.User); err != nil || r != nil {
		return l.outcome(r, err)
	}
	r, err := l.over(ctx, l.counters(s, "messages", KeyUser, KeySender, KeyIP), 1)
	return l.outcome(r, err)
}

// CheckRcpt is asked at each RCPT: may the keys known at MAIL take one
// more recipient, beyond the accepted ones of this transaction?
func (l *Limiter) CheckRcpt(ctx context.Context, s Subject, accepted int) *Refusal {
	if !l.Active() {
		return nil
	}
	r, err := l.over(ctx, l.counters(s, "recipients", KeyUser, KeySender, KeyIP), int64(accepted)+1)
	return l.outcome(r, err)
}

// CheckData is asked at end of DATA, once the original hop behind a
// trusted relay is known: may it send this message and its recipients?
func (l *Limiter) CheckData(ctx context.Context, s Subject, rcpts int) *Refusal {
	if !l.Active() || !s.OriginalIP.IsValid() {
		return nil
	}
	cs := l.counters(s, "messages", KeyOriginalIP)
	r, err := l.over(ctx, cs, 1)
	if r == nil && err == nil {
		r, err = l.over(ctx, l.counters(s, "recipients", KeyOriginalIP), int64(rcpts))
	}
	return l.outcome(r, err)
}

// Count adds one message with rcpts recipients to every key of s. It is
// called once, when the next hop accepted the message, so a refused or
// failed message counts nothing and nothing counts twice.
func (l *Limiter) Count(ctx context.Context, s Subject, rcpts int) {
	if !l.Active() {
		return
	}
	now := l.opts.Now()
	var err error
	cs := append(l.counters(s, "messages", Keys...), l.counters(s, "recipients", Keys...)...)
	for _, c := range cs {
		n := int64(1)
		if c.what == "recipients" {
			n = int64(rcpts)
		}
		cur, _ := bucketKeys(c.prefix(), c.rule.Window, now)
		// The bucket must outlive its own window and the next one, where
		// it is the previous bucket.
		if _, e := l.st.Add(ctx, cur, n, 2*c.rule.Window); e != nil {
			err = e
			break
		}
	}
	if err == nil && len(cs) > 0 {
		l.answered()
	}
	l.outcome(nil, err)
}

// answered notes that the store answered: the first answer after an
// outage says it is back.
func (l *Limiter) answered() {
	if l.down.CompareAndSwap(true, false) {
		l.opts.Log.Info("state store answering again, limits apply")
	}
}

// outcome applies the store-outage policy: an error is logged once per
// outage and passes (accept) or asks to wait (tempfail).
func (l *Limiter) outcome(r *Refusal, err error) *Refusal {
	if err == nil {
		return r
	}
	if l.down.CompareAndSwap(false, true) {
		policy := "mail passes unlimited"
		if l.opts.FailClosed {
			policy = "mail is tempfailed"
		}
		l.opts.Log.Error("state store unavailable: "+policy+" until it answers (store.on_error)", "err", err)
	}
	if !l.opts.FailClosed {
		return nil
	}
	return &Refusal{Kind: Unavailable, Key: "store", Text: "limits cannot be checked now; try again later", Detail: err.Error()}
}
