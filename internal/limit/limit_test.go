package limit

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"relayguard/internal/store"
)

// clock is an injected clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTest makes a limiter on a memory store sharing the test clock; the
// clock starts on a day boundary so bucket edges are where the test says.
func newTest(t *testing.T, opts Options) (*Limiter, *clock, *bytes.Buffer) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var log bytes.Buffer
	opts.Now = c.now
	opts.Log = slog.New(slog.NewTextHandler(&log, nil))
	return New(store.NewMemory(c.now), opts), c, &log
}

var ctx = context.Background()

// send is one accepted message as the front door does it: checked at MAIL
// and at every RCPT, counted once on acceptance.
func send(l *Limiter, s Subject, rcpts int) *Refusal {
	if r := l.CheckMail(ctx, s); r != nil {
		return r
	}
	for i := 0; i < rcpts; i++ {
		if r := l.CheckRcpt(ctx, s, i); r != nil {
			return r
		}
	}
	l.Count(ctx, s, rcpts)
	return nil
}

var alice = Subject{User: "alice", Sender: "alice@example.com", IP: netip.MustParseAddr("192.0.2.7")}

func TestMessageLimitEachWindow(t *testing.T) {
	for _, window := range []time.Duration{time.Minute, time.Hour, 24 * time.Hour} {
		t.Run(Human(window), func(t *testing.T) {
			l, c, _ := newTest(t, Options{Rules: []Rule{{Key: KeyUser, Window: window, Limits: Limits{Messages: 5}}}})
			for i := 0; i < 5; i++ {
				if r := send(l, alice, 1); r != nil {
					t.Fatalf("message %d refused: %s", i+1, r.Text)
				}
			}
			r := send(l, alice, 1)
			if r == nil || r.Kind != Over || r.Key != "user:alice" {
				t.Fatalf("6th message: %+v, want over on user:alice", r)
			}
			want := fmt.Sprintf("user alice sent 5 messages in the last %s, the limit is 5; try again later", Human(window))
			if r.Text != want {
				t.Errorf("text %q, want %q", r.Text, want)
			}
			// Half a window later the sliding estimate still holds half of
			// the old bucket: 5*0.5 = 2.5, so two more pass, the third not.
			c.add(window + window/2)
			for i := 0; i < 2; i++ {
				if r := send(l, alice, 1); r != nil {
					t.Fatalf("after half a window, message %d refused: %s", i+1, r.Text)
				}
			}
			if r := send(l, alice, 1); r == nil {
				t.Errorf("sliding window: a 3rd message passed with 2.5+2 counted")
			}
			// Two whole windows later nothing is left.
			c.add(2 * window)
			if r := send(l, alice, 1); r != nil {
				t.Errorf("after two windows: refused %s", r.Text)
			}
		})
	}
}

// TestFixedBoundaryDoesNotDoubleTheLimit: a burst at the end of one bucket
// and another at the start of the next is still one window's worth.
func TestFixedBoundaryDoesNotDoubleTheLimit(t *testing.T) {
	l, c, _ := newTest(t, Options{Rules: []Rule{{Key: KeyIP, Window: time.Hour, Limits: Limits{Messages: 10}}}})
	c.add(59 * time.Minute)
	for i := 0; i < 10; i++ {
		if r := send(l, alice, 1); r != nil {
			t.Fatal(r.Text)
		}
	}
	c.add(2 * time.Minute) // the next bucket
	if r := send(l, alice, 1); r == nil {
		t.Error("a new bucket let the limit start over")
	}
}

func TestMessageAndRecipientsCountedOnceEach(t *testing.T) {
	l, _, _ := newTest(t, Options{Rules: []Rule{
		{Key: KeyUser, Window: time.Hour, Limits: Limits{Messages: 100, Recipients: 100}},
		{Key: KeyUser, Window: 24 * time.Hour, Limits: Limits{Messages: 100, Recipients: 100}},
	}})
	if r := send(l, alice, 16); r != nil {
		t.Fatal(r.Text)
	}
	u, _, err := l.Show(ctx, "user:alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(u) != 4 {
		t.Fatalf("show: %d counters, want 4: %+v", len(u), u)
	}
	for _, x := range u {
		want := int64(1)
		if x.What == "recipients" {
			want = 16
		}
		if x.Current != want {
			t.Errorf("%s %s per %s = %d, want %d", x.Key, x.What, x.Window, x.Current, want)
		}
	}
}

