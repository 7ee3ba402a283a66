package main

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"relayguard/config"
)

// fakeMTA answers every connection with greeting (nothing when empty),
// then closes.
func fakeMTA(t *testing.T, greeting string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(greeting))
			c.Close()
		}
	}()
	return l.Addr().String()
}

func TestUpstreamProbe(t *testing.T) {
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}()
	tests := []struct {
		name    string
		addr    string
		wantErr string // "" = ready
	}{
		{"greets 220", fakeMTA(t, "220 mx.test ESMTP\r\n"), ""},
		{"greets 220 over lines", fakeMTA(t, "220-mx.test ESMTP\r\n220 welcome\r\n"), ""},
		{"refuses with 554", fakeMTA(t, "554 5.3.2 no service\r\n"), `greets with "554 5.3.2 no service", not 220`},
		{"hangs up", fakeMTA(t, ""), "sent no greeting"},
		{"not listening", closed, "does not accept connections"},
	}
	for _, tt := range tests {
		err := probeSMTP(context.Background(), tt.addr)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v, want ready", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestReadinessCachesTheProbe(t *testing.T) {
	r := &readiness{}
	probes := 0
	r.probe = func(context.Context) error { probes++; return nil }
	if err := r.check(context.Background()); err == nil {
		t.Error("ready before the configuration is loaded")
	}
	r.loaded.Store(true)
	for range 5 {
		if err := r.check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if probes != 1 {
		t.Errorf("%d probes for 5 asks within %v, want 1", probes, probeEvery)
	}
}

// TestEgressWatchOutlivesReload: a reload with the same lists, egress IPs
// and interval keeps the running watch (no second round of queries, no
// repeated ERROR lines); a change of any of them replaces it.
func TestEgressWatchOutlivesReload(t *testing.T) {
	load := func(extra string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte(`
[store]
dir = "`+t.TempDir()+`"
[dns]
servers = ["127.0.0.1:1"]
[access]
egress_ips = ["192.0.2.25"]
[[dnsbl]]
zone = "bl.test"
weight = 6.0
`+extra), "test.toml")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := load("")
	svc, err := newServices(c, slog.New(slog.DiscardHandler), true)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.close()
	build := func(c *config.Config) *engineParts {
		t.Helper()
		_, p, err := engineOn(c, svc)
		if err != nil {
			t.Fatal(err)
		}
		svc.adopt(p)
		return p
	}
	first := build(c)
	if first.egress == nil {
		t.Fatal("no egress watch with egress_ips and a list")
	}
	tests := []struct {
		name  string
		extra string
		kept  bool
	}{
		{"same settings", "", true},
		{"scores changed only", "[scoring]\nreject = 20.0\n", true},
		{"interval changed", "[blocklists]\negress_check_interval = \"30m\"\n", false},
	}
	running := first.egress
	for _, tt := range tests {
		p := build(load(tt.extra))
		if (p.egress == running) != tt.kept {
			t.Errorf("%s: watch kept = %v, want %v", tt.name, p.egress == running, tt.kept)
		}
		running = svc.egress
	}
}
