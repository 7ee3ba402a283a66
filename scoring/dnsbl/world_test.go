package dnsbl

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"relayguard/scoring/dns"
	"relayguard/scoring/dns/dnstest"
)

// world is a set of lists served on loopback, modelled on the real ones.
func world(t testing.TB) *dnstest.Server {
	t.Helper()
	srv := dnstest.NewServer(t)
	srv.Add(t,
		// bl.test behaves like Spamhaus ZEN.
		"2.0.0.127.bl.test. 300 IN A 127.0.0.2",
		"2.0.0.127.bl.test. 300 IN TXT \"test entry\"",
		"7.113.0.203.bl.test. 300 IN A 127.0.0.2",
		"7.113.0.203.bl.test. 300 IN TXT \"https://www.spamhaus.org/query/ip/203.0.113.7\"",
		"8.113.0.203.bl.test. 300 IN A 127.0.0.10", // PBL only
		"9.113.0.203.bl.test. 300 IN A 127.0.0.4",  // XBL and PBL
		"9.113.0.203.bl.test. 300 IN A 127.0.0.10",
		"7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.a.b.0.8.b.d.0.1.0.0.2.bl.test. 300 IN A 127.0.0.3",
		// wl.test behaves like list.dnswl.org.
		"2.0.0.127.wl.test. 300 IN A 127.0.10.0",
		"20.113.0.203.wl.test. 300 IN A 127.0.10.2",
		// dead.test lists everything (an expired list's domain re-registered).
		"*.dead.test. 300 IN A 127.0.0.2",
		// public.test answers like Spamhaus does to a public resolver.
		"*.public.test. 300 IN A 127.255.255.254",
		// hijack.test: a resolver that rewrites NXDOMAIN to an ad server.
		"*.hijack.test. 300 IN A 192.0.2.80",
		// dbl.test behaves like Spamhaus DBL.
		"test.dbl.test. 300 IN A 127.0.1.2",
		"example.biz.dbl.test. 300 IN A 127.0.1.2",
		"example.biz.dbl.test. 300 IN TXT \"https://www.spamhaus.org/query/domain/example.biz\"",
		"phish.example.dbl.test. 300 IN A 127.0.1.4",
		"sender.example.dbl.test. 300 IN A 127.0.1.2",
		// multi.test behaves like multi.surbl.org (bitmask).
		"test.multi.test. 300 IN A 127.0.0.2",
		"example.biz.multi.test. 300 IN A 127.0.0.24",   // PH (8) and MW (16)
		"cheap.example.multi.test. 300 IN A 127.0.0.64", // ABUSE
	)
	return srv
}

func resolver(t testing.TB, srv *dnstest.Server) *dns.Client {
	t.Helper()
	c, err := dns.New(dns.Options{Servers: []string{srv.Addr}, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// zen and friends as a deployment would configure them.
func zenList() List {
	return List{Zone: "bl.test", Name: "ZEN", Weight: 6,
		Codes:  map[string]float64{"127.0.0.10": 3, "127.0.0.11": 3, "127.0.0.4": 5},
		Policy: []string{"127.0.0.10", "127.0.0.11"}}
}

func dnswlList() List { return List{Zone: "wl.test", Name: "DNSWL", Weight: -2} }

func dblList() List {
	return List{Zone: "dbl.test", Name: "DBL", Weight: 6, Codes: map[string]float64{"127.0.1.4": 8}}
}

func surblList() List {
	return List{Zone: "multi.test", Name: "SURBL", Weight: 3, Bitmask: true,
		Codes: map[string]float64{"127.0.0.8": 5, "127.0.0.16": 6, "127.0.0.64": 4}}
}

// logBuffer captures slog output for tests that check log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

var bg = context.Background()