func TestRecipientLimitAtRcpt(t *testing.T) {
	l, _, _ := newTest(t, Options{Rules: []Rule{{Key: KeySender, Window: time.Hour, Limits: Limits{Recipients: 20}}}})
	if r := send(l, alice, 16); r != nil {
		t.Fatal(r.Text)
	}
	// 16 counted: the 5th recipient of the next message is the 21st.
	if r := l.CheckMail(ctx, alice); r != nil {
		t.Fatalf("MAIL refused with only a recipient limit: %s", r.Text)
	}
	for i := 0; i < 4; i++ {
		if r := l.CheckRcpt(ctx, alice, i); r != nil {
			t.Fatalf("rcpt %d refused: %s", i+1, r.Text)
		}
	}
	r := l.CheckRcpt(ctx, alice, 4)
	if r == nil || !strings.Contains(r.Text, "sender alice@example.com sent 16 recipients") {
		t.Fatalf("21st recipient: %+v", r)
	}
}

func TestRefusedMessageCountsNothing(t *testing.T) {
	l, _, _ := newTest(t, Options{Rules: []Rule{{Key: KeyUser, Window: time.Hour, Limits: Limits{Messages: 1}}}})
	// Checked at MAIL and RCPT but never accepted upstream: no Count.
	for i := 0; i < 3; i++ {
		if r := l.CheckMail(ctx, alice); r != nil {
			t.Fatalf("attempt %d refused: %s", i, r.Text)
		}
	}
}

func TestOverrides(t *testing.T) {
	tests := []struct {
		name    string
		rule    Rule
		subject Subject
		allowed int
	}{
		{"user override", Rule{Key: KeyUser, Limits: Limits{Messages: 2}, Overrides: map[string]Limits{"alice": {Messages: 4}}}, alice, 4},
		{"other user keeps the default", Rule{Key: KeyUser, Limits: Limits{Messages: 2}, Overrides: map[string]Limits{"bob": {Messages: 4}}}, alice, 2},
		{"sender domain", Rule{Key: KeySender, Limits: Limits{Messages: 2}, Overrides: map[string]Limits{"example.com": {Messages: 3}}}, alice, 3},
		{"sender address beats domain", Rule{Key: KeySender, Limits: Limits{Messages: 2}, Overrides: map[string]Limits{"example.com": {Messages: 3}, "alice@example.com": {Messages: 1}}}, alice, 1},
		{"ip prefix, longest wins", Rule{Key: KeyIP, Limits: Limits{Messages: 2}, Overrides: map[string]Limits{"192.0.2.0/24": {Messages: 3}, "192.0.2.0/28": {Messages: 5}}}, alice, 5},
		{"override without limit lifts it", Rule{Key: KeyUser, Limits: Limits{Messages: 2}, Overrides: map[string]Limits{"alice": {}}}, alice, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rule.Window = time.Hour
			l, _, _ := newTest(t, Options{Rules: []Rule{tt.rule}})
			n := 0
			for ; n < 10; n++ {
				if send(l, tt.subject, 1) != nil {
					break
				}
			}
			if n != tt.allowed {
				t.Errorf("%d messages passed, want %d", n, tt.allowed)
			}
		})
	}
}

func TestIPv6CountedBySlash64(t *testing.T) {
	l, _, _ := newTest(t, Options{Rules: []Rule{{Key: KeyIP, Window: time.Hour, Limits: Limits{Messages: 2}}}})
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"} {
		if r := send(l, Subject{IP: netip.MustParseAddr(ip)}, 1); r != nil {
			t.Fatalf("message %d: %s", i, r.Text)
		}
	}
	if r := send(l, Subject{IP: netip.MustParseAddr("2001:db8:1:2::abcd")}, 1); r == nil || r.Key != "ip:2001:db8:1:2::/64" {
		t.Errorf("third address of the same /64: %+v", r)
	}
	if r := send(l, Subject{IP: netip.MustParseAddr("2001:db8:1:3::1")}, 1); r != nil {
		t.Errorf("another /64 refused: %s", r.Text)
	}
	if got := IPKey(netip.MustParseAddr("::ffff:192.0.2.1")); got != "192.0.2.1" {
		t.Errorf("mapped IPv4 keyed %q", got)
	}
}

