package limit

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"relayguard/internal/store"
)

// FuzzParseKey: any text either parses to a key the limiter counts, or is
// refused; never a panic, and a parsed key names its kind.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"user:alice", "sender:a@b.example", "ip:192.0.2.1", "original_ip:2001:db8::1", "ip:", ":", "user"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, sub, err := ParseKey(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(s, string(k)+":") || sub.value(k) == "" {
			t.Errorf("ParseKey(%q) = %q %+v", s, k, sub)
		}
	})
}

// BenchmarkMessage is the limiter's cost per message on the memory
// store: the MAIL check, 3 RCPT checks and the count, with three rules.
func BenchmarkMessage(b *testing.B) {
	l := New(store.NewMemory(nil), Options{Rules: []Rule{
		{Key: KeyUser, Window: time.Hour, Limits: Limits{Messages: 1 << 40, Recipients: 1 << 40}},
		{Key: KeyUser, Window: 24 * time.Hour, Limits: Limits{Messages: 1 << 40}},
		{Key: KeyIP, Window: time.Minute, Limits: Limits{Messages: 1 << 40}},
	}, Hold: HoldPolicy{SpamMessages: 5, Window: 10 * time.Minute, Duration: time.Hour}})
	s := Subject{User: "alice", Sender: "alice@example.com", IP: netip.MustParseAddr("2001:db8::1")}
	b.ReportAllocs()
	for b.Loop() {
		if r := send(l, s, 3); r != nil {
			b.Fatal(r.Text)
		}
	}
}
