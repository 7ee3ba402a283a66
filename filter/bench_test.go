package filter

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"relayguard/scoring"
)

// BenchmarkRelayMessage measures one 5 KB message through the front door
// (SMTP parsing, spool, verdict with GTUBE, headers, relay) to an
// in-process upstream over one reused connection: the proxy's own cost per
// message, without the network checks.
func BenchmarkRelayMessage(b *testing.B) {
	up := &fakeUpstream{discard: true}
	ts := startServer(b, defaultTestOptions(), scoring.DefaultPolicy(), up)
	c, err := smtp.Dial(ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := "Subject: bench\r\nFrom: a@example.org\r\n\r\n" + strings.Repeat("The quick brown fox jumps over the lazy dog.\r\n", 110)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.SendMail("a@example.org", []string{"user@local.example"}, strings.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.count != b.N {
		b.Fatalf("%d messages relayed, want %d", up.count, b.N)
	}
}