func TestOriginalIPCheckedAtData(t *testing.T) {
	l, _, _ := newTest(t, Options{Rules: []Rule{{Key: KeyOriginalIP, Window: time.Hour, Limits: Limits{Messages: 1, Recipients: 3}}}})
	relay := Subject{IP: netip.MustParseAddr("10.0.0.1"), OriginalIP: netip.MustParseAddr("203.0.113.5")}
	if r := l.CheckMail(ctx, relay); r != nil {
		t.Fatalf("MAIL from the relay refused: %s", r.Text)
	}
	if r := l.CheckData(ctx, relay, 4); r == nil || !strings.Contains(r.Text, "recipients") {
		t.Fatalf("4 recipients past a limit of 3: %+v", r)
	}
	if r := l.CheckData(ctx, relay, 2); r != nil {
		t.Fatal(r.Text)
	}
	l.Count(ctx, relay, 2)
	if r := l.CheckData(ctx, relay, 1); r == nil || r.Key != "original_ip:203.0.113.5" {
		t.Errorf("second message: %+v", r)
	}
	// The relay's own address is not limited by an original_ip rule.
	if r := l.CheckMail(ctx, relay); r != nil {
		t.Errorf("MAIL: %s", r.Text)
	}
}

func holdOpts() Options {
	return Options{Hold: HoldPolicy{SpamMessages: 3, Window: 10 * time.Minute, Duration: time.Hour}}
}

func TestHoldAfterSpamAndRelease(t *testing.T) {
	l, c, log := newTest(t, holdOpts())
	l.Verdict(ctx, "alice", "REF1", true)
	l.Verdict(ctx, "alice", "HAM1", false)
	l.Verdict(ctx, "alice", "REF2", true)
	if r := l.CheckMail(ctx, alice); r != nil {
		t.Fatalf("held after 2 spam: %s", r.Text)
	}
	l.Verdict(ctx, "alice", "REF3", true)
	r := l.CheckMail(ctx, alice)
	want := "account alice is held: 3 messages scored as spam in 10 minutes; ask the postmaster"
	if r == nil || r.Kind != Held || r.Text != want {
		t.Fatalf("after 3 spam: %+v, want %q", r, want)
	}
	if out := log.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "user=alice") ||
		!strings.Contains(out, "REF1") || !strings.Contains(out, "REF3") || strings.Contains(out, "HAM1") {
		t.Errorf("hold log line lacks the account or the evidence:\n%s", out)
	}
	if r := l.CheckMail(ctx, Subject{User: "bob"}); r != nil {
		t.Errorf("another account held: %s", r.Text)
	}
	had, err := l.Release(ctx, "alice")
	if err != nil || !had {
		t.Fatalf("release: %v %v", had, err)
	}
	if r := l.CheckMail(ctx, alice); r != nil {
		t.Fatalf("still held after release: %s", r.Text)
	}
	// The count restarted: one more spam message does not hold again.
	l.Verdict(ctx, "alice", "REF4", true)
	if r := l.CheckMail(ctx, alice); r != nil {
		t.Errorf("held again by one message after release: %s", r.Text)
	}
	if had, _ := l.Release(ctx, "alice"); had {
		t.Error("release of an account not held said it was")
	}
	// Without release, the hold ends by itself.
	for _, ref := range []string{"A", "B", "C"} {
		l.Verdict(ctx, "alice", ref, true)
	}
	if l.CheckMail(ctx, alice) == nil {
		t.Fatal("not held again")
	}
	c.add(time.Hour)
	if r := l.CheckMail(ctx, alice); r != nil {
		t.Errorf("held past its duration: %s", r.Text)
	}
}

func TestHoldNeedsSpamWithinTheWindow(t *testing.T) {
	l, c, _ := newTest(t, holdOpts())
	for i := 0; i < 5; i++ {
		l.Verdict(ctx, "alice", fmt.Sprint("R", i), true)
		c.add(20 * time.Minute) // two windows apart: never 3 in 10 minutes
	}
	if r := l.CheckMail(ctx, alice); r != nil {
		t.Errorf("held for spread-out spam: %s", r.Text)
	}
	l.Verdict(ctx, "", "ANON", true) // unauthenticated mail holds nobody
}

