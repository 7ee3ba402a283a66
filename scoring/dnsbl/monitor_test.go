package dnsbl

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"relayguard/scoring/dns"
	"relayguard/scoring/dns/dnstest"
)

func uncached(t *testing.T, srv *dnstest.Server) *dns.Client {
	t.Helper()
	c, err := dns.New(dns.Options{Servers: []string{srv.Addr}, Timeout: 200 * time.Millisecond, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMonitorDisablesListsThatFailSelfTest(t *testing.T) {
	srv := world(t)
	srv.Behave("2.0.0.127.unreachable.test", dnstest.Behaviour{Drop: true})
	srv.Behave("1.0.0.127.unreachable.test", dnstest.Behaviour{Drop: true})
	var logs logBuffer
	cfg := Config{Resolver: uncached(t, srv), Log: logs.logger(),
		DNSBL: []List{zenList(), {Zone: "dead.test", Weight: 6}, {Zone: "public.test", Weight: 6},
			{Zone: "empty.test", Weight: 6}, {Zone: "unreachable.test", Weight: 6}, {Zone: "hijack.test", Weight: 6}},
		DNSWL: []List{dnswlList()},
		URIBL: []List{dblList(), surblList(), {Zone: "deaduri.dead.test", Weight: 5}},
	}
	m, err := NewMonitor(cfg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	m.CheckNow(context.Background())

	tests := []struct {
		zone    string
		enabled bool
		reason  string
	}{
		{"bl.test", true, ""},
		{"wl.test", true, ""},
		{"dbl.test", true, ""},
		{"multi.test", true, ""},
		{"dead.test", false, "it lists 127.0.0.1"},
		{"deaduri.dead.test", false, "it lists invalid"},
		{"public.test", false, "public or open resolvers"},
		{"hijack.test", false, "outside 127.0.0.0/8"},
		{"empty.test", false, "does not list its test entry 127.0.0.2"},
		{"unreachable.test", true, ""}, // no news: keeps its state
	}
	status := make(map[string]ListStatus)
	for _, s := range m.Status() {
		status[s.Zone] = s
	}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			s, ok := status[tt.zone]
			if !ok {
				t.Fatalf("no status for %s", tt.zone)
			}
			if s.Enabled != tt.enabled || !strings.Contains(s.Reason, tt.reason) {
				t.Errorf("enabled=%v reason %q; want %v %q", s.Enabled, s.Reason, tt.enabled, tt.reason)
			}
			if !tt.enabled && !strings.Contains(logs.String(), `level=ERROR msg="dnsbl list DISABLED`) {
				t.Error("no Error log line")
			}
		})
	}
	if !strings.Contains(logs.String(), "could not be tested") || !strings.Contains(logs.String(), "zone=unreachable.test") {
		t.Errorf("unreachable list not logged: %s", logs.String())
	}
}

func TestMonitorReenablesAndChecksSkipDisabled(t *testing.T) {
	srv := world(t)
	var logs logBuffer
	cfg := Config{Resolver: uncached(t, srv), Log: logs.logger(), DNSBL: []List{zenList(), {Zone: "dead.test", Name: "DEAD", Weight: 6}}}
	m, err := NewMonitor(cfg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Monitor = m
	k, err := NewIPCheck(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clean := netip.MustParseAddr("203.0.113.99")
	if res := k.Judge(bg, clean, ""); len(res.Symbols) != 1 || res.Symbols[0].Name != "DNSBL_DEAD" {
		t.Fatalf("before the self-test the dead list should still count: %+v", res.Symbols)
	}

	m.CheckNow(bg)
	if res := k.Judge(bg, clean, ""); len(res.Symbols) != 0 {
		t.Errorf("disabled list still asked: %+v", res.Symbols)
	}
	m.CheckNow(bg) // still dead: logged again
	if n := strings.Count(logs.String(), "DISABLED"); n != 2 {
		t.Errorf("%d Error lines for two rounds off, want 2", n)
	}

	// The list comes back to life.
	srv.Remove("*.dead.test")
	srv.Add(t, "2.0.0.127.dead.test. 300 IN A 127.0.0.2")
	m.CheckNow(bg)
	if !strings.Contains(logs.String(), "enabled again") {
		t.Error("re-enabling not logged")
	}
	if res := k.Judge(bg, netip.MustParseAddr("127.0.0.2"), ""); len(res.Symbols) != 0 {
		t.Errorf("loopback judged: %+v", res.Symbols)
	}
	for _, s := range m.Status() {
		if !s.Enabled {
			t.Errorf("%s still off: %s", s.Zone, s.Reason)
		}
	}
}

func TestMonitorNeverLogsDQSKey(t *testing.T) {
	srv := world(t)
	const key = "abcdefghijklmnopqrstuvwxyz"
	srv.Add(t, "*."+key+".zen.dq.spamhaus.net. 300 IN A 127.0.0.2") // lists everything
	var logs logBuffer
	m, err := NewMonitor(Config{Resolver: uncached(t, srv), Log: logs.logger(),
		DNSBL: []List{{Zone: key + ".zen.dq.spamhaus.net", Weight: 6}}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	m.CheckNow(bg)
	if !strings.Contains(logs.String(), "zen.dq.spamhaus.net") {
		t.Fatalf("nothing logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), key) {
		t.Errorf("DQS key in log: %s", logs.String())
	}
}

func TestMonitorRunTestsAtStartAndStops(t *testing.T) {
	srv := world(t)
	m, err := NewMonitor(Config{Resolver: uncached(t, srv), DNSBL: []List{{Zone: "dead.test", Weight: 1}}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	deadline := time.Now().Add(2 * time.Second)
	for m.Status()[0].Enabled && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if m.Status()[0].Enabled {
		t.Error("Run did not test at start")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Error("Run did not stop with its context")
	}
}
