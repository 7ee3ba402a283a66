package dnsbl

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"relayguard/internal/metrics"
	"relayguard/scoring/dns/dnstest"
)

func TestRemovalPageLongestSuffixOnLabelBoundary(t *testing.T) {
	pages := map[string]string{
		"spamhaus.org":           "https://check.spamhaus.org/",
		"spamcop.net":            "https://www.spamcop.net/bl.shtml",
		"dnsbl-1.uceprotect.net": "https://level1.example/",
		"uceprotect.net":         "https://www.uceprotect.net/en/rblcheck.php",
	}
	tests := []struct{ zone, want string }{
		{"zen.spamhaus.org", "https://check.spamhaus.org/"},
		{"ZEN.Spamhaus.org.", "https://check.spamhaus.org/"},
		{"bl.spamcop.net", "https://www.spamcop.net/bl.shtml"},
		{"dnsbl-1.uceprotect.net", "https://level1.example/"},
		{"dnsbl-2.uceprotect.net", "https://www.uceprotect.net/en/rblcheck.php"},
		{"notspamhaus.org", ""}, // a suffix, but not on a label boundary
		{"bl.test", ""},
	}
	for _, tt := range tests {
		if got := RemovalPage(pages, tt.zone); got != tt.want {
			t.Errorf("RemovalPage(%q) = %q, want %q", tt.zone, got, tt.want)
		}
	}
}

// egressWorld is a DNS server with bl.test listing nothing yet, and a
// watch of 192.0.2.25 on it.
func egressWorld(t *testing.T) (*dnstest.Server, *EgressWatch, *logBuffer) {
	t.Helper()
	srv := dnstest.NewServer(t)
	var logs logBuffer
	cfg := Config{Resolver: uncached(t, srv), Log: logs.logger(), DNSBL: []List{{Zone: "egress.test", Weight: 5}}}
	w, err := NewEgressWatch(cfg, []netip.Addr{netip.MustParseAddr("192.0.2.25"), netip.MustParseAddr("192.0.2.26")},
		60e9, map[string]string{"egress.test": "https://egress.test/remove"})
	if err != nil || w == nil {
		t.Fatalf("NewEgressWatch: %v, %v", w, err)
	}
	return srv, w, &logs
}

func TestEgressWatchLogsOncePerChange(t *testing.T) {
	srv, w, logs := egressWorld(t)
	gauge := func() float64 { return metrics.Value("relayguard_egress_listed", "zone", "egress.test") }
	const listedName = "25.2.0.192.egress.test."
	srv.Add(t, listedName+" 60 IN A 127.0.0.2", listedName+` 60 IN TXT "Listed, see https://egress.test/q/192.0.2.25"`)

	w.CheckNow(context.Background())
	if g := gauge(); g != 1 {
		t.Errorf("gauge after listing = %v, want 1", g)
	}
	out := logs.String()
	for _, want := range []string{"level=ERROR", "our egress IP is listed", "ip=192.0.2.25", "list=egress.test",
		"code=127.0.0.2", `txt="Listed, see https://egress.test/q/192.0.2.25"`, "removal=https://egress.test/remove"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "192.0.2.26") {
		t.Errorf("the unlisted IP is logged:\n%s", out)
	}

	w.CheckNow(context.Background()) // still listed: nothing new to say
	if n := strings.Count(logs.String(), "our egress IP is listed"); n != 1 {
		t.Errorf("ERROR lines after two rounds = %d, want 1", n)
	}

	srv.Remove(listedName)
	w.CheckNow(context.Background())
	if g := gauge(); g != 0 {
		t.Errorf("gauge after delisting = %v, want 0", g)
	}
	out = logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, `msg="our egress IP is no longer listed" ip=192.0.2.25 list=egress.test`) {
		t.Errorf("no WARN line for the delisting:\n%s", out)
	}
	w.CheckNow(context.Background())
	if n := strings.Count(logs.String(), "no longer listed"); n != 1 {
		t.Errorf("WARN lines after two clean rounds = %d, want 1", n)
	}
}

func TestEgressWatchKeepsListingWhenListCannotAnswer(t *testing.T) {
	srv, w, logs := egressWorld(t)
	const listedName = "25.2.0.192.egress.test."
	srv.Add(t, listedName+" 60 IN A 127.0.0.2")
	w.CheckNow(context.Background())
	srv.Blackhole(true)
	w.CheckNow(context.Background())
	if g := metrics.Value("relayguard_egress_listed", "zone", "egress.test"); g != 1 {
		t.Errorf("gauge while the list is silent = %v, want 1 (no news is not a delisting)", g)
	}
	if strings.Contains(logs.String(), "no longer listed") {
		t.Errorf("a silent list was taken for a delisting:\n%s", logs.String())
	}
}

func TestNoEgressWatchWithoutIPsOrLists(t *testing.T) {
	srv := dnstest.NewServer(t)
	ips := []netip.Addr{netip.MustParseAddr("192.0.2.25")}
	lists := []List{{Zone: "egress.test", Weight: 5}}
	for _, tt := range []struct {
		name  string
		ips   []netip.Addr
		lists []List
	}{{"no IPs", nil, lists}, {"no lists", ips, nil}} {
		w, err := NewEgressWatch(Config{Resolver: uncached(t, srv), DNSBL: tt.lists}, tt.ips, 60e9, nil)
		if w != nil || err != nil {
			t.Errorf("%s: got %v, %v; want no watch", tt.name, w, err)
		}
	}
}

func TestWriteEgressTextShowsRemovalPage(t *testing.T) {
	var b bytes.Buffer
	ip := netip.MustParseAddr("192.0.2.25")
	WriteEgressText(&b, []EgressResult{
		{IP: ip, Zone: "zen.spamhaus.org", Listed: true, Codes: []string{"127.0.0.3"}, TXT: "see it", RemovalPage: "https://check.spamhaus.org/"},
		{IP: ip, Zone: "bl.spamcop.net"},
	})
	want := "egress IP 192.0.2.25\n" +
		"  dnsbl zen.spamhaus.org             LISTED   127.0.0.3  \"see it\"  removal: https://check.spamhaus.org/\n" +
		"  dnsbl bl.spamcop.net               not listed\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// A list that has died and answers "listed" for everything (RFC 5782 §5:
// it lists 127.0.0.1) must not report our IP: the watch skips the lists
// the Monitor switched off. Without the Monitor the same list does report
// it, which is what this guards against.
func TestEgressWatchSkipsListsThatFailTheirSelfTest(t *testing.T) {
	for _, withMonitor := range []bool{true, false} {
		srv := world(t)
		var logs logBuffer
		cfg := Config{Resolver: uncached(t, srv), Log: logs.logger(), DNSBL: []List{{Zone: "dead.test", Weight: 6}}}
		if withMonitor {
			m, err := NewMonitor(cfg, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			m.CheckNow(context.Background())
			cfg.Monitor = m
		}
		w, err := NewEgressWatch(cfg, []netip.Addr{netip.MustParseAddr("192.0.2.25")}, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.CheckNow(context.Background())
		reported := strings.Contains(logs.String(), "our egress IP is listed")
		if reported == withMonitor {
			t.Errorf("monitor %v: ERROR line %v, want %v:\n%s", withMonitor, reported, !withMonitor, logs.String())
		}
	}
}