func TestAuthFailuresBlockTheAddress(t *testing.T) {
	l, c, log := newTest(t, Options{Auth: AuthPolicy{Failures: 10, Window: 10 * time.Minute, Block: time.Hour}})
	guesser := netip.MustParseAddr("2001:db8::66")
	for i := 1; i < 10; i++ {
		if l.AuthFailed(ctx, guesser) {
			t.Fatalf("blocked after %d failures", i)
		}
	}
	if l.AuthBlocked(ctx, guesser) {
		t.Fatal("blocked before 10 failures")
	}
	if !l.AuthFailed(ctx, guesser) || !l.AuthBlocked(ctx, guesser) {
		t.Fatal("not blocked after 10 failures")
	}
	if !l.AuthBlocked(ctx, netip.MustParseAddr("2001:db8::1234")) {
		t.Error("another address of the /64 not blocked")
	}
	if l.AuthBlocked(ctx, netip.MustParseAddr("192.0.2.1")) {
		t.Error("an innocent address blocked")
	}
	if n := strings.Count(log.String(), "AUTH blocked"); n != 1 {
		t.Errorf("%d block log lines, want 1", n)
	}
	c.add(time.Hour)
	if l.AuthBlocked(ctx, guesser) {
		t.Error("still blocked after the block period")
	}
}

// failing is a store that cannot be reached until up is set.
type failing struct {
	*store.Memory
	mu sync.Mutex
	up bool
}

func (f *failing) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.up {
		return nil
	}
	return fmt.Errorf("dial tcp 127.0.0.1:6379: %w", store.ErrUnavailable)
}
func (f *failing) Add(ctx context.Context, k string, n int64, ttl time.Duration) (int64, error) {
	if err := f.err(); err != nil {
		return 0, err
	}
	return f.Memory.Add(ctx, k, n, ttl)
}
func (f *failing) Counts(ctx context.Context, k []string) ([]int64, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Memory.Counts(ctx, k)
}
func (f *failing) Mark(ctx context.Context, k string) (string, bool, error) {
	if err := f.err(); err != nil {
		return "", false, err
	}
	return f.Memory.Mark(ctx, k)
}

func TestStoreOutagePolicy(t *testing.T) {
	for _, failClosed := range []bool{false, true} {
		t.Run(fmt.Sprint("fail_closed=", failClosed), func(t *testing.T) {
			var log bytes.Buffer
			st := &failing{Memory: store.NewMemory(nil)}
			l := New(st, Options{FailClosed: failClosed, Log: slog.New(slog.NewTextHandler(&log, nil)),
				Rules: []Rule{{Key: KeyUser, Window: time.Hour, Limits: Limits{Messages: 1}}},
				Hold:  HoldPolicy{SpamMessages: 1, Window: time.Minute, Duration: time.Hour},
				Auth:  AuthPolicy{Failures: 1, Window: time.Minute, Block: time.Hour}})
			for i := 0; i < 3; i++ {
				r := send(l, alice, 2)
				if failClosed && (r == nil || r.Kind != Unavailable) {
					t.Fatalf("message %d with the store down: %+v, want unavailable", i, r)
				}
				if !failClosed && r != nil {
					t.Fatalf("message %d with the store down refused: %s", i, r.Text)
				}
			}
			l.Verdict(ctx, "alice", "R", true)
			if l.AuthFailed(ctx, alice.IP) || l.AuthBlocked(ctx, alice.IP) {
				t.Error("AUTH blocked while the store is down")
			}
			if n := strings.Count(log.String(), "until it answers"); n != 1 {
				t.Errorf("%d outage lines, want 1 per outage:\n%s", n, log.String())
			}
			st.mu.Lock()
			st.up = true
			st.mu.Unlock()
			if r := send(l, alice, 1); r != nil {
				t.Fatalf("first message after recovery: %s", r.Text)
			}
			if r := send(l, alice, 1); r == nil || r.Kind != Over {
				t.Errorf("limits do not apply after recovery: %+v", r)
			}
			if !strings.Contains(log.String(), "answering again") {
				t.Error("recovery not logged")
			}
		})
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Hour: "hour", 10 * time.Minute: "10 minutes",
		24 * time.Hour: "day", 48 * time.Hour: "2 days", 90 * time.Second: "90 seconds", time.Minute: "minute"} {
		if got := Human(d); got != want {
			t.Errorf("Human(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestParseKey(t *testing.T) {
	for _, bad := range []string{"alice", "user:", "host:x", "ip:not-an-ip"} {
		if _, _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if k, s, err := ParseKey("original_ip:2001:db8::1"); err != nil || k != KeyOriginalIP || !s.OriginalIP.IsValid() {
		t.Errorf("original_ip: %v %+v %v", k, s, err)
	}
}
