package lists

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"relayguard/rules/message"
	"relayguard/scoring"
)

// BenchmarkListChecks is what the four list checks cost one message
// through the engine, with 1,000 entries in each list and no match (the
// common case), against the same engine without them.
func BenchmarkListChecks(b *testing.B) {
	var o Options
	for i := range 1000 {
		o.AllowIPs = append(o.AllowIPs, fmt.Sprintf("10.%d.%d.0/24", i/250, i%250))
		o.BlockIPs = append(o.BlockIPs, fmt.Sprintf("2001:db8:%x::/48", i))
		o.AllowSenders = append(o.AllowSenders, fmt.Sprintf("partner%d.example", i))
		o.BlockSenders = append(o.BlockSenders, fmt.Sprintf(".spam%d.example", i))
		o.AllowRecipients = append(o.AllowRecipients, fmt.Sprintf("abuse%d@example.net", i))
		o.BlockRecipients = append(o.BlockRecipients, fmt.Sprintf("old%d.example.net", i))
	}
	l, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	raw := "From: Sam <sam@mail.sender.example>\r\nSubject: hi\r\n\r\nhello\r\n"
	msg := message.ParseMessage(strings.NewReader(raw), int64(len(raw)))
	for _, bc := range []struct {
		name   string
		checks []scoring.Check
	}{{"without", nil}, {"with", l.Checks()}} {
		b.Run(bc.name, func(b *testing.B) {
			e, err := scoring.NewEngine(scoring.Options{Policy: scoring.DefaultPolicy(), Timeout: 5 * time.Second,
				Checks: append(bc.checks, scoring.GTUBE{})})
			if err != nil {
				b.Fatal(err)
			}
			conn := scoring.Conn{ClientIP: netip.MustParseAddr("192.0.2.1")}
			for b.Loop() {
				if v := e.Score(conn, "sam@sender.example", []string{"bob@example.net"}, msg); v.Score != 0 {
					b.Fatalf("score %v: %v", v.Score, v.Symbols)
				}
			}
		})
	}
}
